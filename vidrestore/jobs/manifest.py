"""The work directory of a segmented job and its JSON manifest.

``WORKDIR/manifest.json`` says what the job is and how far it got:

* ``input``: identity of the input (size, mtime, sha256 of its first MiB; for a folder of images,
  the file names, their total size, the newest mtime and the first file's head);
* ``config_hash`` and ``config``: the resolved config minus the keys that cannot change an output
  pixel (:data:`NEUTRAL_KEYS`), so that ``--resume`` can name what changed;
* ``output``: the kind of output (video container or image folder) the parts were made for;
* ``segments``: the plan, and per segment its status (``pending``/``done``), the part file, its
  frame count, byte size and sha256, the seconds it took and the run that made it;
* ``runs``: one entry per start or resume (engine, segments found done, segments computed).

The manifest is rewritten atomically (temporary file, fsync, rename) after every finished segment,
so a crash at any moment leaves either the old or the new manifest. Parts are written under a
temporary name and renamed when complete; a part counts as done only once the manifest says so and
its sha256 still matches. A lock file keeps two jobs from sharing a work directory.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidrestore.errors import ResumeError, VidrestoreError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = "lock"
FORMAT = "vidrestore-job"
VERSION = 1
HEAD_BYTES = 1 << 20

#: Config keys that never change output pixels: left out of the config hash (``preset`` is only
#: the name the config came from; a resumed job may use another engine, worker count, segment size
#: or thread count).
NEUTRAL_KEYS = frozenset({"preset", "jobs", "io.threads", "io.queue_size", "film.parallel"})


class WorkdirBusyError(VidrestoreError):
    """Another vidrestore process holds the work directory."""


def sha256_file(path: Path, *, limit: int | None = None, chunk: int = 1 << 20) -> str:
    """sha256 of a file (of its first ``limit`` bytes when given)."""
    h = hashlib.sha256()
    left = limit
    with open(path, "rb") as fh:
        while left is None or left > 0:
            block = fh.read(chunk if left is None else min(chunk, left))
            if not block:
                break
            h.update(block)
            if left is not None:
                left -= len(block)
    return h.hexdigest()


def sha256_tree(folder: Path) -> str:
    """sha256 over the names and contents of the files of a folder (sorted, not recursive)."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file():
            h.update(p.name.encode())
            h.update(bytes.fromhex(sha256_file(p)))
    return h.hexdigest()


def input_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What identifies the input for ``--resume``: sizes, mtimes and the hash of the first MiB."""
    p = Path(path)
    if p.is_dir():
        from vidrestore.io.images import list_images

        files = sorted(list_images(p))
        stats = [f.stat() for f in files]
        names = hashlib.sha256("\n".join(f.name for f in files).encode()).hexdigest()
        return {
            "path": str(p.resolve()), "kind": "images", "files": len(files), "names_sha256": names,
            "size": sum(s.st_size for s in stats), "mtime_ns": max((s.st_mtime_ns for s in stats), default=0),
            "head_sha256": sha256_file(files[0], limit=HEAD_BYTES) if files else "",
        }
    st = p.stat()
    return {"path": str(p.resolve()), "kind": "file", "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "head_sha256": sha256_file(p, limit=HEAD_BYTES)}


def identity_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two input identities (the path may differ: a moved file is fine)."""
    labels = {"kind": "type", "files": "number of images", "names_sha256": "image names", "size": "size in bytes",
              "mtime_ns": "modification time", "head_sha256": "content of the first MiB"}
    out = []
    for key, label in labels.items():
        if old.get(key) != new.get(key):
            if key == "mtime_ns":
                out.append(f"{label} {_fmt_ns(old.get(key))} -> {_fmt_ns(new.get(key))}")
            elif key in ("size", "files", "kind"):
                out.append(f"{label} {old.get(key)} -> {new.get(key)}")
            else:
                out.append(f"{label} differs")
    return out


def _fmt_ns(ns: Any) -> str:
    try:
        return _dt.datetime.fromtimestamp(int(ns) / 1e9).isoformat(timespec="seconds")
    except (TypeError, ValueError, OSError):
        return str(ns)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def hashed_config(cfg_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The flattened config without :data:`NEUTRAL_KEYS` (what ``--resume`` compares)."""
    flat = _flatten(cfg_dict)
    return {k: v for k, v in sorted(flat.items())
            if k not in NEUTRAL_KEYS and k.split(".", 1)[0] not in NEUTRAL_KEYS}


def config_hash(cfg_dict: Mapping[str, Any]) -> str:
    text = json.dumps(hashed_config(cfg_dict), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 4) -> list[str]:
    """``key: old -> new`` for the hashed keys that differ (at most ``limit``, then a count)."""
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {old.get(k, '(unset)')!r} -> {new.get(k, '(unset)')!r}" for k in keys if old.get(k) != new.get(k)]
    if len(diffs) > limit:
        diffs = diffs[:limit] + [f"and {len(diffs) - limit} more"]
    return diffs


def resume_config_changes(data: Mapping[str, Any], cfg_dict: Mapping[str, Any]) -> list[str]:
    """What differs between the config a manifest recorded and ``cfg_dict`` (``[]``: resumable).

    A job started before a config key moved (see ``vidrestore.config.renames``) recorded it under
    its old name: those keys are read under their new names, so renaming a key never blocks the
    resume of a job that was interrupted across the upgrade. A key added since, still at its
    default, is not a change either: a new knob's default keeps what the release before it did. A
    knob whose default does something new declares what came before (``knob(..., before=)``): for
    a job of the command its section belongs to (``interpolate.*`` for ``vidrestore interpolate``),
    that value is the one that resumes, and the default is a change; other commands never read it.
    """
    if data.get("config_hash") == config_hash(cfg_dict):
        return []
    new = json.loads(json.dumps(hashed_config(cfg_dict), default=str))
    old = _renamed_keys(data.get("config", {}))
    if old:
        defaults = _default_flat()
        # a knob declared with before= stood at that value in the job (the refusal then names both values)
        before = _before_keys(str(data.get("command", "")))
        old.update({k: v for k, v in before.items() if k not in old and k in defaults})
        new = {k: v for k, v in new.items() if k in old or k not in defaults or v != defaults[k]}
    if old == new:
        return []
    return config_changes(old, new) or ["the config hash differs"]


def _before_keys(command: str) -> dict[str, Any]:
    """The knobs of ``command``'s own section declared with ``before=``, and that value (as a manifest holds it)."""
    from vidrestore.config import Config
    from vidrestore.sections import values_before

    return {k: json.loads(json.dumps(v, default=str)) for k, v in values_before(Config()).items()
            if command and k.split(".", 1)[0] == command}


def _default_flat() -> dict[str, Any]:
    """Every hashed key at its default (what a key a manifest does not know was, before it existed)."""
    from vidrestore.config import Config, config_to_dict

    return json.loads(json.dumps(hashed_config(config_to_dict(Config())), default=str))


def _renamed_keys(flat: Mapping[str, Any]) -> dict[str, Any]:
    from vidrestore.config import renames
    from vidrestore.sections import rename_key

    table = renames()
    return {rename_key(k, v, table)[0]: v for k, v in flat.items()}


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Manifest:
    """The job's state on disk (see the module docstring); ``save`` writes it atomically."""

    workdir: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.workdir / MANIFEST

    @property
    def segments(self) -> list[dict[str, Any]]:
        return self.data["segments"]

    def segment(self, seg_id: int) -> dict[str, Any]:
        entry = self.segments[seg_id]
        if entry["id"] != seg_id:
            raise VidrestoreError(f"{self.path}: segment list out of order (entry {seg_id} is {entry['id']})")
        return entry

    def done_ids(self) -> list[int]:
        return [s["id"] for s in self.segments if s["status"] == "done"]

    def save(self) -> None:
        self.data["updated"] = now_iso()
        from vidrestore.io import safety

        text = json.dumps(self.data, indent=1, default=str)
        safety.atomic_write(self.path, text, overwrite=True, what="job manifest")

    @classmethod
    def load(cls, workdir: Path) -> Manifest:
        path = workdir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ResumeError(f"{path}: cannot read the job manifest ({err.strerror or err})") from err
        except json.JSONDecodeError as err:
            raise ResumeError(f"{path}: the job manifest is damaged ({err.msg} at line {err.lineno}); "
                              "remove the work directory to start again") from err
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ResumeError(f"{path}: not a vidrestore job manifest")
        if data.get("version") != VERSION:
            raise ResumeError(f"{path}: job manifest version {data.get('version')} is not {VERSION}; "
                              "finish it with the vidrestore that started it, or remove the work directory")
        return cls(workdir=workdir, data=data)


@contextmanager
def workdir_lock(workdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on WORKDIR for the life of the job (released even by kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    fh = open(workdir / LOCK, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise WorkdirBusyError(f"{workdir}: another vidrestore job is using this work directory") from err
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()
