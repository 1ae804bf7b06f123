"""Pictures for a person to judge a restoration: side-by-side / split-wipe frames and PNG sheets.

Everything works on RGB ``(H, W, 3)`` uint8 arrays (uint16 frames are reduced to 8 bits for
display). Two clips of different sizes are scaled to match:

* ``side`` / ``stack``: both panels get the same height (side) or width (stack), aspect kept;
  the common size is the larger clip's, or ``height`` when given.
* ``wipe``: both are scaled to the same size (the larger clip's, or ``height`` with the
  output's aspect); the left part shows A, the right part B, split by a vertical line at
  ``position`` (0..1) -- fixed, or sweeping left and right over the clip.

Labels are drawn with ``cv2.putText`` in a dark box at the top-left of each panel (wipe: one
label each side). A sheet (:func:`make_sheet`) has one row per chosen frame: A, B, then a zoomed
crop of each (nearest-neighbour, so pixels stay visible) of a region marked on both frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vidrestore.errors import ConfigError, MediaError
from vidrestore.types import Frame

LAYOUTS = ("side", "stack", "wipe")
FILTERS = ("bicubic", "nearest", "area", "lanczos")
#: Separator between panels (px) and its colour.
GAP = 4
GAP_COLOR = (255, 255, 255)
LINE_COLOR = (255, 220, 0)
BOX_COLOR = (255, 64, 64)


def to_u8(rgb: np.ndarray) -> np.ndarray:
    """uint8 as is, uint16 -> uint8 with rounding (display only)."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    raise ValueError(f"expected uint8 or uint16 RGB, got {rgb.dtype}")


def _even(n: float) -> int:
    return max(2, int(round(n / 2.0)) * 2)


def scale_to(rgb: np.ndarray, size: tuple[int, int], *, filt: str = "bicubic") -> np.ndarray:
    """Resize ``(H, W, 3)`` uint8 to ``size = (w, h)`` with ``filt`` (area is used to shrink by default)."""
    import cv2

    w, h = size
    if rgb.shape[1] == w and rgb.shape[0] == h:
        return rgb
    shrink = w * h < rgb.shape[0] * rgb.shape[1]
    codes = {"bicubic": cv2.INTER_AREA if shrink else cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST,
             "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4}
    if filt not in codes:
        raise ConfigError(f"scale filter {filt!r} is not one of {', '.join(FILTERS)}")
    return np.ascontiguousarray(cv2.resize(rgb, (w, h), interpolation=codes[filt]))


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Geometry of a comparison frame, fixed for a whole clip (sizes are even for 4:2:0 video)."""

    mode: str
    size_a: tuple[int, int]  # (w, h) each panel is scaled to
    size_b: tuple[int, int]
    width: int
    height: int


def plan_layout(size_a: tuple[int, int], size_b: tuple[int, int], *, mode: str = "side",
                height: int | None = None) -> Layout:
    """Panel and canvas sizes for two clips of sizes ``(w, h)``; see the module doc."""
    if mode not in LAYOUTS:
        raise ConfigError(f"layout {mode!r} is not one of {', '.join(LAYOUTS)}")
    for name, (w, h) in (("A", size_a), ("B", size_b)):
        if w < 1 or h < 1:
            raise ConfigError(f"clip {name} has an empty frame size {w}x{h}")
    if height is not None and height < 16:
        raise ConfigError(f"--height must be >= 16, got {height}")
    if mode == "side":
        h = _even(height or max(size_a[1], size_b[1]))
        pa = (_even(size_a[0] * h / size_a[1]), h)
        pb = (_even(size_b[0] * h / size_b[1]), h)
        return Layout(mode=mode, size_a=pa, size_b=pb, width=pa[0] + GAP + pb[0], height=h)
    if mode == "stack":
        w = _even(max(size_a[0], size_b[0]) if height is None else height * max(size_a[0] / size_a[1], 1e-9))
        pa = (w, _even(size_a[1] * w / size_a[0]))
        pb = (w, _even(size_b[1] * w / size_b[0]))
        return Layout(mode=mode, size_a=pa, size_b=pb, width=w, height=pa[1] + GAP + pb[1])
    big = size_a if size_a[0] * size_a[1] > size_b[0] * size_b[1] else size_b
    h = _even(height or big[1])
    w = _even(big[0] * h / big[1])
    return Layout(mode=mode, size_a=(w, h), size_b=(w, h), width=w, height=h)


def draw_label(img: np.ndarray, text: str, *, origin: tuple[int, int] = (0, 0), align: str = "left") -> np.ndarray:
    """Draw ``text`` in a dark box at ``origin`` (top-left corner; top-right with ``align="right"``), in place."""
    import cv2

    h = img.shape[0]
    scale = max(0.35, min(1.2, h / 600.0))
    thick = 1 if scale < 0.7 else 2
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(3, int(4 * scale))
    x0, y0 = origin
    if align == "right":
        x0 = x0 - tw - 2 * pad
    x0 = max(0, x0)
    x1, y1 = min(img.shape[1], x0 + tw + 2 * pad), min(h, y0 + th + base + 2 * pad)
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi.astype(np.uint16) * 3 // 10).astype(np.uint8)  # darken to 30%
    cv2.putText(img, text, (x0 + pad, y0 + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick,
                cv2.LINE_AA)
    return img


def sweep_position(index: int, count: int | None, period: int = 96) -> float:
    """Wipe position for frame ``index`` of a sweeping wipe: 0.1 -> 0.9 -> 0.1 over the clip
    (or every ``period`` frames when the length is unknown)."""
    n = count if count and count > 1 else period
    phase = (index % n) / max(n - 1, 1)
    return 0.1 + 0.8 * (1.0 - abs(2.0 * phase - 1.0))


def compose(a: np.ndarray, b: np.ndarray, layout: Layout, *, labels: tuple[str, str] | None = None,
            position: float = 0.5, filt: str = "bicubic") -> np.ndarray:
    """One comparison frame of A and B (RGB uint8/uint16) laid out by ``layout``."""
    pa = scale_to(to_u8(a), layout.size_a, filt=filt)
    pb = scale_to(to_u8(b), layout.size_b, filt=filt)
    canvas = np.empty((layout.height, layout.width, 3), dtype=np.uint8)
    canvas[:] = GAP_COLOR
    if layout.mode == "side":
        canvas[:pa.shape[0], :pa.shape[1]] = pa
        canvas[:pb.shape[0], pa.shape[1] + GAP:] = pb
        origins = ((0, 0), (pa.shape[1] + GAP, 0))
        aligns = ("left", "left")
    elif layout.mode == "stack":
        canvas[:pa.shape[0], :pa.shape[1]] = pa
        canvas[pa.shape[0] + GAP:, :pb.shape[1]] = pb
        origins = ((0, 0), (0, pa.shape[0] + GAP))
        aligns = ("left", "left")
    else:
        if not 0.0 <= position <= 1.0:
            raise ConfigError(f"wipe position must be in [0, 1], got {position}")
        x = int(round(position * layout.width))
        canvas[:, :x] = pa[:, :x]
        canvas[:, x:] = pb[:, x:]
        lw = max(1, layout.width // 400)
        canvas[:, max(0, x - lw):min(layout.width, x + lw)] = LINE_COLOR
        origins = ((0, 0), (layout.width, 0))
        aligns = ("left", "right")
    if labels is not None:
        for text, origin, align in zip(labels, origins, aligns):
            if text:
                draw_label(canvas, text, origin=origin, align=align)
    return canvas


# --------------------------------------------------------------------------- sheets


@dataclass(frozen=True)
class Crop:
    """A region ``(x, y, w, h)`` in the pixel coordinates of clip B (the restored one)."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def parse(cls, text: str) -> Crop:
        try:
            x, y, w, h = (int(v) for v in text.split(","))
        except ValueError as err:
            raise ConfigError(f"--crop: expected X,Y,W,H in pixels of OUTPUT, got {text!r}") from err
        if w < 2 or h < 2 or x < 0 or y < 0:
            raise ConfigError(f"--crop: expected X,Y >= 0 and W,H >= 2, got {text!r}")
        return cls(x, y, w, h)

    def clamp(self, size: tuple[int, int]) -> Crop:
        w, h = size
        cw, ch = min(self.w, w), min(self.h, h)
        return Crop(min(max(0, self.x), w - cw), min(max(0, self.y), h - ch), cw, ch)

    def scaled(self, sx: float, sy: float) -> Crop:
        return Crop(int(round(self.x * sx)), int(round(self.y * sy)),
                    max(2, int(round(self.w * sx))), max(2, int(round(self.h * sy))))


def detail_crop(rgb: np.ndarray, *, fraction: float = 0.25) -> Crop:
    """The square window (side ``fraction`` of the shorter side) with the most image detail
    (sum of gradient magnitude): where a restoration's effect is easiest to see."""
    import cv2

    gray = cv2.cvtColor(to_u8(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    h, w = gray.shape
    side = max(8, int(min(h, w) * fraction))
    mag = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    integral = cv2.integral(mag)
    step = max(1, side // 4)
    best, best_xy = -1.0, (0, 0)
    for y in range(0, h - side + 1, step):
        for x in range(0, w - side + 1, step):
            s = integral[y + side, x + side] - integral[y, x + side] - integral[y + side, x] + integral[y, x]
            if s > best:
                best, best_xy = float(s), (x, y)
    return Crop(best_xy[0], best_xy[1], side, side)


def _box(img: np.ndarray, crop: Crop) -> None:
    import cv2

    t = max(1, img.shape[0] // 240)
    cv2.rectangle(img, (crop.x, crop.y), (crop.x + crop.w - 1, crop.y + crop.h - 1), BOX_COLOR, t)


def sheet_row(a: np.ndarray, b: np.ndarray, *, height: int, crop: Crop | None, labels: tuple[str, str],
              frame_label: str, filt: str = "bicubic") -> np.ndarray:
    """One sheet row: A | B | zoom(A) | zoom(B), all ``height`` pixels high."""
    a8, b8 = to_u8(a), to_u8(b)
    bw, bh = b8.shape[1], b8.shape[0]
    crop_b = (crop or detail_crop(b8)).clamp((bw, bh))
    crop_a = crop_b.scaled(a8.shape[1] / bw, a8.shape[0] / bh).clamp((a8.shape[1], a8.shape[0]))
    zoom_a = a8[crop_a.y:crop_a.y + crop_a.h, crop_a.x:crop_a.x + crop_a.w]
    zoom_b = b8[crop_b.y:crop_b.y + crop_b.h, crop_b.x:crop_b.x + crop_b.w]
    zw = max(2, int(round(crop_b.w * height / crop_b.h)))
    panels = []
    for img, c in ((a8.copy(), crop_a), (b8.copy(), crop_b)):
        _box(img, c)
        w = max(2, int(round(img.shape[1] * height / img.shape[0])))
        panels.append(scale_to(img, (w, height), filt=filt))
    panels.append(scale_to(zoom_a, (zw, height), filt="nearest"))
    panels.append(scale_to(zoom_b, (zw, height), filt="nearest"))
    texts = (f"{labels[0]} {frame_label}", f"{labels[1]} {frame_label}",
             f"{labels[0]} zoom x{height / crop_a.h:.1f}", f"{labels[1]} zoom x{height / crop_b.h:.1f}")
    for p, text in zip(panels, texts):
        draw_label(p, text)
    return hconcat(panels)


def hconcat(panels: Sequence[np.ndarray]) -> np.ndarray:
    h = panels[0].shape[0]
    width = sum(p.shape[1] for p in panels) + GAP * (len(panels) - 1)
    out = np.empty((h, width, 3), dtype=np.uint8)
    out[:] = GAP_COLOR
    x = 0
    for p in panels:
        out[:, x:x + p.shape[1]] = p
        x += p.shape[1] + GAP
    return out


def vconcat(rows: Sequence[np.ndarray]) -> np.ndarray:
    width = max(r.shape[1] for r in rows)
    height = sum(r.shape[0] for r in rows) + GAP * (len(rows) - 1)
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[:] = GAP_COLOR
    y = 0
    for r in rows:
        out[y:y + r.shape[0], :r.shape[1]] = r
        y += r.shape[0] + GAP
    return out


def choose_frames(count: int, n: int = 4) -> list[int]:
    """``n`` frame indices spread evenly over ``count`` frames (first and last included)."""
    if count < 1:
        return []
    n = min(n, count)
    if n == 1:
        return [count // 2]
    return sorted({int(round(i * (count - 1) / (n - 1))) for i in range(n)})


def parse_frames(text: str) -> list[int]:
    try:
        frames = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError as err:
        raise ConfigError(f"--frames: expected comma-separated frame indices, got {text!r}") from err
    if not frames or frames[0] < 0:
        raise ConfigError(f"--frames: expected frame indices >= 0, got {text!r}")
    return frames


def sheet_height(b_height: int, requested: int | None) -> int:
    """Row height of a sheet: ``requested``, else B's height capped at 360 px."""
    if requested is not None:
        if requested < 16:
            raise ConfigError(f"--height must be >= 16, got {requested}")
        return requested
    return int(min(b_height, 360)) if b_height >= 16 else 16


def make_sheet(pairs: Sequence[tuple[int, np.ndarray, np.ndarray]], *, labels: tuple[str, str],
               height: int | None = None, crop: Crop | None = None, filt: str = "bicubic") -> np.ndarray:
    """A PNG-ready sheet: one :func:`sheet_row` per ``(frame index, A, B)``."""
    if not pairs:
        raise ConfigError("no frames chosen for the sheet")
    row_h = sheet_height(pairs[0][2].shape[0], height)
    if crop is None:  # one region for every row, so rows can be compared with each other
        crop = detail_crop(pairs[0][2])
    rows = [sheet_row(a, b, height=row_h, crop=crop, labels=labels, frame_label=f"#{i}", filt=filt)
            for i, a, b in pairs]
    return vconcat(rows)


# --------------------------------------------------------------------------- pairing clips


def pair_index(a: Iterable[Frame], b: Iterable[Frame], *, partial: bool, name_a: str,
               name_b: str) -> Iterator[tuple[Frame, Frame]]:
    """Frame i of A with frame i of B; a count mismatch is a :class:`MediaError` unless ``partial``."""
    it_a, it_b = iter(a), iter(b)
    n = 0
    while True:
        fa, fb = next(it_a, None), next(it_b, None)
        if fa is None and fb is None:
            return
        if fa is None or fb is None:
            if partial:
                return
            longer, rest = (name_b, it_b) if fa is None else (name_a, it_a)
            total = n + 1 + sum(1 for _ in rest)
            raise MediaError(longer, f"has {total} frames, the other clip {n}; pass --partial to show the "
                                     f"first {n} or --match time to hold frames of the shorter clip")
        n += 1
        yield fa, fb


def pair_hold(a: Iterable[Frame], b: Iterable[Frame], *, tolerance: float) -> Iterator[tuple[Frame, Frame]]:
    """For every frame of B, the frame of A on screen at the same time (times counted from each
    clip's first frame; A's frame is held until its next one is due, ``tolerance`` seconds early).
    Suits clips of different frame rates, e.g. an interpolated B."""
    it_a = iter(a)
    cur = next(it_a, None)
    if cur is None:
        return
    nxt = next(it_a, None)
    t0_a = cur.time
    t0_b: float | None = None
    for fb in b:
        if t0_b is None:
            t0_b = fb.time
        tb = fb.time - t0_b
        while nxt is not None and nxt.time - t0_a <= tb + tolerance:
            cur, nxt = nxt, next(it_a, None)
        yield cur, fb
