"""Dates from names and tags; mask-file decoding; mask buffering."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from vidrestore.decloud.dates import date_from_tags, date_key, date_label, days_between, parse_date_text
from vidrestore.decloud.masks import (
    CLEAR,
    CLOUD,
    NODATA,
    SHADOW,
    buffer_classes,
    decode_mask,
    guess_mask_type,
    make_mask_spec,
)
from vidrestore.errors import ConfigError


@pytest.mark.parametrize("text, expected", [
    ("S2A_MSIL2A_20200131T101301_N0213_R022_T33TVM", datetime(2020, 1, 31, 10, 13, 1)),
    ("scene_2021-07-04.tif", datetime(2021, 7, 4)),
    ("LE07_2023_02_15_RGB", datetime(2023, 2, 15)),
    ("T33TVM_20191301_20190105_B02", datetime(2019, 1, 5)),  # 2019-13-01 is no date: the next token is
    ("S2_20151208T100409_NDVI", datetime(2015, 12, 8, 10, 4, 9)),
    ("2017:09:23 10:05:02", datetime(2017, 9, 23, 10, 5, 2)),  # TIFF DATETIME form
    ("no date here 123456", None),
])
def test_dates_in_names(text: str, expected: datetime | None) -> None:
    assert parse_date_text(text) == expected


def test_user_format_and_tags() -> None:
    assert parse_date_text("LC08_L1TP_044034_2016259_LGN00", "%Y%j") == datetime(2016, 9, 15)
    assert date_from_tags({"TIFFTAG_DATETIME": "2019:05:06 11:12:13"}) == datetime(2019, 5, 6, 11, 12, 13)
    assert date_from_tags({"ACQUISITION_DATE": "2020-02-29", "DATETIME": "1999:01:01 00:00:00"}) == datetime(2020, 2, 29)
    assert date_from_tags({"foo": "bar"}) is None
    assert date_key(datetime(2020, 2, 29, 5)) == 20200229
    assert date_label(datetime(2020, 2, 29)) == "2020-02-29"
    assert days_between(datetime(2020, 1, 1), datetime(2020, 1, 11, 12)) == 10.5


def test_decode_mask_conventions() -> None:
    scl = np.array([[0, 3, 4, 8], [9, 10, 11, 1]], np.uint8)
    out = decode_mask(scl, make_mask_spec("scl"))
    assert out.tolist() == [[NODATA, SHADOW, CLEAR, CLOUD], [CLOUD, CLOUD, CLEAR, NODATA]]
    fmask = np.array([[0, 1, 2, 3, 4, 255]], np.uint8)
    assert decode_mask(fmask, make_mask_spec("fmask")).tolist() == [[CLEAR, CLEAR, SHADOW, CLEAR, CLOUD, NODATA]]
    prob = np.array([[0.1, 0.39, 0.4, 0.95]], np.float32)
    assert decode_mask(prob, make_mask_spec("s2cloudless")).tolist() == [[CLEAR, CLEAR, CLOUD, CLOUD]]
    prob8 = np.array([[50, 101, 102, 255]], np.uint8)  # 0..255 scale: 0.4 * 255 = 102
    assert decode_mask(prob8, make_mask_spec("s2cloudless")).tolist() == [[CLEAR, CLEAR, CLOUD, CLOUD]]
    binary = np.array([[0, 1, 2]], np.uint8)
    assert decode_mask(binary, make_mask_spec("binary")).tolist() == [[CLEAR, CLOUD, CLOUD]]
    custom = make_mask_spec("values", cloud_values=(7,), shadow_values=(5,), invalid_values=(0,))
    assert decode_mask(np.array([[0, 5, 7, 9]]), custom).tolist() == [[NODATA, SHADOW, CLOUD, CLEAR]]
    # values read as float with NaN outside the file are no data
    assert decode_mask(np.array([[np.nan, 4.0]]), make_mask_spec("fmask"), file_dtype=np.dtype("uint8")).tolist() \
        == [[NODATA, CLOUD]]
    with pytest.raises(ConfigError, match="cloud_values"):
        make_mask_spec("values")
    assert guess_mask_type(Path("T33_20200101_SCL.tif"), "uint8") == "scl"
    assert guess_mask_type(Path("x_Fmask.tif"), "uint8") == "fmask"
    assert guess_mask_type(Path("CLP_2020.tif"), "uint8") == "s2cloudless"
    assert guess_mask_type(Path("m.tif"), "float32") == "s2cloudless"
    assert guess_mask_type(Path("CLM_2020.tif"), "uint8") == "binary"


def test_buffer_grows_cloud_over_shadow_into_clear_only() -> None:
    cls = np.zeros((9, 9), np.uint8)
    cls[4, 2] = CLOUD
    cls[4, 6] = SHADOW
    cls[0, 0] = NODATA
    out = buffer_classes(cls, 2)
    assert out[4, 0] == CLOUD and out[4, 4] == CLOUD  # cloud wins where both reach
    assert out[4, 8] == SHADOW and out[2, 6] == SHADOW
    assert out[0, 0] == NODATA and out[8, 0] == CLEAR
    yy, xx = np.mgrid[0:9, 0:9]
    d_cloud = np.hypot(yy - 4, xx - 2)
    grown = out == CLOUD
    assert grown[d_cloud <= 1.5].all() and not grown[d_cloud > 2.5].any()  # a disc of radius ~2
