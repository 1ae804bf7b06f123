"""What --resume compares: input identity and the config minus the keys that cannot change pixels."""

from __future__ import annotations

import os
from pathlib import Path

from vidrestore.config import config_to_dict, load_config
from vidrestore.jobs.manifest import config_changes, config_hash, hashed_config, identity_changes, input_identity


def test_input_identity_sees_size_mtime_and_content(tmp_path: Path) -> None:
    f = tmp_path / "in.bin"
    f.write_bytes(b"a" * 5000)
    base = input_identity(f)
    assert identity_changes(base, input_identity(f)) == []
    os.utime(f, ns=(base["mtime_ns"], base["mtime_ns"] + 10**9))
    changes = identity_changes(base, input_identity(f))
    assert len(changes) == 1 and changes[0].startswith("modification time")
    f.write_bytes(b"a" * 4999 + b"b")  # same size, other bytes, new mtime
    os.utime(f, ns=(base["mtime_ns"], base["mtime_ns"]))
    assert identity_changes(base, input_identity(f)) == ["content of the first MiB differs"]
    f.write_bytes(b"a" * 5001)
    assert "size in bytes 5000 -> 5001" in identity_changes(base, input_identity(f))
    moved = tmp_path / "moved.bin"
    f.write_bytes(b"a" * 5000)
    os.utime(f, ns=(base["mtime_ns"], base["mtime_ns"]))
    f.rename(moved)
    assert identity_changes(base, input_identity(moved)) == []  # a moved file is the same input


def test_image_folder_identity(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"f_{i:03d}.png").write_bytes(bytes([i]) * 10)
    base = input_identity(tmp_path)
    (tmp_path / "f_003.png").write_bytes(b"x" * 10)
    changes = identity_changes(base, input_identity(tmp_path))
    assert "number of images 3 -> 4" in changes and "image names differs" in changes


def test_config_hash_ignores_engine_keys_only() -> None:
    a = config_to_dict(load_config(preset="passthrough"))
    same = config_to_dict(load_config(preset="passthrough", overrides=["jobs.engine=ray", "jobs.workers=4",
                                                                       "jobs.segment_frames=10", "io.threads=3",
                                                                       "io.queue_size=2"]))
    assert config_hash(a) == config_hash(same)
    other = config_to_dict(load_config(preset="passthrough", overrides=["restorer.scale=2", "encode.crf=20"]))
    assert config_hash(a) != config_hash(other)
    assert config_changes(hashed_config(a), hashed_config(other)) == ["encode.crf: 15 -> 20", "restorer.scale: 1.0 -> 2.0"]
    assert not any(k.startswith("jobs.") for k in hashed_config(a)) and "encode.options" in hashed_config(a)
