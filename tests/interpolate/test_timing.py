"""Output timing: exact pts for factors and target rates, VFR kept, how the output ends."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vidrestore.errors import ConfigError
from vidrestore.interpolate.timing import Retimer, fraction_gcd, parse_rate


def plan(times: list[Fraction], **kwargs) -> tuple[Retimer, list]:
    r = Retimer(**kwargs)
    slots = []
    for t in times:
        slots += r.push(t)
    slots += r.finish()
    return r, slots


def cfr(n: int, rate: Fraction, start: Fraction = Fraction(0)) -> list[Fraction]:
    return [start + Fraction(i) / rate for i in range(n)]


@pytest.mark.parametrize("factor", [2, 3, 4, 5])
def test_factor_places_inputs_at_multiples_and_holds_the_last(factor: int) -> None:
    tb = Fraction(1, 12800)
    r, slots = plan(cfr(10, Fraction(25)), time_base=tb, factor=factor, nominal_rate=Fraction(25))
    assert r.time_base == tb / factor
    assert len(slots) == factor * 10 == r.expected_count(10)
    for k in range(10):
        s = slots[factor * k]
        assert (s.left, s.t, s.hold) == (k, 0, False)  # input k is output factor*k, unchanged
        assert s.pts * r.time_base == Fraction(k, 25)
    between = [s for s in slots[:factor * 9] if not s.is_copy]
    assert len(between) == 9 * (factor - 1)
    assert [s.t for s in slots[1:factor]] == [Fraction(j, factor) for j in range(1, factor)]
    # evenly spaced, exactly: one output step = 1 / (25 factor) s
    steps = {(b.pts - a.pts) * r.time_base for a, b in zip(slots, slots[1:])}
    assert steps == {Fraction(1, 25 * factor)}
    # the tail repeats the last input until the end of its display time
    assert all(s.hold and s.left == 9 for s in slots[factor * 9 + 1:])
    assert (slots[-1].pts * r.time_base + Fraction(1, 25 * factor)) == Fraction(10, 25)
    assert r.output_rate == 25 * factor


def test_factor_end_last_stops_on_the_last_input() -> None:
    r, slots = plan(cfr(6, Fraction(24)), time_base=Fraction(1, 24), factor=3, end="last")
    assert len(slots) == 3 * 5 + 1 == r.expected_count(6)
    assert slots[-1].left == 5 and slots[-1].is_copy and not slots[-1].hold


def test_vfr_timeline_is_kept_and_new_frames_sit_between_their_sources() -> None:
    tb = Fraction(1, 1000)
    times = [Fraction(p, 1000) for p in (0, 33, 50, 117, 133, 200, 290)]
    r, slots = plan(times, time_base=tb, factor=2, nominal_rate=Fraction(30))
    assert r.time_base == Fraction(1, 2000)
    copies = [s for s in slots if s.is_copy and not s.hold]
    assert [s.pts * r.time_base for s in copies] == times
    for k in range(len(times) - 1):
        mid = slots[2 * k + 1]
        assert mid.pts * r.time_base == (times[k] + times[k + 1]) / 2
    # last frame held for the last pts step (90 ms): one hold at +45 ms
    assert slots[-1].hold and slots[-1].pts * r.time_base == Fraction(290 + 45, 1000)


@pytest.mark.parametrize("src, dst, tb", [
    (Fraction(24), Fraction(60), Fraction(1, 12288)),
    (Fraction(24000, 1001), Fraction(60000, 1001), Fraction(1, 24000)),
    (Fraction(25), Fraction(30), Fraction(1, 12800)),
    (Fraction(30), Fraction(24), Fraction(1, 15360)),
])
def test_target_rate_count_and_even_spacing(src: Fraction, dst: Fraction, tb: Fraction) -> None:
    n = 48
    r, slots = plan(cfr(n, src), time_base=tb, rate=dst, nominal_rate=src)
    duration = Fraction(n) / src
    expected = -(-duration * dst // 1)  # ceil
    assert len(slots) == expected == r.expected_count(n, duration)
    times = [s.pts * r.time_base for s in slots]
    assert times[0] == 0
    assert {b - a for a, b in zip(times, times[1:])} == {1 / dst}  # exactly evenly spaced
    for s, t in zip(slots, times):
        base = Fraction(s.left) / src
        if not s.hold:
            assert base + s.t / src == t  # each frame placed exactly between its two sources
    assert r.output_rate == dst


def test_24_to_60_pattern_copies_every_other_source() -> None:
    """2.5 output frames per input: every even input lands exactly on an output time and is copied."""
    _, slots = plan(cfr(8, Fraction(24)), time_base=Fraction(1, 24), rate=Fraction(60))
    copies = [s.left for s in slots if s.is_copy and not s.hold]
    assert copies == [0, 2, 4, 6]
    assert [str(s.t) for s in slots[:5]] == ["0", "2/5", "4/5", "1/5", "3/5"]


def test_target_rate_with_start_offset_and_odd_time_base() -> None:
    times = cfr(10, Fraction(30000, 1001), start=Fraction(7, 1000))
    r, slots = plan(times, time_base=Fraction(1, 1000), rate=Fraction(60))
    assert slots[0].pts * r.time_base == Fraction(7, 1000)
    assert (r.time_base / fraction_gcd(Fraction(1, 1000), Fraction(1, 60))) == 1
    stamps = [s.pts for s in slots]
    assert stamps == sorted(set(stamps))


def test_parse_rate_and_bad_values() -> None:
    assert parse_rate("60000/1001") == Fraction(60000, 1001)
    assert parse_rate("59.94") == Fraction(5994, 100)
    assert parse_rate(60) == 60
    for bad in ("0", "-24", "abc", "1/0"):
        with pytest.raises(ConfigError):
            parse_rate(bad)
    with pytest.raises(ConfigError):
        Retimer(time_base=Fraction(1, 25), factor=2, rate=Fraction(50))
    with pytest.raises(ConfigError):
        Retimer(time_base=Fraction(1, 25), factor=2, end="sometimes")
    r = Retimer(time_base=Fraction(1, 25), factor=2)
    r.push(Fraction(1))
    with pytest.raises(ValueError):
        r.push(Fraction(1))  # times must increase


def test_huge_time_base_falls_back_to_a_fine_exact_grid() -> None:
    """A source time base whose lcm with 1/F would overflow MP4's 32-bit timescale: 1/F stays exact."""
    tb = Fraction(1, 2147483629)  # a prime near 2**31
    times = [Fraction(round(i * 2147483629 / 30), 2147483629) for i in range(6)]
    r, slots = plan(times, time_base=tb, rate=Fraction(60))
    assert r.time_base.denominator <= 2**31 - 1
    assert (Fraction(1, 60) / r.time_base).denominator == 1
    stamps = [s.pts for s in slots]
    assert len({b - a for a, b in zip(stamps, stamps[1:])}) == 1  # still evenly spaced
    assert abs(stamps[0] * r.time_base - times[0]) < Fraction(1, 90000)
