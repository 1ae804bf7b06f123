"""``vidrestore restore --preset film`` end to end: frames, timestamps, sound, masks for review, bad input."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.film.clips import pan
from tests.io.helpers import packet_hashes, read_frames, run_cli, video_times
from vidrestore.film.damage import DamageSpec, render_damage


@pytest.fixture(scope="module")
def dusty_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 damaged frames 128x96 at 24 fps with an AAC tone."""
    from tools.make_samples import write_clip

    clean = pan(16, 96, 128, seed=11)
    damaged = render_damage(clean, DamageSpec(seed=2, dust_per_megapixel=400)).frames
    path = tmp_path_factory.mktemp("film") / "dusty.mp4"
    write_clip(path, [f.astype(np.float32) / 255 for f in damaged], pts=list(range(16)),
               time_base=Fraction(1, 24), rate=Fraction(24), options={"crf": "12"})
    return path


def test_restore_preset_film_keeps_frames_times_and_sound_and_writes_masks(dusty_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean.mp4"
    masks = tmp_path / "review"
    r = run_cli("restore", str(dusty_clip), "-o", str(out), "--preset", "film", "--save-masks", str(masks), "-q")
    assert r.returncode == 0, r.stderr
    assert video_times(out) == pytest.approx(video_times(dusty_clip), abs=1e-6)
    assert packet_hashes(out, "audio") == packet_hashes(dusty_clip, "audio")  # bit-exact sound
    dust = sorted((masks / "dust").glob("*.png"))
    scratch = sorted((masks / "scratch").glob("*.png"))
    assert [p.name for p in dust] == [f"{i:06d}.png" for i in range(16)] and len(scratch) == 16
    import cv2

    found = sum(int((cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 0).sum()) for p in dust)
    assert found > 100  # the rendered dirt was found and marked for review
    resolved = (tmp_path / "clean.mp4.vidrestore.yaml").read_text()
    assert "enabled: true" in resolved and "save_masks:" in resolved
    before, after = read_frames(dusty_clip), read_frames(out)
    assert len(after) == len(before) == 16
    assert not np.array_equal(before[5], after[5])


def test_save_masks_without_the_film_stage_is_one_clear_line(dusty_clip: Path, tmp_path: Path) -> None:
    r = run_cli("restore", str(dusty_clip), "-o", str(tmp_path / "x.mp4"), "--save-masks", str(tmp_path / "m"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "vidrestore: error: --save-masks needs the film stage: use --preset film (or --set film.enabled=true)"]
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("setting, message", [
    ("film.radus=3", "unknown key 'film.radus' (did you mean 'radius'?)"),
    ("film.radius=0", "film.radius: must be in [1, 8]"),
    ("film.scratch_persistence=9", "film.scratch_persistence: must be in [1, 2 * film.radius + 1]"),
    ("film.dust_sides_agree=-0.1", "film.dust_sides_agree: must be >= 0 (0 = off)"),
])
def test_bad_film_settings_are_refused(dusty_clip: Path, tmp_path: Path, setting: str, message: str) -> None:
    r = run_cli("restore", str(dusty_clip), "-o", str(tmp_path / "x.mp4"), "--preset", "film", "--set", setting)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no output, not even a temporary one


def test_masks_folder_that_is_a_file_is_refused(dusty_clip: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "masks"
    blocker.write_text("not a folder")
    r = run_cli("restore", str(dusty_clip), "-o", str(tmp_path / "x.mp4"), "--preset", "film",
                "--save-masks", str(blocker))
    assert r.returncode == 2 and "--save-masks needs a folder" in r.stderr


def test_chaplin_sound_is_bit_exact_through_the_film_preset(tmp_path: Path) -> None:
    """The real 1910s reel with its MP3 track: a 0.6 s stream copy of it, restored with --preset film."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    src = shared_file("moviepy_media/chaplin.mp4")
    cut = tmp_path / "chaplin_cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-t", "0.6", "-c", "copy", str(cut)], check=True)
    out = tmp_path / "chaplin_film.mp4"
    r = run_cli("restore", str(cut), "-o", str(out), "--preset", "film", "-q")
    assert r.returncode == 0, r.stderr
    assert packet_hashes(out, "audio") == packet_hashes(cut, "audio")
    assert len(packet_hashes(out, "audio")) > 10
    assert len(video_times(out)) == len(video_times(cut))
