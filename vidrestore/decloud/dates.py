"""Acquisition dates from file names and GeoTIFF tags.

Names: the first token that reads as a calendar date, in the forms ``YYYYMMDD``, ``YYYY-MM-DD``,
``YYYY_MM_DD`` with an optional time (``T103015``, ``_10:30:15``), or a user strptime format
(``date_format``, e.g. ``"%Y%j"`` for Landsat day-of-year). Tags: the TIFF ``DATETIME`` tag and
keys such as ``ACQUISITION_DATE``, ``DATE_ACQUIRED``, ``SENSING_TIME``, ``datetime``.
All dates are naive ``datetime`` values (UTC is assumed; a time zone suffix is dropped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

# YYYY[-_]MM[-_]DD, optionally followed by [T_ ]HH[:]MM[:]SS; digits must not continue on either side.
_DATE_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<s>[-_.]?)(?P<m>\d{2})(?P=s)(?P<d>\d{2})"
    r"(?:[T_ ]?(?P<H>\d{2}):?(?P<M>\d{2}):?(?P<S>\d{2})(?:\.\d+)?)?(?!\d)"
)

# strptime directive -> regex of what it matches (enough for date formats seen in EO product names)
_DIRECTIVES = {
    "%Y": r"\d{4}", "%y": r"\d{2}", "%m": r"\d{2}", "%d": r"\d{2}", "%j": r"\d{3}",
    "%H": r"\d{2}", "%M": r"\d{2}", "%S": r"\d{2}", "%b": r"[A-Za-z]{3}", "%%": "%",
}

# tag keys (upper-cased) that may hold an acquisition date, most specific first
_DATE_TAGS = (
    "ACQUISITION_DATE", "ACQUISITIONDATE", "DATE_ACQUIRED", "SENSING_TIME", "SENSING_DATE",
    "PRODUCT_START_TIME", "DATATAKE_SENSING_START", "START_TIME", "ACQUISITION_TIME",
    "DATETIME", "DATE", "TIMESTAMP", "TIME", "TIFFTAG_DATETIME",
)


def format_regex(fmt: str) -> str:
    """The regex that matches what ``datetime.strptime(..., fmt)`` parses, for the directives above."""
    out = []
    i = 0
    while i < len(fmt):
        two = fmt[i : i + 2]
        if two in _DIRECTIVES:
            out.append(_DIRECTIVES[two])
            i += 2
        elif fmt[i] == "%":
            raise ValueError(f"date_format {fmt!r}: directive {two!r} is not supported "
                             f"(use {', '.join(k for k in _DIRECTIVES if k != '%%')})")
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "".join(out)


def parse_date_text(text: str, fmt: str | None = None) -> datetime | None:
    """The first date in ``text`` (a file name, a tag value), or None."""
    if fmt:
        for m in re.finditer(r"(?<!\d)(" + format_regex(fmt) + r")(?!\d)", text):
            try:
                return datetime.strptime(m.group(1), fmt)
            except ValueError:
                continue
        return None
    for m in _DATE_RE.finditer(text):
        try:
            if m.group("H") is not None:
                return datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"]))
            return datetime(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:  # 20151345 is not a date: keep looking
            continue
    # TIFF DATETIME form "YYYY:MM:DD HH:MM:SS"
    m = re.search(r"(?<!\d)((?:19|20)\d{2}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", text)
    if m:
        try:
            return datetime(*(int(g) for g in m.groups()))
        except ValueError:
            return None
    return None


def date_from_tags(tags: Mapping[str, str], fmt: str | None = None) -> datetime | None:
    """An acquisition date from a tag mapping (dataset or band tags), or None."""
    upper = {str(k).upper(): str(v) for k, v in tags.items()}
    for key in _DATE_TAGS:
        if key in upper:
            found = parse_date_text(upper[key], fmt)
            if found is not None:
                return found
    for key, value in upper.items():  # any other key that talks about a date or time
        if "DATE" in key or "TIME" in key:
            found = parse_date_text(value, fmt)
            if found is not None:
                return found
    return None


def date_key(date: datetime) -> int:
    """``YYYYMMDD`` as an int (what the per-pixel source-date raster stores)."""
    return date.year * 10000 + date.month * 100 + date.day


def days_between(a: datetime, b: datetime) -> float:
    """Signed ``b - a`` in days (fractional)."""
    return (b - a).total_seconds() / 86400.0


def date_label(date: datetime) -> str:
    """ISO date, with the time only when it is not midnight."""
    if date.hour or date.minute or date.second:
        return date.strftime("%Y-%m-%dT%H:%M:%S")
    return date.strftime("%Y-%m-%d")
