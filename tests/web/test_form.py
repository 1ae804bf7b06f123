"""The settings form is generated from the config dataclasses and validates as the CLI does."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass, field

from tests.web.conftest import ROOT
from vidrestore.web import form


@dataclass(frozen=True)
class _Dust:
    threshold: float = field(default=0.05, metadata={"help": "least difference from each neighbour"})
    mode: str = "auto"  # auto | fast | slow
    area: int | None = None  # largest region (px); None = a share of the frame
    #                          that keeps motion out


@dataclass(frozen=True)
class _Film:
    """Archival film."""

    enabled: bool = False
    dust: _Dust = field(default_factory=_Dust)
    tags: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Config:
    preset: str = "custom"
    film: _Film = field(default_factory=_Film)


def test_schema_walks_nested_sections_with_help_types_and_choices() -> None:
    cfg = _Config(film=_Film(enabled=True, dust=_Dust(threshold=0.1)))
    fields = {f["key"]: f for f in form.schema(cfg)}
    assert list(fields) == ["film", "film.enabled", "film.dust", "film.dust.threshold", "film.dust.mode",
                            "film.dust.area", "film.tags", "film.extra"]
    assert fields["film"]["kind"] == "section" and fields["film"]["help"] == "Archival film."
    t = fields["film.dust.threshold"]
    assert (t["kind"], t["default"], t["value"], t["text"]) == ("float", 0.05, 0.1, "0.1")
    assert t["help"] == "least difference from each neighbour"  # metadata["help"]: the sections.py convention
    assert fields["film.dust.mode"]["choices"] == ["auto", "fast", "slow"]  # from the comment's "a | b | c"
    area = fields["film.dust.area"]
    assert area["kind"] == "int" and area["nullable"] and area["text"] == "null"
    assert area["help"] == "largest region (px); None = a share of the frame that keeps motion out"
    assert (fields["film.enabled"]["kind"], fields["film.enabled"]["value"]) == ("bool", True)
    assert fields["film.tags"]["kind"] == "list" and fields["film.extra"]["kind"] == "map"


def test_schema_of_every_preset_covers_every_key() -> None:
    from vidrestore.config import config_to_dict, list_presets, load_config

    def leaves(d: dict, prefix: str = "") -> set[str]:
        out: set[str] = set()
        for k, v in d.items():
            out |= leaves(v, f"{prefix}{k}.") if isinstance(v, dict) and k not in ("options", "bands") else {prefix + k}
        return out

    for name in list_presets():
        cfg = load_config(preset=name)
        keys = {f["key"] for f in form.schema(cfg) if f["kind"] != "section"}
        assert keys == leaves(config_to_dict(cfg)) - {"preset"}, name


def test_text_round_trips_through_the_override_parser() -> None:
    from vidrestore.config import parse_override

    for value in (0, 2.5, True, None, "auto", "60000/1001", "yes", "a: b", "it's", (1, 2), {"blue": "1"}, ""):
        text = form.as_text(value)
        _keys, parsed = parse_override(f"x.y={text}")
        want = list(value) if isinstance(value, tuple) else value
        assert parsed == want or (value == "" and parsed in ("", None)), (value, text, parsed)


def _cli_error(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "vidrestore", "restore", str(ROOT / "samples" / "moving.mp4"),
                           "-o", "/nonexistent-dir/out.mp4", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    return done.stderr.strip().removeprefix("vidrestore: error: ")


def test_check_gives_the_clis_message_and_the_key(client) -> None:
    base = {"command": "restore", "input": "media/moving.mp4", "output": "media/out.mp4", "preset": "film"}
    for key, text in (("film.radius", "99"), ("flow.method", "dys"), ("film.radius", "two"),
                      ("film.radiuss", "2")):
        r = client.post("/api/check", json={**base, "changes": {key: text}})
        assert r.status_code == 200
        body = r.json()
        assert body["ok"] is False
        assert body["error"] == _cli_error("--preset", "film", "--set", f"{key}={text}")
        assert body["key"] == key


def test_check_ok_gives_yaml_and_the_command(client) -> None:
    import yaml

    from vidrestore.config import load_config

    base = {"command": "restore", "input": "media/moving.mp4", "output": "media/out.mp4", "preset": "film",
            "changes": {"film.radius": "3", "encode.crf": "18"}}
    body = client.post("/api/check", json=base).json()
    assert body["ok"], body
    loaded = yaml.safe_load(body["yaml"])
    assert loaded["film"]["radius"] == 3 and loaded["encode"]["crf"] == 18
    # the YAML reloads to the same config (it is what --config takes)
    want = load_config(preset="film", overrides=["film.radius=3", "encode.crf=18"])
    assert dataclasses.replace(load_config(overrides=[f"{k}={v}" for k, v in ()], base=loaded), preset="film") == want
    cmd = body["command_line"]
    assert "vidrestore restore" in cmd and "--preset film" in cmd
    assert "--set encode.crf=18" in cmd and "--set film.radius=3" in cmd


def test_schema_route_for_each_command(client) -> None:
    for command, preset, key in (("restore", "film", "film.radius"), ("interpolate", "", "interpolate.factor"),
                                 ("decloud", "", "decloud.buffer")):
        r = client.get("/api/schema", params={"command": command, "preset": preset})
        assert r.status_code == 200, r.text
        assert key in {f["key"] for f in r.json()["fields"]}
    r = client.get("/api/schema", params={"command": "restore", "preset": "flim"})
    assert r.status_code == 400 and r.json()["error"] == "unknown preset 'flim' (did you mean 'film'?); see 'vidrestore presets'"
