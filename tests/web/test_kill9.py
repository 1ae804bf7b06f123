"""``kill -9`` of the server during a job, a restart, resume from the page: the output equals an
uninterrupted run (decoded frames and audio packets, bit for bit).

The server's job runs in a child process that notices its server is gone and stops as
*interrupted* (finished segments kept); the restarted server rebuilds its job list from the state
folder and offers resume; the resumed job continues from the kept segments.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.web.conftest import MOVING
from tests.web.live import CHROMIUM_CANDIDATES, Server, cli, media_digest

pytestmark = pytest.mark.slow

SETTINGS = {"preset": "film", "film.radius": "1", "jobs.segment_frames": "20"}


def _done_segments(workdir: Path) -> int:
    try:
        data = json.loads((workdir / "manifest.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for s in data.get("segments", []) if s.get("status") == "done")


def _resume_from_page(server: Server, job_id: str) -> bool:
    """Click the job's Resume button in the system Chromium; False when there is no browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    exe = next((c for c in CHROMIUM_CANDIDATES if Path(c).exists()), None)
    if exe is None:
        return False
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector(f".job[data-id='{job_id}'] button.resume")
        assert "interrupted" in page.inner_text(f".job[data-id='{job_id}'] .state")
        page.click(f".job[data-id='{job_id}'] button.resume")
        page.wait_for_selector(f".job[data-id='{job_id}'].done", timeout=900_000)
        assert page.inner_text(f".job[data-id='{job_id}'] .pct") == "100 %"
        browser.close()
    return True


def test_kill9_restart_resume_equals_uninterrupted(tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy2(MOVING, root / "moving.mp4")
    state = tmp_path / "state"
    server = Server([root], state).start()
    try:
        body = {"command": "restore", "input": "media/moving.mp4", "output": "media/out.mp4",
                "preset": SETTINGS["preset"], "changes": {k: v for k, v in SETTINGS.items() if k != "preset"}}
        job_id = server.post("/api/jobs", body)["id"]
        workdir = state / "jobs" / job_id / "work"
        end = time.monotonic() + 600
        while _done_segments(workdir) < 1:
            assert time.monotonic() < end, "no segment finished in 600 s"
            assert server.get(f"/api/jobs/{job_id}")["state"] in ("queued", "starting", "running")
            time.sleep(0.2)
        server.kill9()
    finally:
        server.stop()
    # the orphaned worker stops by itself (its server is gone), keeping what it finished
    status = state / "jobs" / job_id / "status.json"
    end = time.monotonic() + 120
    while json.loads(status.read_text()).get("state") == "running":
        assert time.monotonic() < end, "the worker kept running without its server"
        time.sleep(0.3)
    assert json.loads(status.read_text())["state"] == "interrupted"
    kept = _done_segments(workdir)
    assert kept >= 1 and not (root / "out.mp4").exists()
    server = Server([root], state).start()
    try:
        job = server.get(f"/api/jobs/{job_id}")
        assert job["state"] == "interrupted" and job["resumable"], job
        if not _resume_from_page(server, job_id):
            server.post(f"/api/jobs/{job_id}/resume", {})
        job = server.wait_job(job_id, ("done",))
    finally:
        server.stop()
    assert len(job["result"]["reused"]) == kept >= 1 and job["result"]["computed"], job["result"]
    assert "resuming" in (state / "jobs" / job_id / "log.txt").read_text()
    ref = tmp_path / "ref.mp4"
    cli("restore", str(root / "moving.mp4"), "-o", str(ref), "--preset", "film", "--set", "film.radius=1",
        "--set", "jobs.segment_frames=20", "--set", "jobs.mode=segmented", "-q")
    assert media_digest(root / "out.mp4") == media_digest(ref)
