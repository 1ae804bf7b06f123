"""Issue 17: outputs, sidecars and masks never destroy what is not vidrestore's.

Each test is one reproduction of the issue; each failed (or harmed a file) before the file-safety module.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.safety.conftest import leftovers, one_line_exit_2, run_cli, snapshot

# --------------------------------------------------------------------------- -o PATH --overwrite


def test_overwrite_refuses_a_folder_that_is_not_a_vidrestore_output(clip: Path, tmp_path: Path) -> None:
    videos = tmp_path / "Videos"
    videos.mkdir()
    (videos / "holiday.mov").write_bytes(b"the user's only copy")
    (videos / "notes").mkdir()
    (videos / "notes" / "a.txt").write_text("keep me")
    before = snapshot(tmp_path)
    r = run_cli("restore", str(clip), "-o", str(videos), "--overwrite", "-q")
    one_line_exit_2(r, str(videos), "did not write")
    assert snapshot(tmp_path) == before


def test_overwrite_replaces_an_earlier_vidrestore_output_folder(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    assert run_cli("restore", str(clip), "-o", str(out), "-q").returncode == 0
    assert len(list(out.glob("frame_*.png"))) == 8
    r = run_cli("restore", str(clip), "-o", str(out), "-q")
    one_line_exit_2(r, "already exists")
    r = run_cli("restore", str(clip), "-o", str(out), "--overwrite", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:06d}.png" for i in range(8)]
    assert leftovers(tmp_path) == []


def test_overwrite_refuses_a_character_device(clip: Path, tmp_path: Path) -> None:
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    r = run_cli("restore", str(clip), "-o", str(dev), "--overwrite", "-q")
    one_line_exit_2(r, "character device")
    assert stat.S_ISCHR(os.lstat(dev).st_mode)
    assert leftovers(tmp_path) == []


def test_overwrite_refuses_a_fifo_without_hanging(clip: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for name in (fifo, tmp_path / "x.mp4"):
        if name != fifo:
            os.mkfifo(name)
        r = run_cli("restore", str(clip), "-o", str(name), "--overwrite", "-q", timeout=120)
        one_line_exit_2(r, "FIFO")
        assert stat.S_ISFIFO(os.lstat(name).st_mode)


def test_symlink_at_the_output_name_is_never_written_through(clip: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "out.mp4").symlink_to(victim)
    before = snapshot(tmp_path)
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "--overwrite", "-q")
    one_line_exit_2(r, "symbolic link")
    assert snapshot(tmp_path) == before


def test_output_is_a_hard_link_of_the_input(clip: Path, tmp_path: Path) -> None:
    other = tmp_path / "alias.mp4"
    os.link(clip, other)
    before = clip.read_bytes()
    r = run_cli("restore", str(clip), "-o", str(other), "--overwrite", "-q")
    one_line_exit_2(r, "is the input")
    assert clip.read_bytes() == before


# --------------------------------------------------------------------------- OUTPUT.vidrestore.yaml


def test_sidecar_symlink_is_not_followed(clip: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "out.mp4.vidrestore.yaml").symlink_to(victim)
    for extra in ((), ("--overwrite",)):
        r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), *extra, "-q")
        one_line_exit_2(r, "out.mp4.vidrestore.yaml", "symbolic link")
        assert victim.read_text() == "precious"
        assert not (tmp_path / "out.mp4").exists()


def test_sidecar_symlink_to_the_input_is_not_followed(clip: Path, tmp_path: Path) -> None:
    before = clip.read_bytes()
    (tmp_path / "out.mp4.vidrestore.yaml").symlink_to(clip)
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "--overwrite", "-q")
    assert r.returncode == 2
    assert clip.read_bytes() == before


def test_existing_sidecar_is_replaced_only_with_overwrite(clip: Path, tmp_path: Path) -> None:
    side = tmp_path / "out.mp4.vidrestore.yaml"
    side.write_text("# the user's notes\n")
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "-q")
    one_line_exit_2(r, "out.mp4.vidrestore.yaml", "already exists")
    assert side.read_text() == "# the user's notes\n" and not (tmp_path / "out.mp4").exists()
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "--overwrite", "-q")
    assert r.returncode == 0, r.stderr
    assert side.read_text().startswith("# resolved vidrestore config")


def test_sidecar_on_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidrestore.config import dump_config, load_config
    from vidrestore.io import safety

    side = tmp_path / "out.mp4.vidrestore.yaml"
    side.write_text("old: true\n")
    real_open_new = safety.open_new

    def full_disk(path, *, mode=0o644):  # type: ignore[no-untyped-def]
        real_open_new(path, mode=mode)  # the temporary name is taken as usual...
        return os.open("/dev/full", os.O_WRONLY)  # ...but every write fails with ENOSPC

    monkeypatch.setattr(safety, "open_new", full_disk)
    with pytest.raises(safety.NoSpaceError, match="no space left on .* for out.mp4.vidrestore.yaml"):
        dump_config(load_config(preset="passthrough"), side, overwrite=True)
    assert side.read_text() == "old: true\n"  # not 0 bytes: the old file is intact
    assert leftovers(tmp_path) == []


def test_full_disk_is_one_line_naming_the_device(clip: Path, tmp_path: Path) -> None:
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (not root)")
    try:
        big = tmp_path / "big.mp4"
        from tests.safety.conftest import make_clip

        make_clip(big, size="320x240", frames=30, audio=False)
        for out in (mnt / "o.mp4", mnt / "frames"):
            r = run_cli("restore", str(big), "-o", str(out), "--set", "encode.crf=0", "-q")
            one_line_exit_2(r, "no space left on", f"for {out.name}")
            assert os.listdir(mnt) == []
        r = run_cli("restore", str(big), "-o", str(mnt / "s.mp4"), "--segment-frames", "10", "--set",
                    "encode.crf=0", "-q")
        assert r.returncode == 2 and "no space left on" in r.stderr.splitlines()[-1]
        assert "--resume" in r.stderr.splitlines()[-1]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# --------------------------------------------------------------------------- --save-masks


def test_save_masks_never_writes_into_the_input_sequence(clip: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    seq = tmp_path / "reel" / "dust"
    seq.mkdir(parents=True)
    for i in range(8):
        cv2.imwrite(str(seq / f"{i:06d}.png"), np.full((32, 48, 3), 40 + i, np.uint8))
    before = snapshot(tmp_path / "reel")
    r = run_cli("restore", str(seq), "-o", str(tmp_path / "out.mp4"), "--preset", "film",
                "--save-masks", str(tmp_path / "reel"), "--overwrite", "-q")
    one_line_exit_2(r, "input")
    assert snapshot(tmp_path / "reel") == before


def test_save_masks_refuses_a_foreign_folder_and_old_masks_without_overwrite(clip: Path, tmp_path: Path) -> None:
    review = tmp_path / "review"
    (review / "dust").mkdir(parents=True)
    (review / "dust" / "000000.png").write_bytes(b"someone else's picture")
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "a.mp4"), "--preset", "film",
                "--save-masks", str(review), "--overwrite", "-q")
    one_line_exit_2(r, "did not create")
    assert (review / "dust" / "000000.png").read_bytes() == b"someone else's picture"
    fresh = tmp_path / "fresh"
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "b.mp4"), "--preset", "film", "--save-masks", str(fresh),
                "-q")
    assert r.returncode == 0, r.stderr
    assert len(list((fresh / "dust").glob("*.png"))) == 8
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "c.mp4"), "--preset", "film", "--save-masks", str(fresh),
                "-q")
    one_line_exit_2(r, "already holds masks")
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "c.mp4"), "--preset", "film", "--save-masks", str(fresh),
                "--overwrite", "-q")
    assert r.returncode == 0, r.stderr
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- eval --json


def test_eval_json_replaces_a_file_only_with_overwrite(clip: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("the user's file")
    r = run_cli("eval", str(clip), str(clip), "--metrics", "psnr", "--json", str(report), "-q")
    one_line_exit_2(r, "report.json", "already exists")
    assert report.read_text() == "the user's file"
    r = run_cli("eval", str(clip), str(clip), "--metrics", "psnr", "--json", str(report), "--overwrite", "-q")
    assert r.returncode == 0, r.stderr
    assert report.read_text().startswith("{")


# --------------------------------------------------------------------------- names, locks, stale files


def test_a_240_character_output_name_works(clip: Path, tmp_path: Path) -> None:
    name = "x" * 236 + ".mp4"
    assert len(name) == 240
    r = run_cli("restore", str(clip), "-o", str(tmp_path / name), "-q")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / name).is_file() and leftovers(tmp_path) == []


def test_temporary_names_fit_255_bytes() -> None:
    from vidrestore.io import safety

    for n in (1, 100, 200, 240, 250, 255):
        final = Path("/x") / ("é" * (n // 2) + "a" * (n % 2) if n > 1 else "a")
        if len(final.name.encode()) > 255:
            continue
        for tag in (safety.TMP_TAG, safety.OLD_TAG):
            t = safety.temp_path(final, suffix=".mkv", tag=tag, pid=4_194_304)
            assert len(t.name.encode()) <= 255, (n, t.name)
            assert t.name.startswith(".") and tag in t.name
        assert len(safety.lock_path(final).name.encode()) <= 255
    long_a, long_b = Path("a" * 250 + "1.mp4"), Path("a" * 250 + "2.mp4")
    assert safety.temp_path(long_a) != safety.temp_path(long_b)  # cut names stay distinct


def test_second_run_on_a_locked_output_is_refused(clip: Path, tmp_path: Path) -> None:
    from vidrestore.io import safety

    out = tmp_path / "out.mp4"
    with safety.OutputLock(out):
        r = run_cli("restore", str(clip), "-o", str(out), "-q")
        one_line_exit_2(r, "another vidrestore run", f"pid {os.getpid()}")
        assert not out.exists()
    assert not safety.lock_path(out).exists()
    r = run_cli("restore", str(clip), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr


def test_stale_temporary_file_of_a_dead_run_is_removed_and_said(clip: Path, tmp_path: Path, dead_pid: int) -> None:
    from vidrestore.io import safety

    out = tmp_path / "out.mp4"
    stale = safety.temp_path(out, suffix=".mp4", pid=dead_pid)
    stale.write_bytes(b"\0" * 1000)
    alive = safety.temp_path(out, suffix=".mp4", pid=os.getppid())  # a running process: not touched
    alive.write_bytes(b"busy")
    r = run_cli("restore", str(clip), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert not stale.exists() and alive.exists()
    assert f"pid {dead_pid}" in r.stderr and "removed a temporary file" in r.stderr
    alive.unlink()
