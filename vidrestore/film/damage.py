"""Synthetic film damage at known positions, and the scores that compare a detector with it.

The film-damage benchmark takes clean real frames and renders, in this order:

1. **Flicker**: every frame's exposure is multiplied by a gain drawn uniformly from
   ``1 +- flicker`` (default +-15 %).
2. **Line scratches**: thin (1-2 px) near-vertical lines at a fixed place on the film (they stay put
   while the picture moves), drifting by a fraction of a pixel per frame, slightly slanted,
   spanning most of the frame height, bright (emulsion scraped off the negative) or dark, blended
   with an opacity that varies along the line.
3. **Dust and dirt**: blobs that appear in one frame only: irregular ellipses of 1.5-6 px radius,
   dark (dirt) or bright (dust on the negative), nearly opaque, with soft edges.
4. **Grain**: Gaussian noise of ``grain`` (default 8/255) per pixel and channel.

Everything is drawn from one seed, so the damage is reproducible and its ground truth is known:
:class:`Damage` carries the per-frame dust alpha, the scratch alpha and the flicker gains.
Frames are ``(H, W, 3)`` uint8 RGB in and out; the maths is float in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class DamageSpec:
    """How much damage to render (defaults: the issue's benchmark)."""

    flicker: float = 0.15  # gain drawn from [1 - flicker, 1 + flicker] per frame
    grain: float = 8.0 / 255.0  # Gaussian sigma in [0, 1] units
    dust_per_megapixel: float = 120.0  # blobs per frame per 1e6 pixels (at least ``dust_min`` per frame)
    dust_min: int = 2
    dust_radius: tuple[float, float] = (1.5, 6.0)  # px
    scratches: int = 2  # line scratches over the clip
    scratch_width: tuple[float, float] = (1.0, 2.0)  # px
    scratch_opacity: tuple[float, float] = (0.45, 0.8)
    seed: int = 0


@dataclass
class Damage:
    """The damaged frames and their ground truth."""

    frames: list[np.ndarray]  # uint8 (H, W, 3)
    gains: np.ndarray  # (T,) flicker gain per frame
    dust_alpha: list[np.ndarray]  # float32 (H, W) per frame, opacity of dust/dirt
    dust_labels: list[np.ndarray]  # int32 (H, W) per frame: blob id (0 = none)
    scratch_alpha: list[np.ndarray]  # float32 (H, W) per frame
    blobs: list[int] = field(default_factory=list)  # blobs rendered per frame
    contrast: list[dict[int, float]] = field(default_factory=list)  # per frame: blob id -> mean |luma change|

    def dust_mask(self, index: int, level: float = 0.5) -> np.ndarray:
        return self.dust_alpha[index] >= level

    def scratch_mask(self, index: int, level: float = 0.3) -> np.ndarray:
        return self.scratch_alpha[index] >= level


def _blob(rng: np.random.Generator, height: int, width: int, radius: tuple[float, float]
          ) -> tuple[np.ndarray, slice, slice]:
    """One irregular soft blob: alpha patch and where it goes."""
    r = rng.uniform(*radius)
    ratio = rng.uniform(0.45, 1.0)
    angle = rng.uniform(0, np.pi)
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    half = int(np.ceil(r * 1.6)) + 2
    y0, y1 = max(0, int(cy) - half), min(height, int(cy) + half + 1)
    x0, x1 = max(0, int(cx) - half), min(width, int(cx) + half + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    theta = np.arctan2(v, u)
    # an irregular outline: radius modulated by a few random harmonics
    wobble = 1.0 + sum(rng.uniform(-0.18, 0.18) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    dist = np.sqrt((u / r) ** 2 + (v / (r * ratio)) ** 2) / wobble
    edge = max(0.6 / r, 0.08)  # about half a pixel of soft edge
    alpha = np.clip((1.0 - dist) / edge + 0.5, 0.0, 1.0) * rng.uniform(0.85, 1.0)
    return alpha.astype(np.float32), slice(y0, y1), slice(x0, x1)


def _scratch_tracks(rng: np.random.Generator, n: int, frames: int, height: int, width: int,
                    spec: DamageSpec) -> list[dict]:
    tracks = []
    for _ in range(n):
        length = rng.uniform(0.6, 1.0) * height
        top = rng.uniform(0, height - length)
        start = rng.integers(0, max(1, frames // 3) + 1)
        stop = frames if rng.random() < 0.7 else int(rng.integers(min(frames, start + max(3, frames // 2)), frames + 1))
        tracks.append({
            "x": rng.uniform(0.1, 0.9) * width,
            "drift": rng.uniform(-0.3, 0.3),  # px per frame
            "slant": rng.uniform(-0.01, 0.01),  # px per row
            "top": top, "bottom": top + length,
            "width": rng.uniform(*spec.scratch_width),
            "opacity": rng.uniform(*spec.scratch_opacity),
            "value": 0.95 if rng.random() < 0.6 else 0.05,
            "start": int(start), "stop": int(max(stop, start + 1)),
            "phase": rng.uniform(0, 2 * np.pi),
        })
    return tracks


def _scratch_alpha(track: dict, t: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    yy = np.arange(height, dtype=np.float32)
    centre = track["x"] + track["drift"] * t + track["slant"] * (yy - height / 2)
    xx = np.arange(width, dtype=np.float32)[None, :]
    dist = np.abs(xx - centre[:, None])
    profile = np.clip(track["width"] / 2 + 0.5 - dist, 0.0, 1.0)
    # opacity varies slowly along the line and from frame to frame
    along = 0.75 + 0.25 * np.sin(yy / height * 7.0 + track["phase"] + 0.7 * t)
    along *= rng.uniform(0.8, 1.0)
    inside = ((yy >= track["top"]) & (yy <= track["bottom"])).astype(np.float32)
    return (profile * (track["opacity"] * along * inside)[:, None]).astype(np.float32)


def render_damage(clean: Sequence[np.ndarray], spec: DamageSpec | None = None) -> Damage:
    """Damage a clip of clean uint8 RGB frames; see the module docstring for the model."""
    spec = spec or DamageSpec()
    if not clean:
        raise ValueError("render_damage: no frames")
    rng = np.random.default_rng(spec.seed)
    height, width = clean[0].shape[:2]
    n = len(clean)
    gains = rng.uniform(1.0 - spec.flicker, 1.0 + spec.flicker, size=n)
    tracks = _scratch_tracks(rng, spec.scratches, n, height, width, spec)
    per_frame = max(spec.dust_min, int(round(spec.dust_per_megapixel * height * width / 1e6)))
    out = Damage(frames=[], gains=gains, dust_alpha=[], dust_labels=[], scratch_alpha=[])
    for t, frame in enumerate(clean):
        img = frame.astype(np.float32) / 255.0 * np.float32(gains[t])
        scratch = np.zeros((height, width), np.float32)
        for tr in tracks:
            if not tr["start"] <= t < tr["stop"]:
                continue
            a = _scratch_alpha(tr, t, height, width, rng)
            img = img * (1 - a[..., None]) + tr["value"] * a[..., None]
            scratch = np.maximum(scratch, a)
        dust = np.zeros((height, width), np.float32)
        labels = np.zeros((height, width), np.int32)
        count = int(rng.poisson(per_frame)) if per_frame > 3 else per_frame
        contrast: dict[int, float] = {}
        for b in range(count):
            alpha, sy, sx = _blob(rng, height, width, spec.dust_radius)
            value = rng.uniform(0.0, 0.12) if rng.random() < 0.6 else rng.uniform(0.88, 1.0)
            a = alpha[..., None]
            before = img[sy, sx] @ _LUMA
            img[sy, sx] = img[sy, sx] * (1 - a) + value * a
            core = alpha >= 0.5
            if core.any():
                contrast[b + 1] = float(np.abs(img[sy, sx] @ _LUMA - before)[core].mean())
            dust[sy, sx] = np.maximum(dust[sy, sx], alpha)
            labels[sy, sx] = np.where(core, b + 1, labels[sy, sx])
        img = img + rng.normal(0.0, spec.grain, size=img.shape).astype(np.float32)
        out.frames.append(np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8))
        out.dust_alpha.append(dust)
        out.dust_labels.append(labels)
        out.scratch_alpha.append(scratch)
        out.blobs.append(count)
        out.contrast.append(contrast)
    return out


def camera_motion_clip(still: np.ndarray, *, frames: int, size: tuple[int, int], seed: int = 0,
                       speed: float = 2.5) -> list[np.ndarray]:
    """Frames ``size = (w, h)`` cut from a still along a smooth pan with a little zoom and rotation.

    Sub-pixel positions use bicubic interpolation (OpenCV ``warpAffine``); the path stays inside the still.
    """
    import cv2

    rng = np.random.default_rng(seed)
    h_img, w_img = still.shape[:2]
    w, h = size
    if w > w_img - 8 or h > h_img - 8:
        raise ValueError(f"camera_motion_clip: still {w_img}x{h_img} too small for {w}x{h} frames")
    angle = rng.uniform(0, 2 * np.pi)
    vx, vy = speed * np.cos(angle), speed * np.sin(angle)
    margin_x, margin_y = (w_img - w) / 2 - 4, (h_img - h) / 2 - 4
    span_x, span_y = abs(vx) * frames / 2, abs(vy) * frames / 2
    vx *= min(1.0, margin_x / max(span_x, 1e-6))
    vy *= min(1.0, margin_y / max(span_y, 1e-6))
    out = []
    for t in range(frames):
        s = t - (frames - 1) / 2
        cx = w_img / 2 + vx * s + 1.5 * np.sin(0.4 * t)
        cy = h_img / 2 + vy * s + 1.0 * np.cos(0.3 * t)
        zoom = 1.0 + 0.002 * s
        rot = 0.05 * np.sin(0.2 * t)  # degrees
        m = cv2.getRotationMatrix2D((float(cx), float(cy)), rot, zoom)
        m[0, 2] += w / 2 - cx
        m[1, 2] += h / 2 - cy
        out.append(cv2.warpAffine(still, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return out


# --------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class DetectionScore:
    """Dust detection against the rendered truth, summed over frames.

    * ``blob_recall``: share of rendered blobs (pixels of opacity >= 0.5) of which at least half
      the pixels were detected.
    * ``visible_recall``: the same over the blobs that change the luma by at least ``visible``
      (default 0.1, 25 levels of 255) on average: a dark speck on a black coat, or a white one on
      white sky, is in the truth but not in the picture.
    * ``pixel_recall``: share of dust pixels (opacity >= 0.5) detected.
    * ``precision``: share of detected pixels that lie on rendered damage (dust opacity >= 0.1
      or scratch opacity >= 0.1, widened by ``tolerance`` px): everything else is a false alarm
      on clean picture.
    """

    blobs: int
    blobs_found: int
    visible_blobs: int
    visible_found: int
    dust_pixels: int
    dust_pixels_found: int
    detected_pixels: int
    detected_on_damage: int

    @property
    def blob_recall(self) -> float:
        return self.blobs_found / self.blobs if self.blobs else 1.0

    @property
    def visible_recall(self) -> float:
        return self.visible_found / self.visible_blobs if self.visible_blobs else 1.0

    @property
    def pixel_recall(self) -> float:
        return self.dust_pixels_found / self.dust_pixels if self.dust_pixels else 1.0

    @property
    def precision(self) -> float:
        return self.detected_on_damage / self.detected_pixels if self.detected_pixels else 1.0


def score_detection(damage: Damage, detected: Sequence[np.ndarray], *, tolerance: int = 1, visible: float = 0.1,
                    frames: Sequence[int] | None = None) -> DetectionScore:
    """Compare per-frame detection masks (bool ``(H, W)``) with the rendered dust (see :class:`DetectionScore`)."""
    import cv2

    idx = list(range(len(detected))) if frames is None else list(frames)
    kernel = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    blobs = found = vis = vis_found = dpx = dfound = det = on = 0
    for i in idx:
        mask = np.asarray(detected[i], dtype=bool)
        labels = damage.dust_labels[i]
        for b in np.unique(labels[labels > 0]):
            sel = labels == b
            hit = int(mask[sel].mean() >= 0.5)
            blobs += 1
            found += hit
            if damage.contrast and damage.contrast[i].get(int(b), 0.0) >= visible:
                vis += 1
                vis_found += hit
        core = damage.dust_alpha[i] >= 0.5
        dpx += int(core.sum())
        dfound += int((core & mask).sum())
        truth = ((damage.dust_alpha[i] >= 0.1) | (damage.scratch_alpha[i] >= 0.1)).astype(np.uint8)
        truth = cv2.dilate(truth, kernel) > 0
        det += int(mask.sum())
        on += int((mask & truth).sum())
    return DetectionScore(blobs=blobs, blobs_found=found, visible_blobs=vis, visible_found=vis_found,
                          dust_pixels=dpx, dust_pixels_found=dfound, detected_pixels=det, detected_on_damage=on)
