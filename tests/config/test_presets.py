"""Presets state only what they change, and ``vidrestore presets show`` prints every key of the
resolved config with its value, default and help."""

from __future__ import annotations

from typing import Any

import pytest

from vidrestore import config
from vidrestore.cli import main
from vidrestore.jobs.manifest import _flatten

# the presets of this part of issue 21 (film presets: the film section's own test)
MINIMAL = ("decloud", "interpolate", "diffusion", "upscale", "denoise-light", "upscale-x2")
#: passthrough states two defaults on purpose: it must stay a no-op whatever the defaults become
STATED_ON_PURPOSE = {"passthrough": {"restorer.name", "temporal.enabled"}}


def _stated(name: str) -> dict[str, Any]:
    path = config.list_presets()[name][0]
    data = config._read_yaml(path)
    return _flatten({k: v for k, v in data.items() if k != "base"})


def _base_values(name: str) -> dict[str, Any]:
    parent = config._read_yaml(config.list_presets()[name][0]).get("base")
    base = config.load_config(preset=parent) if parent else config.Config()
    return {r.key: r.value for r in config.key_rows(base)}


@pytest.mark.parametrize("name", [*MINIMAL, "passthrough"])
def test_presets_state_only_what_they_change(name: str) -> None:
    stated = _stated(name)
    base = _base_values(name)
    resolved = {r.key: r.value for r in config.key_rows(config.load_config(preset=name))}
    same = sorted(k for k in stated if resolved[k] == base[k])
    assert same == sorted(STATED_ON_PURPOSE.get(name, set()))


def test_decloud_preset_states_no_key() -> None:
    assert _stated("decloud") == {}


def test_key_rows_cover_every_key_with_default_and_help() -> None:
    cfg = config.load_config(preset="upscale")
    rows = {r.key: r for r in config.key_rows(cfg)}
    assert set(rows) == set(_flatten(config.config_to_dict(cfg))) - {"preset"} | {"encode.options", "decloud.bands"}
    assert rows["restorer.name"].value == "realesr-animevideov3" and rows["restorer.name"].default == "none"
    assert rows["decloud.detect.mode"].default == "auto" and "never" in rows["decloud.detect.mode"].help


def test_presets_show_prints_every_key_value_default_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "show", "upscale"]) == 0
    out = capsys.readouterr().out.splitlines()
    keys = [line[2:].split(" = ", 1)[0] for line in out if not line.startswith("#")]
    assert keys == [r.key for r in config.key_rows(config.Config())]
    line = next(line for line in out if line[2:].startswith("temporal.strength = "))
    assert line.startswith("* temporal.strength = 0.8") and line.endswith("[0.6]") and "# how strongly" in line
    line = next(line for line in out if line[2:].startswith("temporal.window = "))
    assert line.startswith("  temporal.window = 5") and "# frames in a sliding window" in line


def test_presets_show_changed_and_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "show", "decloud", "--changed", "--set", "decloud.fill.max_days=30"]) == 0
    out = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert len(out) == 1 and out[0].startswith("* decloud.fill.max_days = 30.0") and out[0].endswith("[0.0]")


def test_presets_show_refuses_an_unknown_preset_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "show", "upscael"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown preset 'upscael'" in err[0] and "did you mean 'upscale'" in err[0]
    assert main(["presets", "show"]) == 2
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error
        main(["presets", "upscale"])
    assert usage.value.code == 2


def test_presets_list_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("decloud ") for line in lines) and any(line.startswith("upscale ") for line in lines)
