"""Configs written before the sections moved (issue 21) still load to the same config: every old
flat key (with one deprecation line), the preset files of before, the resolved-config sidecars
today's runs write, and the config a job manifest recorded (so an interrupted job still resumes)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Union

import pytest

from vidrestore import config
from vidrestore.errors import ConfigError
from vidrestore.jobs import manifest as mf

FIXTURES = Path(__file__).parent / "fixtures"


def _field_type(dotted: str) -> tuple[Any, Any]:
    """(type, default) of a dotted key of Config."""
    cls: Any = config.Config
    *parents, last = dotted.split(".")
    for part in parents:
        cls = typing.get_type_hints(cls)[part]
    f = next(f for f in dataclasses.fields(cls) if f.name == last)
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    return typing.get_type_hints(cls)[last], default


def _choices(dotted: str) -> list[str]:
    """The allowed values of a choice key, read from its own refusal message."""
    try:
        config.load_config(overrides=[f"{dotted}=not-a-choice"])
    except ConfigError as err:
        text = str(err)
        if "is not one of " in text:
            return [c.strip() for c in text.split("is not one of ", 1)[1].split(" (")[0].split(",")]
    return []


def _candidates(dotted: str) -> list[Any]:
    """Values other than the default that the key may accept, most likely first."""
    tp, default = _field_type(dotted)
    if typing.get_origin(tp) in (Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if tp is bool:
        return [not default]
    if tp is int:
        return [default + 1, default + 2, default - 1]
    if tp is float:
        base = default if default is not None else 1.0
        return [v for v in (base * 0.5, base + 0.5, base * 1.5, 0.5, 30.0) if v != default]
    if tp is str:
        return [c for c in _choices(dotted) if c != default] or ["%Y%j" if "date" in dotted else "x_{date}_{band}.tif"]
    if typing.get_origin(tp) is tuple:
        return [[1]]
    return []


def _value_for(dotted: str) -> Any:
    for value in _candidates(dotted):
        try:
            config.load_config(overrides=[f"{dotted}={json.dumps(value)}"])
        except ConfigError:
            continue
        return value
    pytest.fail(f"no non-default value found for {dotted}")


RENAMES = sorted(config.renames().items())


def test_the_loader_knows_the_old_decloud_keys() -> None:
    table = config.renames()
    assert table["decloud.pattern"] == "decloud.input.pattern" and table["decloud.detect"] == "decloud.detect.mode"
    assert len([k for k in table if k.startswith("decloud.")]) == 39


@pytest.mark.parametrize(("old", "new"), RENAMES, ids=[old for old, _new in RENAMES])
def test_every_old_flat_key_loads_with_one_deprecation_line(old: str, new: str, deprecations, tmp_path) -> None:
    value = json.dumps(_value_for(new))
    want = config.load_config(overrides=[f"{new}={value}"])
    assert want != config.Config(preset="custom")  # the value is not the default: the test can tell keys apart
    assert deprecations == []
    assert config.load_config(overrides=[f"{old}={value}"]) == want
    section, *rest = old.split(".")
    nested: dict[str, Any] = {}
    node = nested
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = json.loads(value)
    file = tmp_path / "old.yaml"
    file.write_text(json.dumps({section: nested}), encoding="utf-8")
    assert dataclasses.replace(config.load_config(path=file), preset="custom") == want
    assert deprecations == [f"config key '{old}' is deprecated, use '{new}' (the old name still works for now)"]
    with pytest.raises(ConfigError, match=f"both {old} \\(old name\\) and {new} are given"):
        config.load_config(overrides=[f"{old}={value}", f"{new}={value}"])


@pytest.mark.parametrize("name", ["decloud", "upscale"])
def test_preset_files_of_before_load_to_the_same_config(name: str, deprecations) -> None:
    old = config.load_config(path=FIXTURES / f"{name}-before-issue21.yaml")
    assert dataclasses.replace(old, preset=name) == config.load_config(preset=name)


def test_the_old_decloud_preset_names_each_old_key_once(deprecations) -> None:
    config.load_config(path=FIXTURES / "decloud-before-issue21.yaml")
    config.load_config(path=FIXTURES / "decloud-before-issue21.yaml")
    old_keys = [line.split("'")[1] for line in deprecations]
    assert len(old_keys) == len(set(old_keys)) == 39


@pytest.mark.parametrize("name", ["decloud", "upscale", "interpolate"])
def test_sidecars_written_before_load_to_the_same_config(name: str, deprecations) -> None:
    """OUTPUT.vidrestore.yaml as dump_config wrote it before the sections moved."""
    assert config.load_config(path=FIXTURES / f"sidecar-{name}-before-issue21.yaml") == config.load_config(preset=name)


def test_a_sidecar_written_now_loads_back_to_the_same_config(tmp_path, deprecations) -> None:
    cfg = config.load_config(preset="decloud", overrides=["decloud.detect.mode=always", "decloud.bands={red: 3}"])
    config.dump_config(cfg, tmp_path / "out.vidrestore.yaml", overwrite=False)
    assert config.load_config(path=tmp_path / "out.vidrestore.yaml") == cfg and deprecations == []


def test_a_job_manifest_written_before_still_resumes(deprecations) -> None:
    """The manifest's config (flat keys, old names) matches the same settings given the new way,
    and a real change is still refused, under the key's new name."""
    data = json.loads((FIXTURES / "manifest-decloud-before-issue21.json").read_text(encoding="utf-8"))
    same = config.load_config(preset="decloud", overrides=[
        "decloud.input.pattern=S2_{date}_{band}.tif", "decloud.detect.mode=always", "decloud.align.enabled=false",
        "decloud.fill.max_days=30"])
    assert data["config_hash"] != mf.config_hash(config.config_to_dict(same))  # the keys did move
    assert mf.resume_config_changes(data, config.config_to_dict(same)) == []
    other = dataclasses.replace(same, decloud=dataclasses.replace(
        same.decloud, fill=dataclasses.replace(same.decloud.fill, max_days=31.0)))
    assert mf.resume_config_changes(data, config.config_to_dict(other)) == ["decloud.fill.max_days: 30.0 -> 31.0"]
    # a key added since the manifest was written is no change at its default, and is one set otherwise
    added = dataclasses.replace(same, decloud=dataclasses.replace(
        same.decloud, detect=dataclasses.replace(same.decloud.detect, s2cloudless_block=16)))
    assert mf.resume_config_changes(data, config.config_to_dict(added)) == [
        "decloud.detect.s2cloudless_block: '(unset)' -> 16"]
    # a key added with a default that does something new (interpolate.rife_ensemble, before=False): a job of
    # its own command resumes only with what came before; a job of another command never read it
    interp_job = {**data, "command": "interpolate"}
    assert mf.resume_config_changes(interp_job, config.config_to_dict(same)) == [
        "interpolate.rife_ensemble: False -> True"]
    old_way = dataclasses.replace(same, interpolate=dataclasses.replace(same.interpolate, rife_ensemble=False))
    assert mf.resume_config_changes(interp_job, config.config_to_dict(old_way)) == []
    assert mf.resume_config_changes(data, config.config_to_dict(same)) == []


def test_every_field_has_help() -> None:
    """vidrestore presets show and the web form print it: an empty help is a missing explanation."""
    missing = []

    def walk(cls: Any, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            tp = typing.get_type_hints(cls)[f.name]
            if not f.metadata.get("help"):
                missing.append(prefix + f.name)
            if dataclasses.is_dataclass(tp):
                walk(tp, prefix + f.name + ".")

    for f in dataclasses.fields(config.Config):
        tp = typing.get_type_hints(config.Config)[f.name]
        if dataclasses.is_dataclass(tp) and tp is not config.FilmConfig:  # film: the film engineer's section
            walk(tp, f.name + ".")
    assert missing == []
