"""Issue 17: ``--workdir`` never deletes a folder the job did not create, nor anything in it that is not the job's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.safety.conftest import leftovers, one_line_exit_2, run_cli, snapshot


def _refused(r, *needles: str) -> None:  # type: ignore[no-untyped-def]
    one_line_exit_2(r, *needles, prefix="vidrestore: error: jobs.workdir")


def test_workdir_dot_holding_the_input_and_output_is_refused(clip: Path, tmp_path: Path) -> None:
    here = clip.parent
    (here / "thesis.odt").write_text("the user's work")
    before = snapshot(tmp_path)
    r = run_cli("restore", "clip.mp4", "-o", "out.mp4", "--workdir", ".", "-q", cwd=here)
    _refused(r, "holds")
    assert snapshot(tmp_path) == before


def test_workdir_set_to_the_input_folder_is_refused(clip: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "--workdir", str(clip.parent), "-q")
    _refused(r)
    assert snapshot(tmp_path) == before


def test_workdir_above_the_output_is_refused(clip: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "deliver" / "v1"
    outdir.mkdir(parents=True)
    before = snapshot(tmp_path)
    r = run_cli("restore", str(clip), "-o", str(outdir / "out.mp4"), "--workdir", str(tmp_path / "deliver"), "-q")
    _refused(r, "holds")
    assert snapshot(tmp_path) == before


def test_workdir_with_foreign_files_is_refused(clip: Path, tmp_path: Path) -> None:
    wd = tmp_path / "scratch"
    wd.mkdir()
    (wd / "keep.txt").write_text("not vidrestore's")
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "--workdir", str(wd), "-q")
    _refused(r, "keep.txt")
    assert (wd / "keep.txt").read_text() == "not vidrestore's"


def test_workdir_is_removed_file_by_file_after_a_job(clip: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out.mp4"), "--workdir", str(wd), "--segment-frames", "4",
                "-q")
    assert r.returncode == 0, r.stderr
    assert not wd.exists() and leftovers(tmp_path) == []
    # a work directory that existed (empty) before the job is emptied but kept
    wd.mkdir()
    r = run_cli("restore", str(clip), "-o", str(tmp_path / "out2.mp4"), "--workdir", str(wd), "--segment-frames", "4",
                "-q")
    assert r.returncode == 0, r.stderr
    assert wd.is_dir() and list(wd.iterdir()) == []


def test_remove_workdir_keeps_what_the_job_did_not_create(tmp_path: Path) -> None:
    from vidrestore.io import safety

    wd = tmp_path / "wd"
    wd.mkdir()
    for name in ("manifest.json", "lock", "part_00000.mkv", ".part_00001.mkv.vidrestore-tmp-1.mkv"):
        (wd / name).write_bytes(b"x")
    (wd / "part_00002").mkdir()
    (wd / "part_00002" / "frame_000000.png").write_bytes(b"x")
    (wd / "mine.txt").write_text("dropped here by the user during the job")
    safety.remove_workdir(wd, ["manifest.json", "lock", "part_00000.mkv", "part_00001.mkv", "part_00002"],
                          created=True)
    assert sorted(p.name for p in wd.iterdir()) == ["mine.txt"]


@pytest.mark.parametrize("levels", [1, 2])
def test_decloud_workdir_above_the_rasters_is_refused(tmp_path: Path, levels: int) -> None:
    from tests.decloud.conftest import cloudy_series, write_tif

    cube, _, _, dates = cloudy_series(n=3, h=32, w=40)
    rasters = tmp_path / "archive" / "s2" / "tiles"
    for t, d in enumerate(dates):
        write_tif(rasters / f"S2_{d:%Y%m%d}.tif", cube[t])
    above = rasters.parents[levels - 1]
    before = snapshot(tmp_path)
    r = run_cli("decloud", str(rasters), "-o", str(tmp_path / "out"), "--workdir", str(above), "-q")
    _refused(r)
    assert snapshot(tmp_path) == before
