"""Learned cloud (and shadow) detectors whose models ship inside their PyPI wheels.

* ``csmask``: DLR's ukis-csmask (Apache-2.0) U-Net models in ONNX, cloud AND shadow, for
  blue/green/red/NIR (4-band) or with SWIR 1.6/2.2 um (6-band), trained on Sentinel-2 and Landsat.
  Run here with onnxruntime on CPU over overlapping 256 px tiles whose class probabilities are
  blended with a tapered window, so tile seams do not show in the mask. The model expects
  reflectance in [0, 1] (see :func:`learn_scale` for series whose units are not known).
* ``s2cloudless``: Sentinel Hub's LightGBM pixel classifier for Sentinel-2 L1C top-of-atmosphere
  reflectance in bands B01 B02 B04 B05 B08 B8A B09 B10 B11 B12 (clouds only; shadows then come from
  the temporal shadow test of :mod:`.detect` around its clouds).

Both are optional (the ``geo`` extra installs them); :func:`choose_detector` says which one ``auto``
takes and why. A model sees one date and may not know the sensor: :mod:`.plan` keeps only what the
series confirms (a cloud brighter, a shadow darker than the other dates there) and, for ``auto``,
drops a model whose detections the series mostly contradicts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vidrestore.decloud.masks import CLEAR, CLOUD, NODATA, SHADOW

logger = logging.getLogger(__name__)

DETECTORS = ("auto", "spectral", "csmask", "s2cloudless")
CSMASK_ROLES4 = ("blue", "green", "red", "nir")
CSMASK_ROLES6 = ("blue", "green", "red", "nir", "swir1", "swir2")
S2CLOUDLESS_BANDS = ("b01", "b02", "b04", "b05", "b08", "b8a", "b09", "b10", "b11", "b12")
TILE = 256  # the csmask models' fixed input size
OVERLAP = 32  # px shared by neighbouring tiles (blended)
LAND_VISIBLE = 0.08  # typical clear-land visible reflectance; anchors the learned scale (see learn_scale)


class DetectorUnavailable(RuntimeError):
    """A learned detector was asked for but its package or bands are missing (message says which)."""


def package_installed(name: str) -> bool:
    import importlib.util

    module = {"csmask": "ukis_csmask", "s2cloudless": "s2cloudless"}[name]
    if importlib.util.find_spec(module) is None:
        return False
    return name != "csmask" or importlib.util.find_spec("onnxruntime") is not None


def missing_roles(name: str, roles: dict[str, int]) -> list[str]:
    """The band roles ``name`` needs that the mapping lacks (csmask: the 4-band set)."""
    need = CSMASK_ROLES4 if name == "csmask" else S2CLOUDLESS_BANDS
    return [r for r in need if r not in roles]


def choose_detector(requested: str, roles: dict[str, int]) -> tuple[str, str]:
    """(detector, why): ``requested`` checked, or for ``auto`` the first learned one that can run.

    ``auto`` prefers s2cloudless when all ten of its Sentinel-2 bands are mapped (it was trained on
    exactly that input), then csmask when blue/green/red/NIR are, else the spectral tests.
    """
    if requested == "spectral":
        return "spectral", "decloud.detect.detector=spectral"
    if requested in ("csmask", "s2cloudless"):
        if not package_installed(requested):
            pkg = "ukis-csmask onnxruntime" if requested == "csmask" else "s2cloudless"
            raise DetectorUnavailable(f"decloud.detect.detector={requested}: the package is not installed "
                                      f"(pip install {pkg}, or pip install 'vidrestore[geo]')")
        lack = missing_roles(requested, roles)
        if lack:
            raise DetectorUnavailable(f"decloud.detect.detector={requested}: bands {', '.join(lack)} are not mapped "
                                      f"(--bands {','.join(f'{r}=N' for r in lack)})")
        return requested, f"decloud.detect.detector={requested}"
    reasons = []
    for name in ("s2cloudless", "csmask"):
        lack = missing_roles(name, roles)
        if lack:
            reasons.append(f"{name}: bands {', '.join(lack)} not mapped")
        elif not package_installed(name):
            reasons.append(f"{name}: package not installed")
        else:
            bands = S2CLOUDLESS_BANDS if name == "s2cloudless" else CSMASK_ROLES4
            return name, f"auto: {name} has its bands ({', '.join(bands)}) and is installed"
    return "spectral", "auto: spectral tests (" + "; ".join(reasons) + ")"


# --------------------------------------------------------------------------- reflectance scale


def learn_scale(stack: np.ndarray, roles: dict[str, int]) -> float:
    """Pixel value meaning reflectance 1, learned from the band statistics of a series (T, B, H, W).

    The per-pixel temporal median of the visible bands is the clear surface wherever fewer than half
    the dates are cloudy; its spatial median is taken to be typical land, :data:`LAND_VISIBLE`.
    Sensors differ in gain and units (DN, reflectance x 10000, x 255) by far more than land
    differs from land, so this picks the right order of magnitude where the dtype cannot.
    """
    vis = [roles[r] for r in ("blue", "green", "red") if r in roles] or list(range(stack.shape[1]))
    step = max(1, int(np.ceil(np.sqrt(stack.shape[2] * stack.shape[3] / 40000))))
    sub = stack[:, vis, ::step, ::step].astype(np.float32).mean(axis=1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(sub, axis=0)
    med = med[np.isfinite(med) & (med > 0)]
    if med.size == 0:
        return 1.0
    return float(np.median(med)) / LAND_VISIBLE


# --------------------------------------------------------------------------- csmask


@dataclass(frozen=True)
class _CsmaskModel:
    session: object
    input_name: str
    mean: np.ndarray  # (B,)
    std: np.ndarray
    roles: tuple[str, ...]


@lru_cache(maxsize=4)
def _csmask_model(bands: int, level: str, threads: int) -> _CsmaskModel:
    import importlib.util

    import onnxruntime as ort

    spec = importlib.util.find_spec("ukis_csmask")
    folder = Path(spec.origin).parent  # type: ignore[union-attr,arg-type]
    onnx = folder / f"model_{bands}b_{level}.onnx"
    meta = json.loads(onnx.with_suffix(".json").read_text())
    stats = meta["data"]["dataset_statistics"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx), sess_options=so, providers=["CPUExecutionProvider"])
    names = tuple({"swir16": "swir1", "swir22": "swir2"}.get(n, n) for n in stats["band_names"])
    return _CsmaskModel(session, session.get_inputs()[0].name, np.array(stats["img"][0], np.float32)[:, None, None],
                        np.array(stats["img"][1], np.float32)[:, None, None], names)


def _taper(size: int, overlap: int) -> np.ndarray:
    """2-D blending weight of a tile: 1 inside, a linear ramp over the ``overlap`` border."""
    ramp = np.ones(size, np.float32)
    if overlap > 0:
        r = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        ramp[:overlap] = r
        ramp[-overlap:] = r[::-1]
    return np.outer(ramp, ramp)


def _tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    if n <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, n - tile, step))
    starts.append(n - tile)
    return starts


def csmask_probabilities(x: np.ndarray, model: _CsmaskModel, *, batch: int = 4) -> np.ndarray:
    """Class probabilities (3, H, W) (clear, cloud, shadow) of one date ``x`` (B, H, W) in reflectance."""
    b, h, w = x.shape
    z = (np.nan_to_num(x, nan=0.0) - model.mean) / model.std
    ph, pw = max(h, TILE), max(w, TILE)
    if (ph, pw) != (h, w):  # small images: mirror up to one tile
        z = np.pad(z, ((0, 0), (0, ph - h), (0, pw - w)), mode="reflect" if min(h, w) > 1 else "edge")
    acc = np.zeros((3, ph, pw), np.float32)
    wsum = np.zeros((ph, pw), np.float32)
    win = _taper(TILE, OVERLAP)
    tiles = [(r, c) for r in _tile_starts(ph, TILE, OVERLAP) for c in _tile_starts(pw, TILE, OVERLAP)]
    for i in range(0, len(tiles), batch):
        part = tiles[i:i + batch]
        inp = np.stack([z[:, r:r + TILE, c:c + TILE] for r, c in part]).astype(np.float32)
        logits = model.session.run(None, {model.input_name: inp})[0]
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        for (r, c), pk in zip(part, p):
            acc[:, r:r + TILE, c:c + TILE] += pk * win
            wsum[r:r + TILE, c:c + TILE] += win
    return (acc / wsum)[:, :h, :w]


def detect_csmask(stack: np.ndarray, roles: dict[str, int], valid: np.ndarray, *, level: str = "l1c",
                  threads: int = 0, min_probability: float = 0.5) -> np.ndarray:
    """Classes (T, H, W) from ukis-csmask for a reflectance stack (T, B, H, W); NaN pixels NODATA.

    Six-band model when both SWIR roles are mapped, else four-band. A pixel is cloud or shadow
    only when that class is the most probable AND at least ``min_probability`` likely.
    """
    six = all(r in roles for r in CSMASK_ROLES6)
    model = _csmask_model(6 if six else 4, level, threads)
    idx = [roles[r] for r in model.roles]
    t, _, h, w = stack.shape
    out = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        if not valid[i].any():
            out[i] = NODATA
            continue
        p = csmask_probabilities(stack[i, idx], model)
        best = p.argmax(axis=0)
        sure = p.max(axis=0) >= min_probability
        out[i][(best == 1) & sure] = CLOUD
        out[i][(best == 2) & sure] = SHADOW
        out[i][~valid[i]] = NODATA
    return out


# --------------------------------------------------------------------------- s2cloudless


@lru_cache(maxsize=2)
def _s2cloudless(threshold: float):  # noqa: ANN202
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from s2cloudless import S2PixelCloudDetector
    return S2PixelCloudDetector(threshold=threshold, all_bands=False, average_over=4, dilation_size=2)


def s2cloudless_probability(stack: np.ndarray, roles: dict[str, int]) -> np.ndarray:
    """Cloud probability (T, H, W) of a TOA reflectance stack (T, B, H, W); NaN where any band is."""
    idx = [roles[b] for b in S2CLOUDLESS_BANDS]
    data = np.moveaxis(stack[:, idx], 1, -1).astype(np.float32)
    bad = ~np.isfinite(data).all(axis=-1)
    prob = _s2cloudless(0.4).get_cloud_probability_maps(np.nan_to_num(data, nan=0.0), num_threads=1)
    return np.where(bad, np.nan, prob).astype(np.float32)


def s2cloudless_clouds(stack: np.ndarray, roles: dict[str, int], valid: np.ndarray, *,
                       threshold: float = 0.4, block: int = 1, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Bool clouds (T, H, W): s2cloudless probability, averaged over a 4 px disc, at or above ``threshold``.

    ``block`` > 1 classifies the mean band values of ``block`` x ``block`` pixels, as Sentinel Hub
    runs s2cloudless in production (160 m pixels: ``block`` 16 for 10 m bands; the classifier looks
    at one pixel's ten values and clouds are scale-invariant), then brings the averaged probability
    back to the input's pixels bilinearly before the 4 px disc: ``block`` squared times fewer pixels to
    classify. ``origin`` (row, col) is where ``stack`` sits in the whole image: the cells lie on the
    image's grid of ``block`` multiples, so the blocks of a tiled run agree where they overlap.
    """
    import cv2

    t, _, h, w = stack.shape
    if block > 1:
        idx = [roles[b] for b in S2CLOUDLESS_BANDS]
        pre = (origin[0] % block, origin[1] % block)  # pixels of the first cell that lie before the stack
        coarse = np.stack([np.stack([_block_mean(stack[i, j], valid[i], block, pre) for j in idx]) for i in range(t)])
        prob = s2cloudless_probability(coarse, {b: k for k, b in enumerate(S2CLOUDLESS_BANDS)})
    else:
        prob = s2cloudless_probability(stack, roles)
    det = _s2cloudless(threshold)
    out = np.zeros((t, h, w), bool)
    for i in range(t):
        p = np.nan_to_num(prob[i], nan=0.0)
        if block > 1:  # cell centres back onto their pixels: the padded grid, cropped
            p = cv2.resize(p, (p.shape[1] * block, p.shape[0] * block), interpolation=cv2.INTER_LINEAR)
            p = np.ascontiguousarray(p[pre[0]:pre[0] + h, pre[1]:pre[1] + w])
        if det.average_over:  # the disc is in the input's pixels whatever the block
            p = cv2.filter2D(p, -1, det.conv_filter, borderType=cv2.BORDER_REFLECT)
        out[i] = (p >= threshold) & valid[i]
    return out


def _block_mean(band: np.ndarray, valid: np.ndarray, block: int, pre: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Mean of the valid, finite pixels of ``band`` (H, W) in each ``block`` x ``block`` cell, the first
    cell starting ``pre`` (rows, cols) pixels before the band (the edge cells cover what is there);
    NaN where a cell has none."""
    h, w = band.shape
    (r, c), here = pre, (slice(pre[0], pre[0] + h), slice(pre[1], pre[1] + w))
    gh, gw = -(-(h + r) // block), -(-(w + c) // block)
    ok = np.zeros((gh * block, gw * block), bool)
    ok[here] = valid & np.isfinite(band)
    v = np.zeros(ok.shape, np.float64)
    v[here] = np.where(ok[here], band, 0.0)
    total = v.reshape(gh, block, gw, block).sum(axis=(1, 3))
    count = ok.reshape(gh, block, gw, block).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)


__all__ = ["DETECTORS", "DetectorUnavailable", "choose_detector", "learn_scale", "detect_csmask",
           "csmask_probabilities", "s2cloudless_clouds", "s2cloudless_probability", "CLEAR"]
