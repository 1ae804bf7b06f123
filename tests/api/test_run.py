"""api.run: progress reaches the caller, cancel leaves nothing partial, resume after a cancel gives the
frames of an uninterrupted run; decloud through the same door."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.jobs.clips import LOSSLESS, make_clip
from tests.jobs.helpers import frame_hashes, manifest
from vidrestore import api
from vidrestore.errors import VidrestoreError
from vidrestore.types import Frame, OutputSpec, VideoInfo

ROOT = Path(__file__).resolve().parents[2]
MOVING = ROOT / "samples" / "moving.mp4"
WINDOW = ("restorer.name=jobs_test_window",)
LOSSLESS_SET = tuple(v for v in LOSSLESS if v != "--set")


def _leftovers(folder: Path) -> list[str]:
    """Temporaries and locks a run may have left anywhere under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if "vidrestore-tmp" in p.name or "vidrestore-lock" in p.name or "vidrestore-old" in p.name)


def test_restore_reports_progress_to_the_total(tmp_path: Path) -> None:
    seen: list[api.Progress] = []
    out = tmp_path / "out.mp4"
    result = api.restore(MOVING, out, preset="passthrough", progress=seen.append)
    assert result.output == str(out) and out.is_file() and not result.segmented
    assert result.frames_in == result.frames_out == 75 and result.config.preset == "passthrough"
    done = [p.done for p in seen]
    assert done == sorted(done) and done[-1] == 75 and {p.total for p in seen} == {75}
    assert seen[-2].phase == "process" and seen[-1].phase == "done"
    assert seen[-1].eta_s == 0.0 and seen[-1].fps > 0 and seen[-1].done == 75


def test_cancel_of_a_direct_run_leaves_no_output_and_no_temporaries(tmp_path: Path) -> None:
    cancel = threading.Event()
    out = tmp_path / "out.mp4"

    def progress(p: api.Progress) -> None:
        if p.done >= 10:
            cancel.set()

    with pytest.raises(api.Cancelled) as err:
        api.run(api.JobSpec(command="restore", input=str(MOVING), output=str(out), preset="film"),
                progress=progress, cancel=cancel)
    assert str(out) in str(err.value) and "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no output, no sidecar, no temporary, no lock


def test_cancel_before_start_writes_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(api.Cancelled):
        api.restore(MOVING, tmp_path / "o.mp4", cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_cancel_of_a_segmented_job_keeps_segments_and_resume_equals_one_run(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=48, moving=True)
    common = dict(command="restore", input=str(clip), overrides=(*WINDOW, *LOSSLESS_SET, "jobs.part_seconds=0"),
                  segmented=True, options={"segment_frames": 12})
    whole = api.run(api.JobSpec(output=str(tmp_path / "whole.mp4"), **common))
    assert whole.segmented and whole.segments == 4

    out = tmp_path / "out.mp4"
    cancel = threading.Event()
    phases: list[str] = []
    third: list[int] = []

    def progress(p: api.Progress) -> None:
        phases.append(p.phase)
        if p.phase == "segment 3/4":
            third.append(p.done)
            if third[-1] >= third[0] + 3:  # three frames into the third segment
                cancel.set()

    spec = api.JobSpec(output=str(out), **common)
    with pytest.raises(api.Cancelled) as err:
        api.run(spec, progress=progress, cancel=cancel)
    assert "2 of 4 segments are finished and kept" in str(err.value)
    assert not out.exists() and not Path(str(out) + ".vidrestore.yaml").exists()
    assert _leftovers(tmp_path) == []
    workdir = Path(str(out) + ".vidrestore-work")
    segments = manifest(workdir)["segments"]
    assert [s["status"] for s in segments] == ["done", "done", "pending", "pending"]
    kept = sum(s["stop"] - s["start"] for s in segments[:2])
    assert "segment 1/4" in phases and "segment 2/4" in phases

    seen: list[api.Progress] = []
    resumed = api.run(api.JobSpec(output=str(out), resume=True, **common), progress=seen.append)
    assert resumed.reused == [0, 1] and resumed.computed == [2, 3]
    assert seen[0].done == kept and [p.phase for p in seen[-2:]] == ["join", "done"] and seen[-1].done == 48
    assert frame_hashes(out) == frame_hashes(tmp_path / "whole.mp4")
    assert not workdir.exists() and _leftovers(tmp_path) == []


def test_direct_and_segmented_give_the_same_frames(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=30, moving=True)
    common = dict(command="restore", input=str(clip), overrides=(*WINDOW, *LOSSLESS_SET))
    one = api.run(api.JobSpec(output=str(tmp_path / "one.mp4"), segmented=False, **common))
    seg = api.run(api.JobSpec(output=str(tmp_path / "seg.mp4"), segmented=True,
                              options={"segment_frames": 10}, **common))
    assert not one.segmented and seg.segmented and seg.segments == 3
    assert frame_hashes(tmp_path / "one.mp4") == frame_hashes(tmp_path / "seg.mp4")


def test_resume_with_segmented_false_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VidrestoreError) as err:
        api.restore(MOVING, tmp_path / "o.mp4", resume=True, segmented=False)
    assert "--resume needs a segmented job" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_decloud_through_the_api_with_progress_and_cancel(s2_folder, tmp_path: Path) -> None:
    folder = s2_folder[0]
    seen: list[api.Progress] = []
    out = tmp_path / "clean"
    result = api.decloud(folder, out, bands="blue=1,green=2,red=3,nir=4", progress=seen.append)
    assert result.frames_out == 6 and (out / "decloud_report.json").is_file()
    assert seen[-2].done == seen[-2].total and seen[-2].phase == "blocks" and seen[-1].phase == "done"

    cancel = threading.Event()
    other = tmp_path / "other"

    def stop(p: api.Progress) -> None:
        cancel.set()

    with pytest.raises(api.Cancelled):
        api.decloud(folder, other, bands="blue=1,green=2,red=3,nir=4", progress=stop, cancel=cancel)
    assert not other.exists() and _leftovers(tmp_path) == []  # not even the empty folder it had made

    tiled = tmp_path / "tiled"
    cancel.clear()
    with pytest.raises(api.Cancelled) as err:
        api.decloud(folder, tiled, bands="blue=1,green=2,red=3,nir=4", segmented=True, progress=stop, cancel=cancel)
    assert "finished tiles are kept" in str(err.value) and not tiled.exists() and _leftovers(tmp_path) == []
    resumed = api.decloud(folder, tiled, bands="blue=1,green=2,red=3,nir=4", resume=True)
    assert resumed.segmented and (tiled / "decloud_report.json").is_file()
    import rasterio

    images = sorted(out.glob("S2_*.tif"))
    assert images
    for image in images:  # the resumed tiled job gives the pixels of the uninterrupted one-pass run
        with rasterio.open(image) as a, rasterio.open(tiled / image.name) as b:
            assert np.array_equal(a.read(), b.read()), image.name


def test_interpolate_wrapper_takes_options_as_keywords(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", frames=6, size=(64, 48))
    seen: list[api.Progress] = []
    result = api.interpolate(clip, tmp_path / "o.mp4", factor=3, progress=seen.append,
                             overrides=("interpolate.method=flow",))
    assert result.frames_in == 6 and result.frames_out == 18
    assert result.config.interpolate.factor == 3 and seen[-1].done == 18
    assert np.all(np.diff([p.done for p in seen]) >= 0)


CANCEL_IN_WARMUP = threading.Event()
SEEN: list[int] = []


class _LongWarmup:
    """Emits every frame unchanged, declares 30 frames of warm-up, and sets CANCEL_IN_WARMUP at frame 15."""

    uses_pixels = True
    warmup_frames = 30
    lookahead_frames = 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:

        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base, rate=info.avg_rate,
                          num_frames=info.num_frames)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        for frame in frames:
            SEEN.append(frame.index)
            if frame.index == 15:
                CANCEL_IN_WARMUP.set()
            yield frame

    def stats(self) -> dict:
        return {}


def build_long_warmup(cfg: object, info: VideoInfo) -> _LongWarmup:
    return _LongWarmup()


def test_cancel_reaches_a_segment_during_its_warmup(tmp_path: Path) -> None:
    """A preview of frames 40..44 reads from frame 10; a cancel at frame 15 stops the reading there, long
    before the first output frame."""
    from vidrestore.pipeline import factory

    factory.PROCESSORS["api_long_warmup"] = f"{__name__}:build_long_warmup"
    CANCEL_IN_WARMUP.clear()
    SEEN.clear()
    out = tmp_path / "preview"
    with pytest.raises(api.Cancelled):
        api.run(api.JobSpec(command="restore", input=str(MOVING), output=str(out), frames=(40, 45),
                            overrides=("restorer.name=api_long_warmup",)), cancel=CANCEL_IN_WARMUP)
    assert SEEN[0] == 10 and max(SEEN) <= 17
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_range_outside_the_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from vidrestore.cli import main

    rc = main(["restore", str(MOVING), "-o", str(tmp_path / "o.mp4"), "--frames", "70:90"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "has 75 frames (0..74)" in err[0] and "Traceback" not in err[0]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit) as exit_:
        main(["restore", str(MOVING), "-o", str(tmp_path / "o.mp4"), "--frames", "12"])
    assert exit_.value.code == 2 and "START:STOP" in capsys.readouterr().err
