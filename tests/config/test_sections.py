"""vidrestore.sections: value checks, field help and the rename table, and the loader's use of it."""

from __future__ import annotations

import dataclasses
import logging
import warnings

import pytest

from vidrestore import config, sections
from vidrestore.errors import ConfigError

TABLE = {
    "decloud.pattern": "decloud.input.pattern",
    "decloud.detect": "decloud.detect.mode",
    "decloud.detector": "decloud.detect.detector",
    "decloud.bands": "decloud.detect.bands",
}


def test_check_and_choice_name_the_key() -> None:
    sections.check("flow.iterations", True, "must be >= 1")
    with pytest.raises(ConfigError, match=r"^flow\.iterations: must be >= 1$"):
        sections.check("flow.iterations", False, "must be >= 1")
    with pytest.raises(ConfigError, match=r"^io\.reader: 'pyva' is not one of pyav, decord \(did you mean 'pyav'\?\)$"):
        sections.choice("io.reader", "pyva", ("pyav", "decord"))


def test_knob_keeps_type_default_and_help() -> None:
    @dataclasses.dataclass(frozen=True)
    class Section:
        level: float = sections.knob(0.5, "how strong")
        table: dict[str, str] = sections.knob(help="role -> band", factory=dict)

    assert Section().level == 0.5 and Section().table == {}
    assert Section().table is not Section().table
    assert sections.help_of(Section, "level") == "how strong"
    assert [f.metadata["help"] for f in dataclasses.fields(Section)] == ["how strong", "role -> band"]
    with pytest.raises(KeyError):
        sections.help_of(Section, "nothing")


def test_old_flat_keys_move_into_sections_even_where_an_old_key_became_a_section() -> None:
    old = {"decloud": {"pattern": "S2_{date}.tif", "detect": "always", "detector": "spectral",
                       "bands": {"red": "3"}, "buffer": 2}}
    new, found = sections.apply_renames(old, TABLE, where="f.yaml")
    assert new == {"decloud": {"input": {"pattern": "S2_{date}.tif"}, "buffer": 2,
                               "detect": {"mode": "always", "detector": "spectral", "bands": {"red": "3"}}}}
    assert found == ["decloud.pattern", "decloud.detect", "decloud.detector", "decloud.bands"]
    assert old["decloud"]["detect"] == "always"  # the source is left as it was


def test_new_form_is_left_alone() -> None:
    new = {"decloud": {"detect": {"mode": "never", "bands": {"red": "3"}}, "input": {"pattern": "x"}}}
    out, found = sections.apply_renames(new, TABLE, where="f.yaml")
    assert out == new and found == []


def test_a_key_given_both_ways_in_one_source_is_refused_naming_both() -> None:
    both = {"decloud": {"pattern": "a", "input": {"pattern": "b"}}}
    with pytest.raises(ConfigError, match=r"^f\.yaml: both decloud\.pattern \(old name\) and decloud\.input\.pattern "):
        sections.apply_renames(both, TABLE, where="f.yaml")


def test_set_keys_follow_their_renamed_parent() -> None:
    assert sections.rename_key("decloud.pattern", "x", TABLE) == ("decloud.input.pattern", "decloud.pattern")
    assert sections.rename_key("decloud.detect", "auto", TABLE) == ("decloud.detect.mode", "decloud.detect")
    assert sections.rename_key("decloud.detect", {"mode": "auto"}, TABLE) == ("decloud.detect", None)
    assert sections.rename_key("decloud.detect.detector", "x", TABLE) == ("decloud.detect.detector", None)
    assert sections.rename_key("decloud.bands.red", 3, TABLE) == ("decloud.detect.bands.red", "decloud.bands")
    assert sections.rename_key("flow.method", "dis", TABLE) == ("flow.method", None)


# --------------------------------------------------------------------------- the loader


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two renames declared the way a section module declares them (the loader finds config.py's
    table because Config lives there)."""
    renames = {"flow.estimator": "flow.method", "io.decoder": "io.reader"}
    monkeypatch.setattr(config, "RENAMES", renames, raising=False)
    return renames


def test_loader_collects_every_section_modules_table(table: dict[str, str]) -> None:
    assert table.items() <= config.renames().items()


def test_old_keys_load_from_files_and_set_with_one_line_per_key_per_run(table, deprecations, tmp_path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("flow:\n  estimator: dis\nio:\n  decoder: pyav\n", encoding="utf-8")
    new = tmp_path / "new.yaml"
    new.write_text("flow:\n  method: dis\nio:\n  reader: pyav\n", encoding="utf-8")
    want = config.load_config(path=new)
    assert deprecations == []
    got = config.load_config(path=old)
    assert dataclasses.replace(got, preset="new") == want
    assert deprecations == ["config key 'flow.estimator' is deprecated, use 'flow.method' (the old name still works for now)",
                            "config key 'io.decoder' is deprecated, use 'io.reader' (the old name still works for now)"]
    again = config.load_config(path=new, overrides=["flow.estimator=dis", "io.decoder=pyav"])
    assert again == want and len(deprecations) == 2  # once per old key per run
    child = tmp_path / "child.yaml"
    child.write_text("base: passthrough\nflow:\n  estimator: farneback\n", encoding="utf-8")
    assert config.load_config(path=child).flow.method == "farneback"
    assert config.load_config(preset="passthrough", overrides=["flow.estimator=raft-small"]).flow.method == "raft-small"


def test_a_later_source_may_use_either_name(table, deprecations, tmp_path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("flow:\n  estimator: dis\n", encoding="utf-8")
    assert config.load_config(path=old, overrides=["flow.method=farneback"]).flow.method == "farneback"
    assert config.load_config(base={"flow": {"estimator": "dis"}}).flow.method == "dis"


def test_both_names_in_one_source_are_refused(table, deprecations, tmp_path) -> None:
    both = tmp_path / "both.yaml"
    both.write_text("flow:\n  estimator: dis\n  method: farneback\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"both\.yaml: both flow\.estimator \(old name\) and flow\.method are given"):
        config.load_config(path=both)
    with pytest.raises(ConfigError, match=r"^--set: both flow\.estimator \(old name\) and flow\.method are given"):
        config.load_config(overrides=["flow.method=dis", "flow.estimator=farneback"])


def test_an_unknown_old_looking_key_is_still_refused(table) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'flow\.estimatr'"):
        config.load_config(overrides=["flow.estimatr=dis"])


def test_the_cli_shows_the_line_by_default_and_under_quiet(table, deprecations, capsys) -> None:
    from vidrestore.cli import setup_logging

    root = logging.getLogger("vidrestore")
    saved = (root.handlers[:], root.level, root.propagate, warnings.showwarning)
    try:
        for quiet in (False, True):
            config._REPORTED.clear()
            setup_logging(0, quiet)
            config.load_config(overrides=["flow.estimator=dis"])
            err = capsys.readouterr().err
            assert err.splitlines() == ["vidrestore: config key 'flow.estimator' is deprecated, use 'flow.method' "
                                        "(the old name still works for now)"]
    finally:
        root.handlers[:], root.level, root.propagate, warnings.showwarning = saved
