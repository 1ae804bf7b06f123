"""FFmpeg colour enums (AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic, AVColorSpace)
as the names ffprobe prints, and back. PyAV exposes them as plain integers."""

from __future__ import annotations

RANGE = {0: None, 1: "tv", 2: "pc"}
PRIMARIES = {
    1: "bt709", 2: None, 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
    10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213",
}
TRANSFER = {
    1: "bt709", 2: None, 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear", 9: "log100",
    10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
    16: "smpte2084", 17: "smpte428", 18: "arib-std-b67",
}
MATRIX = {
    0: "gbr", 1: "bt709", 2: None, 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
    9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp",
}

UNSPECIFIED = {"range": 0, "primaries": 2, "transfer": 2, "matrix": 2}


def name_of(table: dict[int, str | None], value: object) -> str | None:
    try:
        return table.get(int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def value_of(table: dict[int, str | None], name: str | None, default: int) -> int:
    if name is None:
        return default
    for k, v in table.items():
        if v == name:
            return k
    return default


# swscale's matrix choice for YUV <-> RGB (PyAV's reformat takes these names).
SWS_COLORSPACE = {
    "bt709": "ITU709",
    "fcc": "FCC",
    "bt470bg": "ITU601",
    "smpte170m": "SMPTE170M",
    "smpte240m": "SMPTE240M",
    "bt2020nc": "DEFAULT",  # refined below when PyAV knows BT.2020
    "bt2020c": "DEFAULT",
}
