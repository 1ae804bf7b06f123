"""The console entry point leaves without interpreter teardown, but loses nothing on the way out."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(body: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_fast_exit_runs_atexit_handlers_and_flushes_buffered_output(tmp_path):
    marker = tmp_path / "atexit.txt"
    res = _run(f"""
        import atexit, sys
        atexit.register(lambda: open({str(marker)!r}, "w").write("ran"))
        sys.stdout.write("buffered line without newline")  # stays in the buffer until flushed
        sys.argv = ["vidrestore", "presets"]
        from vidrestore.cli import entry_point
        entry_point()
        print("never reached")
    """)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("buffered line without newline")
    assert "upscale" in res.stdout and "film" in res.stdout  # the presets listing was flushed too
    assert "never reached" not in res.stdout
    assert marker.read_text() == "ran"


def test_fast_exit_keeps_the_exit_code_of_an_error(tmp_path):
    res = _run(f"""
        import sys
        sys.argv = ["vidrestore", "probe", {str(tmp_path / "missing.mp4")!r}]
        from vidrestore.cli import entry_point
        entry_point()
    """)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "missing.mp4" in res.stderr


def test_a_live_non_daemon_thread_is_waited_for(tmp_path):
    done = tmp_path / "thread.txt"
    res = _run(f"""
        import sys, threading, time
        def late():
            time.sleep(0.5)
            open({str(done)!r}, "w").write("finished")
        threading.Thread(target=late).start()
        sys.argv = ["vidrestore", "presets"]
        from vidrestore.cli import entry_point
        entry_point()
    """)
    assert res.returncode == 0, res.stderr
    assert done.read_text() == "finished"  # os._exit would have killed it half way
