"""``restore --preset film`` as resumable segments: the frames of one uninterrupted run, bit for bit.

The clip is real film: 60 frames of chaplin.mp4 (shared/data), a 128x96 crop at 25 fps, with an AAC
tone; outputs are lossless (libx264rgb, crf 0) so decoded frames can be compared by hash.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.io.helpers import packet_hashes, video_times
from tests.jobs.clips import LOSSLESS
from tests.jobs.helpers import frame_hashes, manifest
from vidrestore.cli import main

FRAMES = 60
CROP = (slice(150, 246), slice(300, 428))  # rows, columns of the 640x360 frames: a face and moving figures


@pytest.fixture(scope="module")
def chaplin_crop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import av

    from tools.make_samples import write_clip

    frames = []
    with av.open(str(shared_file("moviepy_media/chaplin.mp4"))) as container:
        for frame in container.decode(video=0):
            frames.append(np.ascontiguousarray(frame.to_ndarray(format="rgb24")[CROP]).astype(np.float32) / 255)
            if len(frames) == FRAMES:
                break
    path = tmp_path_factory.mktemp("film_jobs") / "chaplin_crop.mp4"
    write_clip(path, frames, pts=list(range(FRAMES)), time_base=Fraction(1, 25), rate=Fraction(25),
               options={"crf": "10", "g": "12"})
    return path


@pytest.fixture(scope="module")
def one_pass(chaplin_crop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("film_direct") / "direct.mkv"
    assert main(["restore", "-q", str(chaplin_crop), "-o", str(out), "--preset", "film", *LOSSLESS,
                 "--set", "jobs.mode=direct"]) == 0
    return out


class CrashAt:
    """A film stage that dies when it is about to emit frame ``index`` (as a killed worker would); it declares
    and forwards what the stage does (reach, masks owned by a segment)."""

    uses_pixels = True

    def __init__(self, film, index: int) -> None:  # type: ignore[no-untyped-def]
        self.film, self.index = film, index
        self.warmup_frames, self.lookahead_frames = film.warmup_frames, film.lookahead_frames
        self.writes_per_frame = film.writes_per_frame

    def own_frames(self, start, stop):  # type: ignore[no-untyped-def]
        self.film.own_frames(start, stop)

    def output_spec(self, info, frame_size):  # type: ignore[no-untyped-def]
        return self.film.output_spec(info, frame_size)

    def stats(self):  # type: ignore[no-untyped-def]
        return self.film.stats()

    def process(self, frames):  # type: ignore[no-untyped-def]
        for frame in self.film.process(frames):
            if frame.index == self.index:
                raise RuntimeError(f"worker died at frame {self.index}")
            yield frame


def _film_args(src: Path, out: Path) -> list[str]:
    return ["restore", "-q", str(src), "-o", str(out), "--preset", "film", *LOSSLESS, "--set", "jobs.split=frames",
            "--segment-frames", "12", "--keep-workdir"]


def test_film_segments_equal_one_pass(chaplin_crop: Path, one_pass: Path, tmp_path: Path) -> None:
    out = tmp_path / "seg.mkv"
    assert main(_film_args(chaplin_crop, out)) == 0
    m = manifest(tmp_path / "seg.mkv.vidrestore-work")
    # radius 2 + deflicker 8 + cut memory 24, then the second dust pass's radius 2
    assert (m["plan"]["warmup"], m["plan"]["lookahead"]) == (36, 12)
    segs = m["segments"]
    assert [s["start"] for s in segs] == [0, 12, 24, 36, 48]
    assert [s["read_start"] for s in segs] == [0, 0, 0, 0, 12]  # the last one starts cold, 36 frames back
    assert [s["read_stop"] for s in segs] == [24, 36, 48, 60, 60]
    assert frame_hashes(out) == frame_hashes(one_pass) and len(frame_hashes(out)) == FRAMES
    assert video_times(out) == video_times(one_pass)
    assert np.diff(video_times(out)) == pytest.approx(np.diff(video_times(chaplin_crop)), abs=1e-6)
    assert packet_hashes(out, "audio") == packet_hashes(chaplin_crop, "audio") != []


def test_film_job_crashed_half_way_resumes_to_the_same_frames(chaplin_crop: Path, one_pass: Path,
                                                              tmp_path: Path) -> None:
    """A crash inside segment 3 (frame 48: segment 2 emits up to 47 as its look-ahead): segments 0-2 are kept,
    --resume computes 3 and 4 only."""
    from vidrestore.config import load_config
    from vidrestore.jobs.runner import run_job_segmented
    from vidrestore.pipeline.stages import build_film as build_processor

    overrides = [a for a in LOSSLESS if a != "--set"] + ["jobs.split=frames", "jobs.segment_frames=12",
                                                          "jobs.keep_workdir=true"]
    cfg = load_config(preset="film", overrides=overrides)
    ref = "vidrestore.pipeline.stages:build_film"
    film = build_processor(cfg, None)  # type: ignore[arg-type]

    out = tmp_path / "seg.mkv"
    with pytest.raises(RuntimeError, match="frame 48"):
        run_job_segmented(chaplin_crop, out, cfg=cfg, processor_ref=ref, processor=CrashAt(film, 48), quiet=True)
    work = tmp_path / "seg.mkv.vidrestore-work"
    before = manifest(work)
    assert [s["status"] for s in before["segments"]] == ["done", "done", "done", "pending", "pending"]
    assert not out.exists()
    parts = {i: work / before["segments"][i]["part"] for i in range(3)}
    stamps = {i: p.stat().st_mtime_ns for i, p in parts.items()}

    res = run_job_segmented(chaplin_crop, out, cfg=cfg, processor_ref=ref, processor=film, quiet=True, resume=True)
    assert res.reused == [0, 1, 2] and res.computed == [3, 4]
    assert {i: p.stat().st_mtime_ns for i, p in parts.items()} == stamps  # finished parts untouched
    assert frame_hashes(out) == frame_hashes(one_pass)
    assert video_times(out) == video_times(one_pass)
    assert packet_hashes(out, "audio") == packet_hashes(chaplin_crop, "audio") != []


# ----------------------------------------------------------------------------- review masks (--save-masks)

def _mask_hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {f"{p.parent.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("*/*.png"))}


def _spec(src: Path, out: Path, masks: Path, **kw):  # type: ignore[no-untyped-def]
    from vidrestore.api import JobSpec

    overrides = tuple(a for a in LOSSLESS if a != "--set") + ("jobs.split=frames",)
    return JobSpec(command="restore", input=str(src), output=str(out), preset="film", overrides=overrides,
                   options={"save_masks": str(masks), "segment_frames": 12}, keep_workdir=True, **kw)


@pytest.fixture(scope="module")
def one_pass_masks(chaplin_crop: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("film_direct_masks")
    assert main(["restore", "-q", str(chaplin_crop), "-o", str(folder / "direct.mkv"), "--preset", "film", *LOSSLESS,
                 "--set", "jobs.mode=direct", "--save-masks", str(folder / "masks")]) == 0
    return folder / "masks"


def test_film_segments_with_masks_write_each_mask_once_as_one_pass(chaplin_crop: Path, one_pass: Path,
                                                                    one_pass_masks: Path, tmp_path: Path) -> None:
    """Writing masks no longer makes the film stage unsplittable: every segment writes the masks of the frames
    it owns, none of its warm-up or look-ahead frames (which would be another segment's, and differ)."""
    from vidrestore import api

    out, masks = tmp_path / "seg.mkv", tmp_path / "masks"
    res = api.run(_spec(chaplin_crop, out, masks, segmented=True))
    assert res.segments == 5
    assert res.stats["processor"]["masks_written"] == FRAMES  # once per frame, though 60 + 4 x 36 were fed
    expected = _mask_hashes(one_pass_masks)
    assert len(expected) == 2 * FRAMES and _mask_hashes(masks) == expected
    assert frame_hashes(out) == frame_hashes(one_pass)


def test_film_job_with_masks_crashed_half_way_resumes_to_the_same_masks(chaplin_crop: Path, one_pass: Path,
                                                                       one_pass_masks: Path, tmp_path: Path) -> None:
    """Killed inside segment 3 (its frames 36..47 have masks already); ``--resume`` accepts the masks of the
    same job, recomputes segments 3 and 4 and leaves masks equal to one pass's. Without ``--resume`` the
    folder's masks are refused as before."""
    from vidrestore import api
    from vidrestore.errors import OutputError
    from vidrestore.jobs.runner import run_job_segmented
    from vidrestore.pipeline.stages import build_film as build_processor

    out, masks = tmp_path / "seg.mkv", tmp_path / "masks"
    spec = _spec(chaplin_crop, out, masks)
    cfg = api.load_config(spec)
    film = build_processor(cfg, None)  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="frame 48"):
        run_job_segmented(chaplin_crop, out, cfg=cfg, processor_ref="vidrestore.pipeline.stages:build_film",
                          processor=CrashAt(film, 48), quiet=True)
    written = _mask_hashes(masks)
    assert sorted({int(k.split("/")[1][:6]) for k in written}) == list(range(48))  # owned frames only, no look-ahead
    with pytest.raises(OutputError, match="already holds masks"):
        api.run(spec)
    res = api.run(replace_spec(spec, resume=True))
    assert res.reused == [0, 1, 2] and res.computed == [3, 4]
    assert _mask_hashes(masks) == _mask_hashes(one_pass_masks)
    assert frame_hashes(out) == frame_hashes(one_pass)


def replace_spec(spec, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(spec, **changes)
