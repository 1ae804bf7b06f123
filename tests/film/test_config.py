"""The ``film`` section (vidrestore/film/config.py): nested knobs, the old flat keys, the presets before and after."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vidrestore import config
from vidrestore.config import load_config
from vidrestore.errors import ConfigError
from vidrestore.film.config import RENAMES, FilmConfig

FIXTURES = Path(__file__).parent / "fixtures"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"

#: A value other than the default for every knob an old key moved to (each valid with the others at theirs).
OTHER: dict[str, Any] = {
    "film.deflicker.enabled": False, "film.deflicker.window": 5, "film.deflicker.grid": 2,
    "film.dust.enabled": False, "film.dust.threshold": 0.07, "film.dust.sigmas": 3.0, "film.dust.max_area": 0.02,
    "film.dust.max_motion": 0.05, "film.dust.dilate": 2, "film.dust.override_contrast": 0.3,
    "film.dust.one_sided_contrast": 0.2, "film.dust.uniform_flow": 0.7, "film.dust.moved_flow": 0.0,
    "film.dust.moved_ratio": 0.6, "film.dust.moved_search": 0.03, "film.dust.sides_agree": 0.0,
    "film.dust.rescue_ring": 8, "film.dust.rescue_share": 0.6, "film.dust.passes": 1,
    "film.dust.second_pass_flow": 1.5, "film.dust.second_pass_flows": "reuse",
    "film.scratch.enabled": False, "film.scratch.threshold": 0.02, "film.scratch.min_length": 0.4,
    "film.scratch.max_width": 4, "film.scratch.persistence": 4,
    "film.denoise.enabled": False, "film.denoise.strength": 0.5,
    "film.grain.sigma": 3.0, "film.grain.size": 2.0, "film.grain.seed": 7,
}


def _get(cfg: Any, dotted: str) -> Any:
    for part in dotted.split(".")[1:]:
        cfg = getattr(cfg, part)
    return cfg


def _text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def test_every_moved_knob_has_a_value_other_than_its_default() -> None:
    assert set(OTHER) == set(RENAMES.values())
    default = FilmConfig()
    assert [k for k, v in OTHER.items() if _get(default, k) == v] == []


@pytest.mark.parametrize(("old", "new"), sorted(RENAMES.items()))
def test_an_old_flat_key_loads_like_its_new_key_with_one_deprecation_line(old: str, new: str,
                                                                          deprecations: list[str]) -> None:
    value = _text(OTHER[new])
    by_new = load_config(preset="film", overrides=[f"{new}={value}"])
    assert deprecations == []
    by_old = load_config(preset="film", overrides=[f"{old}={value}"])
    assert by_old == by_new and _get(by_new.film, new) == OTHER[new]
    assert len(deprecations) == 1 and old in deprecations[0] and new in deprecations[0]
    load_config(preset="film", overrides=[f"{old}={value}"])  # a run loads its config more than once
    assert len(deprecations) == 1


def test_a_file_of_old_flat_keys_loads_like_the_nested_file(tmp_path: Path, deprecations: list[str]) -> None:
    flat: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for old, new in RENAMES.items():
        flat[old.split(".", 1)[1]] = OTHER[new]
        node = nested
        *parents, last = new.split(".")[1:]
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = OTHER[new]
    (tmp_path / "old.yaml").write_text(yaml.safe_dump({"film": {"enabled": True, **flat}}))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump({"film": {"enabled": True, **nested}}))
    new_cfg = load_config(path=tmp_path / "new.yaml")
    assert deprecations == []
    old_cfg = load_config(path=tmp_path / "old.yaml")
    assert dataclasses.replace(old_cfg, preset="new") == new_cfg
    assert sorted(deprecations) == sorted(set(deprecations)) and len(deprecations) == len(RENAMES)
    assert all(any(old in line for line in deprecations) for old in RENAMES)


@pytest.mark.parametrize("name", ["film", "film-gentle"])
def test_a_film_preset_file_from_before_loads_to_the_same_config(name: str, deprecations: list[str]) -> None:
    """The presets as they were before the film section was nested (their flat keys, every knob restated)."""
    before = load_config(path=FIXTURES / f"{name}-before-issue21.yaml")
    now = load_config(preset=name)
    assert dataclasses.replace(before, preset=name) == now
    assert deprecations and len(deprecations) == len(set(deprecations))  # one line per old key


def test_the_film_presets_state_only_what_they_change() -> None:
    """An improved default reaches preset users: a preset names a knob only to give it another value."""
    default = config.Config()

    def leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
        for key, value in data.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    film = yaml.safe_load((CONFIGS / "film.yaml").read_text())
    stated = dict(leaves(film))
    assert stated == {"film.enabled": True, "flow.method": "dis"}
    assert all(_get(default, "x." + key) != value for key, value in stated.items())
    gentle = yaml.safe_load((CONFIGS / "film-gentle.yaml").read_text())
    base = load_config(preset="film")
    assert gentle.pop("base") == "film"
    assert all(_get(base, "x." + key) != value for key, value in leaves(gentle))


def test_a_bad_value_names_its_nested_key_and_a_step_switches_off() -> None:
    with pytest.raises(ConfigError, match=r"^film\.dust\.threshold: must be in \(0, 1\)$"):
        load_config(preset="film", overrides=["film.dust.threshold=0"])
    with pytest.raises(ConfigError, match=r"^film\.scratch\.persistence: must be in \[1, 2 \* film\.radius \+ 1\]$"):
        load_config(preset="film", overrides=["film.radius=1", "film.scratch.persistence=4"])
    off = load_config(preset="film", overrides=["film.dust.enabled=false", "film.scratch.enabled=false"]).film
    assert not off.dust.enabled and not off.scratch.enabled and off.deflicker.enabled and off.denoise.enabled


def test_a_bad_value_under_an_old_key_is_refused_under_that_key_alone(deprecations: list[str]) -> None:
    """The user sees the key they wrote, and one line: no deprecation notice for a config that does not load."""
    with pytest.raises(ConfigError, match=r"^film\.dust_threshold: must be in \(0, 1\)$"):
        load_config(preset="film", overrides=["film.dust_threshold=0"])
    assert deprecations == []
