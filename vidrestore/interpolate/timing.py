"""Where output frames go in time: exact timestamps from the source pts, for a factor or a target rate.

Conventions:

* Times are exact :class:`~fractions.Fraction` seconds (``pts * time_base``); nothing is rounded
  until an output pts is written, and output pts are integers in the output time base, which is
  chosen so that every planned time is representable exactly.
* A :class:`Slot` says what one output frame is: input frame ``left`` (copied) when ``t == 0``, or
  the frame synthesised at fraction ``t`` in (0, 1) of the way from input ``left`` to ``left + 1``.
  ``hold`` slots repeat the last input frame during its display time (there is no frame after it).

Factor N (``--factor N``): output frame ``N k`` is input frame k, unchanged, at its own time; the
N - 1 frames between inputs k and k + 1 sit at ``time_k + j (time_{k+1} - time_k) / N``, so a
variable-frame-rate source keeps its timeline and each new frame lies between its two sources.
The output time base is the source's divided by N (exact).

Target rate F (``--fps F``, e.g. ``60`` or ``60000/1001``): output times ``time_0 + k / F``; each
is placed between the two source frames around it (a time that falls exactly on a source frame
copies it).

The end (both modes): the last input frame is shown for its full duration, as in the source, so
video and audio keep the same length. With ``end: hold`` (the default) the output continues at
the output rate up to ``last time + last duration``, repeating the last input frame (there is
nothing after it to interpolate towards): ``N n`` frames for n inputs with ``--factor N``, and
``ceil((end - time_0) F)`` with ``--fps F``. With ``end: last`` the output stops on the last input
frame (``N (n - 1) + 1`` frames with a factor), and the video is then shorter than the audio by
up to one source frame. The last duration is the last pts step of the source (the frame's own
duration when the reader knows it, ``1 / avg_rate`` for a single frame).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from vidrestore.errors import ConfigError
from vidrestore.sections import choice

#: Largest output time-base denominator (MP4 stores its timescale in 32 bits).
MAX_TIMESCALE = 2**31 - 1

END_MODES = ("hold", "last")


@dataclass(frozen=True)
class Slot:
    """One output frame: ``pts`` in the output time base, made from input ``left`` at fraction ``t``."""

    pts: int
    left: int
    t: Fraction  # 0 = copy input ``left``; in (0, 1) = synthesise between ``left`` and ``left + 1``
    hold: bool = False  # repeat of the last input frame after its own time (no frame to interpolate towards)

    @property
    def is_copy(self) -> bool:
        return self.t == 0


def parse_rate(text: str | float | int | Fraction) -> Fraction:
    """``"60"``, ``"59.94"``, ``"60000/1001"`` or a number -> a positive :class:`Fraction`.

    Decimals are taken exactly, as FFmpeg does (``59.94`` is 2997/50); NTSC rates are ``60000/1001``.
    """
    try:
        rate = Fraction(text) if not isinstance(text, float) else Fraction(str(text))
    except (ValueError, ZeroDivisionError) as err:
        raise ConfigError(f"frame rate {text!r} is not a number or a ratio like 60000/1001") from err
    if rate <= 0:
        raise ConfigError(f"frame rate must be > 0, got {text!r}")
    return rate


def fraction_gcd(a: Fraction, b: Fraction) -> Fraction:
    """Largest fraction of which both ``a`` and ``b`` are integer multiples (both > 0)."""
    num = math.gcd(a.numerator, b.numerator)
    den = a.denominator * b.denominator // math.gcd(a.denominator, b.denominator)
    return Fraction(num, den)


class Retimer:
    """Plans output frames as input frames arrive (streaming; see the module docstring).

    Call :meth:`push` with each input frame's time (seconds, exact) in order; it returns the slots
    that lie before that frame. :meth:`finish` returns the rest (the last frame and its hold).
    """

    def __init__(self, *, time_base: Fraction, factor: int | None = None, rate: Fraction | None = None,
                 end: str = "hold", nominal_rate: Fraction | None = None) -> None:
        if (factor is None) == (rate is None):
            raise ConfigError("give exactly one of an interpolation factor or a target frame rate")
        if factor is not None and factor < 1:
            raise ConfigError(f"interpolation factor must be >= 1, got {factor}")
        choice("interpolate.end", end, END_MODES)
        self.factor = factor
        self.rate = rate
        self.end = end
        self.source_time_base = time_base
        self.nominal_rate = nominal_rate
        self.time_base = self._choose_time_base()
        self._times: list[Fraction] = []
        self._next_k = 0  # rate mode: index of the next output time
        self._origin: Fraction | None = None
        self._emitted = 0
        self._last_pts: int | None = None

    def anchor(self, origin: Fraction) -> None:
        """Place the output grid as a run from the video's first frame at ``origin`` (seconds) would.

        For a segment that starts later in the video (before the first :meth:`push`): with a target
        rate the output times stay ``origin + k / F``; a factor needs no origin (no effect).
        """
        if self._times:
            raise ValueError("Retimer.anchor: call it before the first push")
        self._origin = Fraction(origin)

    # ------------------------------------------------------------------ time base

    def _choose_time_base(self) -> Fraction:
        if self.factor is not None:
            return self.source_time_base / self.factor
        assert self.rate is not None  # noqa: S101 - guarded in __init__
        tb = fraction_gcd(self.source_time_base, 1 / self.rate)
        if tb.denominator > MAX_TIMESCALE:
            # a grid of about 1/90000 s on which 1/F is still exact; source times are rounded to it
            step = 1 / self.rate
            tb = step / max(1, round(step * 90000))
        return tb

    @property
    def output_rate(self) -> Fraction | None:
        """Nominal output frame rate (for the encoder), None when unknown (VFR factor of an unknown rate)."""
        if self.rate is not None:
            return self.rate
        return self.nominal_rate * self.factor if self.nominal_rate else None

    def expected_count(self, num_inputs: int, duration: Fraction | None = None) -> int | None:
        """Output frames for ``num_inputs`` inputs (factor mode exact; rate mode needs the span ``duration``)."""
        if num_inputs <= 0:
            return 0
        if self.factor is not None:
            return self.factor * num_inputs if self.end == "hold" else self.factor * (num_inputs - 1) + 1
        if duration is None:
            return None
        return max(1, math.ceil(duration * self.rate))

    # ------------------------------------------------------------------ planning

    def _pts(self, time: Fraction) -> int:
        value = time / self.time_base
        pts = value.numerator if value.denominator == 1 else round(value)  # rounded only on a capped grid
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # only reachable with a rounded (oversized) grid
        self._last_pts = pts
        return pts

    def _slot(self, time: Fraction, left: int, t: Fraction, hold: bool = False) -> Slot:
        self._emitted += 1
        return Slot(pts=self._pts(time), left=left, t=t, hold=hold)

    def push(self, time: Fraction) -> list[Slot]:
        """Add the next input frame's time; returns the output slots before it (between the previous frame and it)."""
        if self._times and time <= self._times[-1]:
            raise ValueError(f"input times must increase: {float(time)} s after {float(self._times[-1])} s")
        self._times.append(time)
        if len(self._times) == 1:
            if self._origin is None:
                self._origin = time
            elif self.rate is not None:  # anchored (a segment): first grid time at or after this frame
                self._next_k = max(0, math.ceil((time - self._origin) * self.rate))
            return []
        return list(self._interval(len(self._times) - 2))

    def _interval(self, left: int) -> Iterator[Slot]:
        t0, t1 = self._times[left], self._times[left + 1]
        span = t1 - t0
        if self.factor is not None:
            for j in range(self.factor):
                yield self._slot(t0 + span * j / self.factor, left, Fraction(j, self.factor))
            return
        while True:
            when = self._rate_time(self._next_k)
            if when >= t1:
                return
            self._next_k += 1
            if when < t0:  # cannot happen after the first frame (origin = first time); kept for safety
                continue
            yield self._slot(when, left, (when - t0) / span)

    def _rate_time(self, k: int) -> Fraction:
        assert self._origin is not None and self.rate is not None  # noqa: S101 - set by the first push
        return self._origin + Fraction(k) / self.rate

    def last_duration(self, known: Fraction | None = None) -> Fraction:
        """Display time of the last input frame: ``known`` when given, else the last pts step, else 1/avg rate."""
        if known is not None and known > 0:
            return known
        if len(self._times) >= 2:
            return self._times[-1] - self._times[-2]
        if self.nominal_rate:
            return 1 / self.nominal_rate
        return Fraction(1, 25)

    def finish(self, last_duration: Fraction | None = None) -> list[Slot]:
        """Slots from the last input frame to the end (see the module docstring for ``end``)."""
        if not self._times:
            return []
        last = len(self._times) - 1
        t_last = self._times[-1]
        out: list[Slot] = []
        duration = self.last_duration(last_duration)
        end = t_last + duration
        if self.factor is not None:
            out.append(self._slot(t_last, last, Fraction(0)))
            if self.end == "hold":
                out += [self._slot(t_last + duration * j / self.factor, last, Fraction(0), hold=True)
                        for j in range(1, self.factor)]
            return out
        # rate mode: grid times from the last input time up to its end; "last" keeps only the first
        # of them (the frame that shows the last input), "hold" all of them.
        while True:
            when = self._rate_time(self._next_k)
            if out and (self.end == "last" or when >= end):
                break
            if not out and when >= end and self.end == "hold":
                break  # rate reduction: the last input's display time holds no output time
            self._next_k += 1
            out.append(self._slot(when, last, Fraction(0), hold=when > t_last))
        return out

    @property
    def emitted(self) -> int:
        return self._emitted

    @property
    def inputs(self) -> int:
        return len(self._times)
