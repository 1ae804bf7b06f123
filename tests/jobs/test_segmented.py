"""Segmented jobs give the frames of one uninterrupted run: identical frames, pts and audio, no seam."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.io.helpers import packet_hashes, video_times
from tests.jobs.clips import LOSSLESS, WindowAverage, make_clip, register
from tests.jobs.helpers import frame_hashes, frames_of, manifest
from vidrestore.cli import main
from vidrestore.config import load_config
from vidrestore.jobs.runner import run_job_segmented
from vidrestore.pipeline.run import run_job

WINDOW = ["--set", "restorer.name=jobs_test_window"]


@pytest.fixture(autouse=True)
def _test_processors(monkeypatch: pytest.MonkeyPatch) -> None:
    from vidrestore.pipeline import factory

    monkeypatch.setattr(factory, "PROCESSORS", dict(factory.PROCESSORS))
    register(factory.PROCESSORS)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 frames, keyframes every 12, B-frames, AAC: a static texture under fresh noise."""
    return make_clip(tmp_path_factory.mktemp("clips") / "noisy.mp4", frames=48, gop=12)


def _cfg(*extra: str):
    overrides = [a for a in (*LOSSLESS, *WINDOW, *extra) if a != "--set"]
    return load_config(preset="passthrough", overrides=overrides)


def _direct(src: Path, out: Path, cfg) -> None:
    run_job(src, out, cfg=cfg, processor=WindowAverage(), quiet=True, expected_frames=lambda n: n)


def _segmented(src: Path, out: Path, cfg, proc=None, **kw):
    return run_job_segmented(src, out, cfg=cfg, processor_ref="tests.jobs.clips:build_window",
                             processor=proc or WindowAverage(), quiet=True, **kw)


def _border_ratio(path: Path, starts: list[int]) -> tuple[float, float]:
    """(max warping error of the pairs across segment borders, median of the others): static camera."""
    from vidrestore.metrics.temporal import warping_error

    per_pair = warping_error(frames_of(path)[1]).per_pair  # pair i = frames (i, i + 1)
    border = [per_pair[s - 1] for s in starts if s > 0]
    others = [v for i, v in enumerate(per_pair) if i + 1 not in starts]
    return max(border), float(np.median(others))


def test_segments_equal_one_pass_frames_pts_and_audio(noisy: Path, tmp_path: Path) -> None:
    cfg = _cfg("jobs.segment_frames=10", "jobs.keep_workdir=true")
    _direct(noisy, tmp_path / "direct.mkv", cfg)
    res = _segmented(noisy, tmp_path / "seg.mkv", cfg)
    assert res.segments == 5 and res.computed == [0, 1, 2, 3, 4] and res.frames_out == 48
    m = manifest(tmp_path / "seg.mkv.vidrestore-work")
    starts = [s["start"] for s in m["segments"]]
    assert m["plan"]["split"] == "scenes" and (m["plan"]["warmup"], m["plan"]["lookahead"]) == (2, 1)
    assert [s["read_start"] for s in m["segments"]][1:] == [s - 2 for s in starts[1:]]
    assert all(s["status"] == "done" and len(s["sha256"]) == 64 for s in m["segments"])
    assert frame_hashes(tmp_path / "seg.mkv") == frame_hashes(tmp_path / "direct.mkv")
    assert video_times(tmp_path / "seg.mkv") == video_times(tmp_path / "direct.mkv")
    assert packet_hashes(tmp_path / "seg.mkv", "audio") == packet_hashes(noisy, "audio") != []
    # no seam: warping error across the borders stays within 1.2x the median elsewhere
    border, median = _border_ratio(tmp_path / "seg.mkv", starts)
    assert border <= 1.2 * median, (border, median)
    assert (tmp_path / "seg.mkv.vidrestore.yaml").is_file()


def test_chunks_without_warm_up_leave_seams_the_checks_catch(noisy: Path, tmp_path: Path) -> None:
    """The same processor claiming no temporal reach: segments differ at their borders (a visible seam)."""
    cfg = _cfg("jobs.segment_frames=10", "jobs.split=frames", "jobs.keep_workdir=true")
    _direct(noisy, tmp_path / "direct.mkv", cfg)
    _segmented(noisy, tmp_path / "naive.mkv", cfg, proc=WindowAverage(declare=(0, 0)))
    m = manifest(tmp_path / "naive.mkv.vidrestore-work")
    starts = [s["start"] for s in m["segments"]]
    assert starts == [0, 10, 20, 30, 40] and m["plan"]["overlap_share"] == 0.0
    a, b = frame_hashes(tmp_path / "naive.mkv"), frame_hashes(tmp_path / "direct.mkv")
    differ = [i for i in range(48) if a[i] != b[i]]
    assert differ == [9, 10, 11, 19, 20, 21, 29, 30, 31, 39, 40, 41]  # last before / first two after each border
    border, median = _border_ratio(tmp_path / "naive.mkv", starts)
    assert border > 1.2 * median


def test_lossy_output_keeps_timestamps_and_audio_and_images_output(noisy: Path, tmp_path: Path) -> None:
    cfg = load_config(preset="passthrough", overrides=["restorer.name=jobs_test_window", "jobs.segment_frames=16",
                                                       "encode.preset=ultrafast"])
    _segmented(noisy, tmp_path / "seg.mp4", cfg)  # x264 with B-frames into mp4: timestamps joined exactly
    assert video_times(tmp_path / "seg.mp4") == video_times(noisy)
    assert packet_hashes(tmp_path / "seg.mp4", "audio") == packet_hashes(noisy, "audio")
    assert not (tmp_path / "seg.mp4.vidrestore-work").exists()  # removed after the join
    _direct(noisy, tmp_path / "direct", cfg)
    _segmented(noisy, tmp_path / "seg", cfg)  # PNG folders
    assert sorted(p.name for p in (tmp_path / "seg").iterdir()) == [f"frame_{i:06d}.png" for i in range(48)]
    assert frame_hashes(tmp_path / "seg") == frame_hashes(tmp_path / "direct")


def test_more_outputs_than_inputs_each_segment_owns_its_time_span(noisy: Path, tmp_path: Path) -> None:
    """An interpolator-shaped processor (2 outputs per input, one frame of look-ahead)."""
    from tests.jobs.clips import Doubler

    cfg = _cfg("jobs.segment_frames=10", "jobs.split=frames", "jobs.keep_workdir=true")
    run_job(noisy, tmp_path / "direct.mkv", cfg=cfg, processor=Doubler(), quiet=True)
    res = run_job_segmented(noisy, tmp_path / "seg.mkv", cfg=cfg, processor_ref="tests.jobs.clips:build_doubler",
                            processor=Doubler(), quiet=True, one_to_one=False)
    assert res.frames_out == 95 and res.segments == 5
    m = manifest(tmp_path / "seg.mkv.vidrestore-work")
    assert [s["frames"] for s in m["segments"]] == [20, 20, 20, 20, 15]  # the last ends on the last input frame
    assert frame_hashes(tmp_path / "seg.mkv") == frame_hashes(tmp_path / "direct.mkv")
    assert video_times(tmp_path / "seg.mkv") == video_times(tmp_path / "direct.mkv")


def test_gan_restorer_with_temporal_fusion_segments_exactly(tmp_path: Path) -> None:
    """The real GAN stage (tiny random-weight network, DIS-flow temporal fusion) through the CLI."""
    torch = pytest.importorskip("torch")
    from vidrestore.restore.gan.archs import build_arch

    torch.manual_seed(0)
    net = build_arch("SRVGGNetCompact", {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_conv": 2,
                                         "upscale": 2, "act_type": "prelu"})
    for p in net.parameters():
        p.data.mul_(0.1)
    weights = tmp_path / "tiny-x2.pth"
    torch.save({"params_ema": net.state_dict()}, weights)
    common = ["-q", *LOSSLESS, "--set", "restorer.name=tiny-x2", "--set", f"restorer.weights={weights}",
              "--set", "temporal.enabled=true", "--set", "temporal.window=5", "--set", "flow.method=dis",
              "--set", "restorer.precision=fp32"]
    src = make_clip(tmp_path / "short.mp4", frames=24, gop=8)
    assert main(["restore", str(src), "-o", str(tmp_path / "direct.mkv"), *common, "--set", "jobs.mode=direct"]) == 0
    assert main(["restore", str(src), "-o", str(tmp_path / "seg.mkv"), *common, "--segment-frames", "8",
                 "--keep-workdir"]) == 0
    m = manifest(tmp_path / "seg.mkv.vidrestore-work")
    assert (m["plan"]["warmup"], m["plan"]["lookahead"]) == (2, 2) and len(m["segments"]) == 3
    assert frame_hashes(tmp_path / "seg.mkv") == frame_hashes(tmp_path / "direct.mkv")
    starts = [s["start"] for s in m["segments"]]
    border, median = _border_ratio(tmp_path / "seg.mkv", starts)
    assert border <= 1.2 * median, (border, median)


def test_damaged_part_is_recomputed_and_only_it(noisy: Path, tmp_path: Path) -> None:
    cfg = _cfg("jobs.segment_frames=16", "jobs.keep_workdir=true")
    _segmented(noisy, tmp_path / "seg.mkv", cfg)
    work = tmp_path / "seg.mkv.vidrestore-work"
    first = frame_hashes(tmp_path / "seg.mkv")
    part = work / manifest(work)["segments"][1]["part"]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    res = _segmented(noisy, tmp_path / "seg.mkv", cfg, resume=True, overwrite=True)
    n = len(manifest(work)["segments"])
    assert res.computed == [1] and res.reused == [i for i in range(n) if i != 1]
    assert frame_hashes(tmp_path / "seg.mkv") == first
    runs = manifest(work)["runs"]
    assert [r["computed"] for r in runs] == [list(range(n)), [1]] and runs[1]["done_before"] == res.reused


def test_resume_refuses_changed_config_or_input_with_the_reason(noisy: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.mp4"
    shutil.copy(noisy, src)
    out = tmp_path / "out.mkv"
    args = ["restore", "-q", str(src), "-o", str(out), *LOSSLESS, *WINDOW, "--segment-frames", "16", "--keep-workdir"]
    assert main(args) == 0
    (out).unlink()
    capsys.readouterr()
    # a resumed job may change engine-side keys (segment size, threads) but not the processing
    assert main([*args, "--resume", "--set", "encode.crf=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "config differs" in err and "encode.crf: 0 -> 1" in err
    # the input changed (same size, other bytes)
    data = bytearray(src.read_bytes())
    data[100] ^= 0x01
    src.write_bytes(bytes(data))
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert "input changed" in err and "content of the first MiB differs" in err
    # an existing work directory without --resume
    assert main(args) == 2
    assert "add --resume" in capsys.readouterr().err


class _FailAt(WindowAverage):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.fail_index = index

    def process(self, frames):
        for out in super().process(frames):
            if out.index == self.fail_index:
                raise RuntimeError(f"boom at {out.index}")
            yield out


def test_a_failing_segment_keeps_the_finished_ones(noisy: Path, tmp_path: Path, caplog) -> None:
    from vidrestore.errors import ResumeError

    cfg = _cfg("jobs.segment_frames=16", "jobs.split=frames")
    out = tmp_path / "seg.mkv"
    with pytest.raises(RuntimeError, match="boom at 3"):  # in the first segment: nothing finished
        _segmented(noisy, out, cfg, proc=_FailAt(3))
    assert manifest(tmp_path / "seg.mkv.vidrestore-work")["segments"][0]["status"] == "pending"
    with pytest.raises(RuntimeError, match="boom at 20"):  # a rerun without --resume plans again
        _segmented(noisy, out, cfg, proc=_FailAt(20))
    assert "1 of 3 segments are finished and kept" in caplog.text and not out.exists()
    with pytest.raises(ResumeError, match="add --resume"):
        _segmented(noisy, out, cfg)
    res = _segmented(noisy, out, cfg, resume=True)
    assert res.reused == [0] and res.computed == [1, 2] and out.is_file()
    assert not (tmp_path / "seg.mkv.vidrestore-work").exists()
