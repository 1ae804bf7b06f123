"""Per-pixel evidence of the dust detector: how the frame differs from its aligned neighbours, and which
pixels are blotch seeds.

:class:`Differences` holds the luma differences (3x3 means, less their slowly varying part);
:class:`Levels` the thresholds measured on them; :func:`seeds` runs the per-pixel tests of the
package docstring (:mod:`vidrestore.film.dust`) on the few pixels that could pass them and returns
the seeds, the pixels they may grow into and the pixels that differ themselves, as bool ``(H, W)``
arrays for :mod:`.regions`. :func:`clip_masks` marks where the scan is clipped, so exposure
correction is not taken for dirt there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vidrestore.film.ops import box_blur, dilate, luma, robust_sigma

if TYPE_CHECKING:
    import torch

    from vidrestore.film.dust.detect import Neighbourhood
    from vidrestore.film.dust.params import DustParams

SAME_PICTURE = 1.5 / 255  # mean luma difference under which two frames are one picture (a telecine's repeat)

_Seeds = tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]


def local_bias(diff: torch.Tensor, valid: torch.Tensor, *, block: int = 8) -> torch.Tensor:
    """Slowly varying part of ``diff`` ``(K, 1, H, W)`` over valid pixels: 8x8 block means, 5x5 median, upsampled.

    What deflicker left of a brightness difference between two frames (regional flicker, the ends
    of a shot) is smooth; subtracting it keeps a whole bright region from passing the threshold.
    The median over blocks ignores the few blocks a blotch fills.
    """
    import cv2
    import torch
    import torch.nn.functional as F

    h, w = diff.shape[-2:]
    size = (max(1, h // block), max(1, w // block))
    v = valid.float()
    num = F.adaptive_avg_pool2d(diff * v, size)
    den = F.adaptive_avg_pool2d(v, size)
    means = torch.where(den > 0.2, num / den.clamp(min=1e-6), torch.zeros_like(num))
    if min(size) >= 5:
        means = torch.from_numpy(np.stack([cv2.medianBlur(m[0].cpu().numpy().astype(np.float32), 5)
                                           for m in means]))[:, None].to(diff.device)
    return F.interpolate(means, size=(h, w), mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class Differences:
    """Luma of the frame ``yc`` ``(1, 1, H, W)`` and of the warped neighbours ``yn`` ``(K, 1, H, W)``; their
    differences ``d`` (3x3 means, less :func:`local_bias`) and the neighbours' 3x3 means ``yb``."""

    yc: torch.Tensor
    yn: torch.Tensor
    bias: torch.Tensor
    d: torch.Tensor
    yb: torch.Tensor

    @classmethod
    def of(cls, center: torch.Tensor, warped: torch.Tensor, valid: torch.Tensor) -> Differences:
        yc = luma(center)
        yn = luma(warped)
        bias = local_bias(yc - yn, valid)
        return cls(yc=yc, yn=yn, bias=bias, d=box_blur(yc - yn, 3) - bias, yb=box_blur(yn, 3))

    @property
    def raw(self) -> torch.Tensor:
        """Per-pixel differences (no 3x3 mean): a pixel of a blotch differs itself, not only its 3x3 mean."""
        return self.yc - self.yn - self.bias


@dataclass(frozen=True)
class Levels:
    """The frame's thresholds: ``thr`` = T, ``big`` for outliers where the flow check failed, ``big_one`` where
    one side in time is all there is; ``noise`` is the robust spread of the nearest neighbours' differences."""

    noise: float
    thr: float
    big: float
    big_one: float

    @classmethod
    def measure(cls, diff: Differences, valid: torch.Tensor, offsets: list[int], params: DustParams) -> Levels:
        """``T = max(threshold, sigmas * noise)``: strong grain raises the bar automatically."""
        near = [i for i, o in enumerate(offsets) if abs(o) == min(abs(x) for x in offsets)]
        noise = robust_sigma(diff.d[near][valid[near]])
        thr = max(params.threshold, params.sigmas * noise)
        return cls(noise=noise, thr=thr, big=max(params.override_contrast, 2.0 * thr),
                   big_one=max(params.one_sided_contrast, 2.0 * thr))


@dataclass(frozen=True)
class _Evidence:
    """Per pixel, over the neighbours in use: extreme differences and the neighbours' own range."""

    d_min: torch.Tensor
    d_max: torch.Tensor
    spread: torch.Tensor

    @classmethod
    def of(cls, d: torch.Tensor, yb: torch.Tensor, use: torch.Tensor) -> _Evidence:
        import torch

        inf = torch.tensor(float("inf"))
        spread = torch.where(use, yb, -inf).amax(0, keepdim=True) - torch.where(use, yb, inf).amin(0, keepdim=True)
        return cls(d_min=torch.where(use, d, inf).amin(0, keepdim=True),
                   d_max=torch.where(use, d, -inf).amax(0, keepdim=True), spread=spread)

    def outliers(self, ok: torch.Tensor, t: float, *, no_bright: torch.Tensor | None = None,
                 no_dark: torch.Tensor | None = None) -> torch.Tensor:
        """``ok`` pixels further than ``t`` from every neighbour (same sign) and further than their range."""
        bright = (self.d_min > t) & (self.spread < self.d_min)
        dark = (self.d_max < -t) & (self.spread < -self.d_max)
        if no_bright is not None:
            bright &= ~no_bright
        if no_dark is not None:
            dark &= ~no_dark
        return ok & (bright | dark)


def distinct_pictures(yn: torch.Tensor, valid: torch.Tensor) -> int:
    """How many different pictures the warped neighbours ``yn`` ``(N, 1, H, W)`` show: two whose mean
    luma difference over the pixels valid in both is under :data:`SAME_PICTURE` are one (a repeat)."""
    groups: list[int] = []
    for j in range(yn.shape[0]):
        for g in groups:
            both = valid[j] & valid[g]
            if bool(both.any()) and float((yn[j] - yn[g]).abs()[both].mean()) < SAME_PICTURE:
                break
        else:
            groups.append(j)
    return len(groups)


def _own(raw: torch.Tensor, use: torch.Tensor, t: float) -> torch.Tensor:
    import torch

    inf = torch.tensor(float("inf"))
    r_min = torch.where(use, raw, inf).amin(0, keepdim=True)
    r_max = torch.where(use, raw, -inf).amax(0, keepdim=True)
    return (r_min > t) | (r_max < -t)


def _any_over(mask: torch.Tensor) -> torch.Tensor:
    """``mask.any(0, keepdim=True)`` for a bool ``(K, 1, H, W)``, as K - 1 ORs (torch's reduction over dim 0 is slow)."""
    out = mask[0:1].clone()
    for j in range(1, mask.shape[0]):
        out |= mask[j:j + 1]
    return out


def _take(x: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, 1, P)``: the pixels ``pick`` (flat indices) of every plane, in order."""
    n, c = x.shape[:2]
    return x.reshape(n, c, -1)[:, :, pick].reshape(n, c, 1, -1)


def _gather(x: torch.Tensor | None, pick: torch.Tensor) -> torch.Tensor | None:
    """:func:`_take` of an optional plane (None stays None)."""
    return None if x is None else _take(x, pick)


def _scatter(values: torch.Tensor, pick: torch.Tensor, h: int, w: int) -> np.ndarray:
    """A bool ``(H, W)`` array, False but at ``pick`` where it takes ``values`` (``(1, 1, 1, P)``)."""
    out = np.zeros(h * w, dtype=bool)
    out[pick.cpu().numpy()] = values.reshape(-1).cpu().numpy()
    return out.reshape(h, w)


class _Picked:
    """The evidence at the picked pixels only, each plane ``(N, C, 1, P)``, with what the per-pixel tests share."""

    def __init__(self, pick: torch.Tensor, nb: Neighbourhood, diff: Differences, levels: Levels,
                 params: DustParams) -> None:
        import torch

        k = diff.d.shape[0]
        self.k, self.levels, self.params, self.width = k, levels, params, nb.center.shape[-1]
        self.side = torch.tensor(nb.sides, dtype=torch.int8, device=nb.center.device).view(k, 1, 1, 1)
        # one side's neighbours that are copies of one another (a telecine's repeated frame) are one picture:
        # their agreement says nothing, so one side alone must hold two different pictures
        self.distinct = {s: nb.covered is not None and distinct_pictures(
            diff.yn[[j for j in range(k) if nb.sides[j] == s]], nb.valid[[j for j in range(k) if nb.sides[j] == s]]
        ) >= 2 for s in (-1, 1)}
        self.copies = ((diff.yc - diff.yn).abs().flatten(1).mean(1) < SAME_PICTURE if k >= 4
                       else torch.zeros(k, dtype=torch.bool))
        self.d, self.yb, self.raw, self.valid = (_take(x, pick) for x in (diff.d, diff.yb, diff.raw, nb.valid))
        self.inside, self.covered, self.motion = (_gather(x, pick) for x in (nb.inside, nb.covered, nb.motion))
        clipped = nb.clipped
        white, black = (_gather(clipped[0], pick), _gather(clipped[1], pick)) if clipped is not None else (None, None)
        self.white, self.black = white, black

    def evidence(self, use: torch.Tensor) -> _Evidence:
        return _Evidence.of(self.d, self.yb, use)

    def outliers(self, ev: _Evidence, ok: torch.Tensor, t: float) -> torch.Tensor:
        """Outliers that are not a clipped area made darker (brighter) by the exposure correction."""
        return ev.outliers(ok, t, no_bright=self.black, no_dark=self.white)

    def sides_ok(self, use: torch.Tensor, ev: _Evidence) -> tuple[torch.Tensor, torch.Tensor]:
        """Where both sides give evidence, and where one side is all there is (then: strong outliers only)."""
        import torch

        side = self.side
        enough = use.sum(0, keepdim=True) >= self.params.min_neighbours
        past = (use & (side < 0)).any(0, keepdim=True)
        future = (use & (side > 0)).any(0, keepdim=True)
        one = self.covered if self.covered is not None else torch.zeros_like(past)
        one = one & ((past & self.distinct[-1]) | (future & self.distinct[1]))
        return enough & past & future, enough & ~(past & future) & one & (ev.spread < self.levels.thr)

    def slower_than(self, share: float) -> torch.Tensor | None:
        """Where the local motion is under ``share`` of the frame width per frame (None: no motion given)."""
        return None if self.motion is None else self.motion < share * self.width


def _all_valid(p: _Picked) -> tuple[_Seeds, torch.Tensor]:
    """Every valid neighbour differs with the same sign (both sides, or one side at a shot end); also the
    pixels where that test could be made, which the flow-check override must leave to it."""
    thr, big_one = p.levels.thr, p.levels.big_one
    ev = p.evidence(p.valid)
    ok, ok_one = p.sides_ok(p.valid, ev)
    if p.motion is not None:
        ok &= p.motion < p.params.max_motion * p.width
        ok_one &= p.motion < p.params.override_motion * p.width
    strong = p.outliers(ev, ok, thr) | p.outliers(ev, ok_one, big_one)
    weak = p.outliers(ev, ok | ok_one, 0.5 * thr)
    return (strong, weak, _own(p.raw, p.valid, thr / 3)), ok | ok_one


def _leave_one_out(p: _Picked, like: torch.Tensor) -> _Seeds:
    """One neighbour may agree with a strong blotch: its flow locked onto the blotch (matched it to
    something alike nearby) and the round trip closed. With all of >= 4 neighbours valid and the
    picture slow, the others (still from both sides, agreeing among themselves) decide without it,
    for strong outliers only. A neighbour that is a copy of the frame (a repeated frame of a
    telecine) is never dropped: its agreement is the truth."""
    import torch

    thr, big = p.levels.thr, p.levels.big
    slow_all = p.slower_than(p.params.override_motion)
    every = p.valid.all(0, keepdim=True) & (slow_all if slow_all is not None else torch.ones_like(like))
    strong, weak, own = (torch.zeros_like(like) for _ in range(3))
    for j in range(p.k):
        if bool(p.copies[j]):
            continue
        rest = p.valid.clone()
        rest[j] = False
        ev_j = p.evidence(rest)
        ok_j, _ = p.sides_ok(rest, ev_j)
        ok_j &= every
        strong |= p.outliers(ev_j, ok_j, big)
        weak |= p.outliers(ev_j, ok_j, thr)
        own |= ok_j & _own(p.raw, rest, thr / 3)
    return strong, weak, own


def _flow_broken(p: _Picked, tested: torch.Tensor) -> _Seeds:
    """Strong, isolated outliers where the flow check failed (the neighbours need only see the pixel inside
    their frame) in a slow picture: a blotch breaks the flow around itself."""
    thr, big = p.levels.thr, p.levels.big
    slow = p.slower_than(p.params.override_motion)
    assert p.inside is not None and slow is not None
    ev_in = p.evidence(p.inside)
    both_in, one_in = p.sides_ok(p.inside, ev_in)
    ok_in = (both_in | one_in) & ~tested & slow
    return p.outliers(ev_in, ok_in, big), p.outliers(ev_in, ok_in, thr), ok_in & _own(p.raw, p.inside, thr / 3)


def seeds(nb: Neighbourhood, diff: Differences, levels: Levels, params: DustParams
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blotch seeds (``strong``), the pixels they may grow into (``weak``) and the pixels that differ themselves
    (``own``), bool ``(H, W)`` each (see the package docstring for the tests).

    Every test is per pixel and needs some neighbour further than T / 2 from the frame: they run on
    those pixels alone (a few percent of a frame), and the results are put back in place.
    """
    h, w = nb.center.shape[-2:]
    cand = _any_over(diff.d.abs() > 0.5 * levels.thr)[0, 0]
    pick = cand.flatten().nonzero()[:, 0]
    p = _Picked(pick, nb, diff, levels, params)
    (strong, weak, own), tested = _all_valid(p)
    if p.k >= 4:
        more = _leave_one_out(p, tested)
        strong, weak, own = strong | more[0], weak | more[1], own | more[2]
    if p.inside is not None and p.motion is not None:
        more = _flow_broken(p, tested)
        strong, weak, own = strong | more[0], weak | more[1], own | more[2]
    return _scatter(strong, pick, h, w), _scatter(weak, pick, h, w), _scatter(own, pick, h, w)


def clip_masks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(white, black)`` bool ``(1, 1, H, W)``: clipped areas of the scanned frame wider than 5 px, grown by 3 px,
    where a pixel itself or one next to it is clipped.

    Narrower clipped spots are left out: a white speck of dust is clipped too, and it is dirt. So is
    a dark speck *inside* a clipped highlight (dirt on a white sky): its own pixels are not clipped,
    and the 3x3 means of the detector carry a clipped pixel's difference one pixel further, no more.
    """

    def wide(m: torch.Tensor) -> torch.Tensor:
        return dilate(~dilate(~m, 2), 3) & dilate(m, 1)  # opening by a 5x5 square, grown, near clipped pixels

    return wide(x.amax(1, keepdim=True) >= 0.985), wide(x.amin(1, keepdim=True) <= 0.015)
