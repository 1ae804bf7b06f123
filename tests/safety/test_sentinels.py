"""Issue 17, the property: no subcommand changes a byte of anything it did not create.

Every subcommand runs (with ``--overwrite`` where it has one, the most dangerous way) from a current
directory full of sentinel files, beside an input folder with sentinels and under a parent with
sentinels; once with fresh output names, once with a symbolic link planted at every name the run
may write (output, sidecar, work directory, masks) pointing at a sentinel. Afterwards every
sentinel, link and link target is byte-identical, nothing new exists outside the command's own
output names, and no temporary or lock file is left.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.safety.conftest import leftovers, run_cli, snapshot

#: subcommand arguments (run in ROOT/work) -> the names the run may create there
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "restore-video": (["restore", "in/clip.mp4", "-o", "r.mp4", "--overwrite"], ["r.mp4"]),
    "restore-images": (["restore", "in/clip.mp4", "-o", "rdir", "--overwrite"], ["rdir"]),
    "restore-film-masks": (["restore", "in/clip.mp4", "-o", "rf.mp4", "--preset", "film", "--save-masks", "masks",
                            "--overwrite"], ["rf.mp4", "masks"]),
    "restore-segmented": (["restore", "in/clip.mp4", "-o", "rs.mp4", "--workdir", "wd", "--segment-frames", "4",
                           "--overwrite"], ["rs.mp4", "wd"]),
    "flow-npz": (["flow", "in/clip.mp4", "-o", "f.npz", "--overwrite"], ["f.npz"]),
    "flow-video": (["flow", "in/clip.mp4", "-o", "fv.mp4", "--overwrite"], ["fv.mp4"]),
    "interpolate": (["interpolate", "in/clip.mp4", "-o", "i.mp4", "--overwrite"], ["i.mp4"]),
    "eval": (["eval", "in/clip.mp4", "in/clip.mp4", "--metrics", "psnr,flicker", "--json", "e.json", "--plot",
              "e.png", "--overwrite"], ["e.json", "e.png"]),
    "compare-video": (["compare", "in/clip.mp4", "in/clip.mp4", "-o", "c.mp4", "--overwrite"], ["c.mp4"]),
    "compare-sheet": (["compare", "in/clip.mp4", "in/clip.mp4", "-o", "c.png", "--count", "2", "--overwrite"],
                      ["c.png"]),
    "decloud": (["decloud", "geo", "-o", "dout", "--overwrite"], ["dout"]),
    "probe": (["probe", "in/clip.mp4"], []),
    "presets": (["presets"], []),
    "weights": (["weights", "list"], []),
}


def _derived(name: str) -> list[str]:
    """The names a run writing ``name`` may also touch: its sidecar and default work directory."""
    return [name, f"{name}.vidrestore.yaml", f"{name}.vidrestore-work"]


@pytest.fixture
def tree(clip_master: Path, tmp_path: Path) -> Path:
    """ROOT/{parent sentinels, victims/, work/{cwd sentinels, in/{clip, sentinels}, geo/}}; returns ROOT/work."""
    from tests.decloud.conftest import cloudy_series, write_tif

    (tmp_path / "parent_sentinel.txt").write_text("parent folder: keep")
    victims = tmp_path / "victims"
    victims.mkdir()
    (victims / "file.txt").write_text("link target: keep")
    (victims / "folder").mkdir()
    (victims / "folder" / "inside.txt").write_text("link target folder: keep")
    work = tmp_path / "work"
    (work / "in").mkdir(parents=True)
    shutil.copy2(clip_master, work / "in" / "clip.mp4")
    (work / "in" / "input_sentinel.txt").write_text("input folder: keep")
    (work / "cwd_sentinel.bin").write_bytes(bytes(range(256)))
    (work / "notes").mkdir()
    (work / "notes" / "n.txt").write_text("current folder: keep")
    cube, _, _, dates = cloudy_series(n=3, h=32, w=40)
    for t, d in enumerate(dates):
        write_tif(work / "geo" / f"S2_{d:%Y%m%d}.tif", cube[t])
    return work


def _check(root: Path, before: dict, allowed: list[str]) -> None:
    after = snapshot(root)
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert not changed, changed
    new = [k for k in after if k not in before]
    stray = [k for k in new if not any(k == f"work/{a}" or k.startswith(f"work/{a}/") for n in allowed
                                       for a in _derived(n))]
    assert not stray, stray
    assert leftovers(root) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_fresh_outputs_touch_no_sentinel(tree: Path, name: str) -> None:
    args, outputs = COMMANDS[name]
    root = tree.parent
    before = snapshot(root)
    r = run_cli(*args, "-q", cwd=tree)
    assert r.returncode == 0, r.stderr
    _check(root, before, outputs)
    if outputs:
        assert (tree / outputs[0]).exists(), outputs[0]  # (a work directory is gone after the job)


@pytest.mark.parametrize("name", [n for n, (_, outs) in COMMANDS.items() if outs])
def test_symlinks_at_every_output_name_are_never_followed(tree: Path, name: str) -> None:
    args, outputs = COMMANDS[name]
    root = tree.parent
    victims = root / "victims"
    for out in outputs:
        for i, derived in enumerate(_derived(out)):
            target = victims / ("folder" if (i == 2 or "." not in out) else "file.txt")
            (tree / derived).symlink_to(target)
    before = snapshot(root)
    r = run_cli(*args, "-q", cwd=tree)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "symbolic link" in r.stderr, r.stderr
    _check(root, before, [])
