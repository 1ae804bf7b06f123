"""JobSpec, load_config and command_line: what the CLI and the web app describe a job with."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from vidrestore import api
from vidrestore.cli import build_parser, job_spec
from vidrestore.errors import ConfigError, VidrestoreError

ROOT = Path(__file__).resolve().parents[2]

SPECS = [
    api.JobSpec(command="restore", input="in put.mp4", output="out.mp4", preset="film",
                overrides=("film.dust.strength=0.5", "encode.crf=18"), overwrite=True, resume=True,
                workdir="/tmp/w d", keep_workdir=True, engine="ray", address="auto", workers=3, threads_per_worker=2,
                frames=(10, 20), options={"save_masks": "masks", "segment_frames": 48}),
    api.JobSpec(command="interpolate", input="a.mkv", output="frames/", config="my.yaml",
                options={"factor": 4, "scale": 2.0, "order": "upscale-first", "method": "flow", "refine": True}),
    api.JobSpec(command="interpolate", input="a.mkv", output="b.mp4", options={"fps": "60000/1001"}),
    api.JobSpec(command="decloud", input=("s2/", "extra.tif"), output="clean/",
                options={"bands": "blue=1,green=2,red=3,nir=4", "cloud_values": "8,9,10", "dry_run": True,
                         "mask_type": "scl", "scale": 10000.0, "composite": "median", "cog": True, "stac": True,
                         "pattern": "S2_{date}_{band}.tif", "detector": "spectral", "reproject": True}),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.command)
def test_command_line_parses_back_into_the_same_spec(spec: api.JobSpec) -> None:
    words = shlex.split(api.command_line(spec))
    assert words[:2] == ["vidrestore", spec.command]
    args = build_parser().parse_args(words[1:])
    assert job_spec(args, spec.command, api.OPTIONS[spec.command]) == spec


def test_specs_are_hashable_and_equal_specs_hash_alike() -> None:
    twin = api.JobSpec(**{**SPECS[0].__dict__, "options": dict(SPECS[0].options)})
    assert twin == SPECS[0] and hash(twin) == hash(SPECS[0]) and len({*SPECS, twin}) == len(SPECS)


def test_command_line_is_shell_quoted() -> None:
    line = api.command_line(SPECS[0])
    assert "'in put.mp4'" in line and "'/tmp/w d'" in line and "--frames 10:20" in line


def test_load_config_applies_options_after_overrides_and_keeps_defaults() -> None:
    spec = api.JobSpec(command="interpolate", input="a.mp4", output="b.mp4",
                       overrides=("interpolate.factor=3",), options={"factor": 4})
    cfg = api.load_config(spec)
    assert cfg.interpolate.factor == 4 and cfg.interpolate.fps is None and cfg.preset == "interpolate"
    assert api.load_config(api.JobSpec(command="restore", input="a.mp4", output="b.mp4")).preset == "passthrough"
    jobs = api.load_config(api.JobSpec(command="restore", input="a", output="b", workers=3, address="auto",
                                       options={"segment_frames": 60})).jobs
    assert (jobs.workers, jobs.engine, jobs.address, jobs.segment_frames) == (3, "ray", "auto", 60)
    dc = api.load_config(api.JobSpec(command="decloud", input="x", output="y",
                                     options={"bands": {"blue": 1, "nir": 4}, "cloud_values": [8, 9]})).decloud
    assert dict(dc.bands) == {"blue": "1", "nir": "4"} and list(dc.cloud_values) == [8, 9]


@pytest.mark.parametrize("kwargs, words", [
    (dict(command="upscale", input="a", output="b"), "command 'upscale'"),
    (dict(command="restore", input="a", output="b", preset="film", config="x.yaml"), "exclude each other"),
    (dict(command="restore", input=("a", "b"), output="c"), "one input"),
    (dict(command="restore", input="a", output="b", options={"factor": 2}), "unknown option(s) factor"),
    (dict(command="restore", input="a", output="b", frames=(5, 5)), "0 <= start < stop"),
    (dict(command="decloud", input="a", output="b", frames=(0, 5)), "no frame range"),
    (dict(command="restore", input="a", output="b", frames=(0, 5), segmented=False), "segmented=False"),
    (dict(command="restore", input="a", output="b", engine="spark"), "engine 'spark'"),
])
def test_bad_specs_are_refused_in_one_line(kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        api.JobSpec(**kwargs)
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(command="restore", options={"save_masks": "m"}), "--save-masks needs the film stage"),
    (dict(command="interpolate", options={"fps": "sixty"}), "sixty"),
    (dict(command="interpolate", options={"factor": 0}), "between 1 and 64"),
    (dict(command="decloud", options={"scale": -1}), "must be > 0"),
    (dict(command="decloud", options={"cloud_values": "8,x"}), "--cloud-values"),
])
def test_bad_options_give_the_cli_messages(kwargs: dict, words: str) -> None:
    with pytest.raises(VidrestoreError) as err:
        api.load_config(api.JobSpec(input="a", output="b", **kwargs))
    assert words in str(err.value)


def test_the_cli_only_parses() -> None:
    """The job commands build a JobSpec and call the API: they neither decide direct-vs-segmented nor build
    processors or configs."""
    for name in ("restore_cmd", "interpolate_cmd", "decloud_cmd", "flow_cmd"):
        text = (ROOT / "vidrestore" / "cli" / f"{name}.py").read_text()
        for word in ("run_job", "wants_segments", "wants_tiles", "build_processor", "load_config", "run_decloud",
                     "vidrestore.jobs", "vidrestore.pipeline"):
            assert word not in text, (name, word)
        assert "api.run(" in text


def test_compare_runs_through_the_api() -> None:
    """``vidrestore compare`` parses and calls ``api.compare``: reading, pairing and writing live below."""
    text = (ROOT / "vidrestore" / "cli" / "compare_cmd.py").read_text()
    for word in ("open_reader", "open_writer", "atomic_write", "vidrestore.io", "vidrestore.metrics"):
        assert word not in text, word
    assert "api.compare(" in text


def test_a_flow_job_runs_through_the_api(tmp_path: Path) -> None:
    """``command="flow"``: the CLI's spec, the .npz of every consecutive pair, one pass only."""
    import numpy as np

    args = build_parser().parse_args(["flow", str(ROOT / "samples" / "frames16"), "-o", str(tmp_path / "f.npz"),
                                      "--method", "dis", "--backward"])
    spec = job_spec(args, "flow", api.OPTIONS["flow"])
    assert spec.command == "flow" and spec.options == {"method": "dis", "device": "auto", "backward": True}
    assert api.load_config(spec).flow.method == "dis"
    assert shlex.split(api.command_line(spec))[1:] == ["flow", str(ROOT / "samples" / "frames16"), "-o",
                                                       str(tmp_path / "f.npz"), "--method", "dis", "--device", "auto",
                                                       "--backward"]
    n = len(list((ROOT / "samples" / "frames16").glob("*.png")))
    seen = []
    result = api.run(spec, progress=seen.append)
    with np.load(tmp_path / "f.npz") as z:
        assert z["flow"].shape[0] == z["flow_backward"].shape[0] == n - 1 and str(z["method"]).startswith("dis")
        method = str(z["method"])
    assert result.frames_in == result.frames_out == n and result.stats["flow_method"] == method
    assert seen[-1].phase == "done"
    for bad in ({"resume": True}, {"frames": (0, 4)}):
        with pytest.raises(ConfigError):
            api.run(api.JobSpec(command="flow", input="a.mp4", output=str(tmp_path / "g.npz"), **bad))
