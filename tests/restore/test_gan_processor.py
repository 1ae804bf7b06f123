"""The GAN stage of ``vidrestore restore``: every frame and timestamp kept, audio untouched, bit depth kept."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.io.helpers import packet_hashes, video_times
from tests.restore.gan_data import animevideo_weights
from vidrestore.cli import main
from vidrestore.config import load_config
from vidrestore.restore.gan.archs import build_arch
from vidrestore.restore.gan.processor import GanProcessor, build_processor
from vidrestore.restore.gan.restorer import GanRestorer
from vidrestore.temporal.propagation import PropagationParams
from vidrestore.types import Frame

TINY = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_conv": 2, "upscale": 2, "act_type": "prelu"}


@pytest.fixture()
def tiny_weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    net = build_arch("SRVGGNetCompact", TINY)
    for p in net.parameters():
        p.data.mul_(0.1)  # near-identity residual: output ~ nearest-upscaled input
    path = tmp_path / "tiny-x2.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    return path


def _frames(n: int, dtype=np.uint8) -> list[Frame]:
    rng = np.random.default_rng(1)
    top = 255 if dtype == np.uint8 else 65535
    base = rng.integers(0, top, (24, 32, 3)).astype(dtype)
    pts = [0, 3, 4, 9, 10, 11, 20, 21][:n]  # irregular (VFR) timestamps
    return [Frame(index=i, pts=p, time_base=Fraction(1, 90), rgb=np.roll(base, i, axis=1), duration=1 if i == n - 1 else None)
            for i, p in enumerate(pts)]


@pytest.mark.parametrize("temporal", [False, True])
def test_every_frame_comes_out_once_in_order_with_its_timing(tiny_weights: Path, temporal: bool) -> None:
    from vidrestore.flow import DISFlow

    net = build_arch("SRVGGNetCompact", TINY)
    net.load_state_dict(torch.load(tiny_weights, weights_only=True)["params_ema"])
    restorer = GanRestorer(net=net, native_scale=2, precision="fp32", batch=3)
    proc = GanProcessor(restorer=restorer, batch=3, flow=DISFlow(preset="fast") if temporal else None,
                        temporal=PropagationParams(past=2, future=2) if temporal else None)
    src = _frames(8)
    out = list(proc.process(iter(src)))
    assert [(f.index, f.pts, f.time_base, f.duration) for f in out] == [(f.index, f.pts, f.time_base, f.duration) for f in src]
    assert all(f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.uint8 for f in out)
    stats = proc.stats()
    assert stats["frames_in"] == stats["frames_out"] == 8 and stats["model_calls"] == 3  # batches of 3, 3, 2
    if temporal:
        assert stats["flow_pairs_computed"] == 7 and stats["frames_fused"] == 8


def test_sixteen_bit_frames_come_out_sixteen_bit(tiny_weights: Path) -> None:
    net = build_arch("SRVGGNetCompact", TINY)
    net.load_state_dict(torch.load(tiny_weights, weights_only=True)["params_ema"])
    proc = GanProcessor(restorer=GanRestorer(net=net, native_scale=2, high_bit_depth=True), high_bit_depth=True)
    assert proc.restorer.precision == "fp32"
    out = list(proc.process(iter(_frames(3, np.uint16))))
    assert all(f.rgb.dtype == np.uint16 for f in out)
    assert np.mean(out[0].rgb % 257 != 0) > 0.9


def test_restore_cli_upscale_preset_keeps_audio_frames_and_timestamps(shared_dir: Path, samples_dir: Path,
                                                                       tmp_path: Path) -> None:
    pth = animevideo_weights(shared_dir)
    src = samples_dir / "odd.mp4"  # 161x97, 20 frames, AAC
    out = tmp_path / "up.mp4"
    rc = main(["restore", "-q", str(src), "-o", str(out), "--preset", "upscale", "--set", f"restorer.weights={pth}",
               "--set", "encode.preset=ultrafast"])
    assert rc == 0 and out.is_file()
    import av

    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        assert (vs.codec_context.width, vs.codec_context.height) == (644, 388)
    times_in, times_out = video_times(src), video_times(out)
    assert len(times_out) == len(times_in) == 20
    assert np.allclose(times_out, times_in, atol=1e-3)
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio")  # audio copied bit-exactly
    resolved = load_config(path=tmp_path / "up.mp4.vidrestore.yaml")
    assert resolved.restorer.name == "realesr-animevideov3" and resolved.temporal.enabled


def test_ten_bit_source_end_to_end(tiny_weights: Path, samples_dir: Path, tmp_path: Path) -> None:
    import av

    src = samples_dir / "tenbit.mkv"  # 256x144 yuv420p10le, 24 frames
    out = tmp_path / "ten.mkv"
    rc = main(["restore", "-q", str(src), "-o", str(out), "--preset", "upscale", "--set", "restorer.name=tiny",
               "--set", f"restorer.weights={tiny_weights}", "--set", "restorer.scale=2",
               "--set", "temporal.enabled=false", "--set", "encode.preset=ultrafast"])
    assert rc == 0
    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        assert vs.codec_context.pix_fmt.endswith("10le")
        assert (vs.codec_context.width, vs.codec_context.height) == (512, 288)
    assert len(video_times(out)) == 24
    assert packet_hashes(out, "audio") == packet_hashes(src, "audio")


def test_build_processor_from_presets(tiny_weights: Path) -> None:
    from vidrestore.io.probe import probe_video  # noqa: F401 - the processor takes a VideoInfo
    from vidrestore.types import VideoInfo

    info = VideoInfo(path="x", container="mp4", codec="h264", width=32, height=24, pix_fmt="yuv420p", bit_depth=8,
                     avg_rate=Fraction(25), real_rate=Fraction(25), time_base=Fraction(1, 25), num_frames=3,
                     num_frames_exact=True, duration=0.12, start_time=0.0, rotation=0)
    for preset, scale, temporal in (("upscale", 4, True), ("upscale-x2", 2, True), ("denoise-light", 1, True)):
        cfg = load_config(preset=preset, overrides=[f"restorer.weights={tiny_weights}", "restorer.name=tiny"])
        proc = build_processor(cfg, info)
        spec = proc.output_spec(info, (32, 24))
        assert (spec.width, spec.height) == (32 * scale, 24 * scale)
        assert (proc.temporal is not None) == temporal
        assert proc.temporal.past == 2 and proc.temporal.future == 2


def test_missing_weights_fail_with_one_line_exit_2(samples_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["restore", "-q", str(samples_dir / "odd.mp4"), "-o", str(tmp_path / "x.mp4"), "--preset", "upscale"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vidrestore weights fetch realesr-animevideov3" in err[0] and "import-ncnn" in err[0]
    assert not (tmp_path / "x.mp4").exists()


def test_processor_declares_its_reach_and_segments_reproduce_the_full_run(tiny_weights: Path) -> None:
    from vidrestore.flow import DISFlow

    net = build_arch("SRVGGNetCompact", TINY)
    net.load_state_dict(torch.load(tiny_weights, weights_only=True)["params_ema"])

    def make(batch: int) -> GanProcessor:
        return GanProcessor(restorer=GanRestorer(net=net, native_scale=2, precision="fp32", batch=batch), batch=batch,
                            flow=DISFlow(preset="fast"), temporal=PropagationParams(past=2, future=1))

    proc = make(2)
    assert (proc.warmup_frames, proc.lookahead_frames) == (2, 1)
    src = _frames(8)
    full = list(proc.process(iter(src)))
    start, stop = 3, 6
    seg = [f for f in make(3).process(iter(src[start - 2:stop + 1])) if start <= f.index < stop]
    assert [f.index for f in seg] == [3, 4, 5]
    assert all(np.array_equal(a.rgb, full[a.index].rgb) for a in seg)
    plain = GanProcessor(restorer=GanRestorer(net=net, native_scale=2))
    assert (plain.warmup_frames, plain.lookahead_frames) == (0, 0)
