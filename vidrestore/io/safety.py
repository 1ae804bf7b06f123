"""File safety: the one place where vidrestore decides what it may write, replace or delete.

Users point vidrestore at folders that hold their only copy of a film scan or a satellite archive,
and they run it as root in containers, under ``timeout`` and systemd. So every writer goes through
this module, and the rules are the same for a video, an image folder, a sidecar, a mask, a report,
a manifest or a GeoTIFF:

* **Only ours is replaced.** An existing regular file is replaced only with ``--overwrite``; an
  existing folder only when it is recognisably an earlier vidrestore output (numbered frames and
  the marker or sidecar) or empty. Devices, FIFOs, sockets, symlinks and foreign folders are
  refused whatever the flags, with one line naming the path (:func:`check_target`).
* **Never onto an input.** A target that is the same inode as any input is refused, however it is
  spelled (hard links, ``./``, symlinked folders).
* **Never through a symlink.** Files are created with ``O_EXCL | O_NOFOLLOW`` under a temporary
  name in the target's own folder; the target is checked again with ``lstat`` just before the
  rename, which replaces the directory entry itself and never writes where a link points.
* **Atomic.** Temporary name (always within the 255-byte file-name limit, see
  :func:`temp_path`), ``fsync``, ``rename``, ``fsync`` of the folder: a reader sees the old file or
  the whole new one, and a full disk leaves the old one intact.
* **Stale temporaries** of runs that died (SIGKILL, power loss) are recognised by the PID in
  their name and removed by the next run of the same output, which says so
  (:func:`clean_stale_temps`).
* **One run per output**: :class:`OutputLock` holds an ``flock`` on ``.OUTPUT.vidrestore-lock``
  beside the output for the life of the run.
* **Work directories** are deleted file by file, only the names the job created, and the folder
  itself only when it is then empty and was created by the job (:func:`remove_workdir`).

Use :func:`atomic_write` for anything written in one piece and :func:`atomic_file` for a file
streamed by a library that wants a path or a file object.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from vidrestore.errors import OutputError, VidrestoreError

log = logging.getLogger(__name__)

#: Most file systems (ext4, xfs, btrfs, APFS, NTFS) allow 255 bytes per name.
NAME_MAX = 255
TMP_TAG = "vidrestore-tmp"
OLD_TAG = "vidrestore-old"
LOCK_TAG = "vidrestore-lock"
#: Dropped inside every image-sequence folder vidrestore writes, so a later run recognises it.
OUTPUT_MARKER = ".vidrestore-output"
_OWN_FRAME = re.compile(r"^frame_\d{6,}\.(png|tif)$")  # the names vidrestore gives the frames it writes
_FRAME = re.compile(r"^(frame_)?\d{4,}\.(png|tif|tiff|jpg|jpeg|dpx|exr)$", re.IGNORECASE)

PathLike = str | os.PathLike[str]


class NoSpaceError(OutputError):
    """The disk holding an output is full (one line, exit 2, what was kept)."""


class RunContext:
    """What the command line said about the whole run: ``--overwrite``, ``--resume`` and the inputs.

    Writers deep inside a stage (masks, reports) consult it, so ``--overwrite`` governs every file
    a run writes and no file of any input is ever a target, without threading both through every
    constructor. ``continuing`` is True in a resumed run and in a worker process that runs segments
    of a job its planner already checked: files the same job wrote earlier (review masks) may be
    there and are this job's own.
    """

    def __init__(self) -> None:
        self.overwrite = False
        self.continuing = False
        self.roots: list[Path] = []
        self.ids: set[tuple[int, int]] = set()

    def set(self, *, overwrite: bool, inputs: Iterable[PathLike], continuing: bool = False) -> None:
        self.overwrite = bool(overwrite)
        self.continuing = bool(continuing)
        self.roots = [Path(p) for p in inputs]
        self.ids = {i for i in map(_identity, input_files(self.roots)) if i is not None}


RUN = RunContext()


# --------------------------------------------------------------------------- names


def _fit(name: str, extra: int) -> str:
    """``name`` shortened (with a hash of the whole, so names stay distinct) to leave ``extra`` bytes."""
    room = NAME_MAX - extra
    if len(name.encode()) <= room:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    keep = name.encode("utf-8", "surrogateescape")[: max(room - 11, 1)].decode("utf-8", "ignore")
    return f"{keep}~{digest}"


def _side_prefix(final: Path, tag: str) -> str:
    """``.NAME.TAG-`` shortened so that a PID (up to 10 digits) and a 16-byte suffix still fit."""
    fixed = len(f"..{tag}-".encode()) + 10 + 16
    return f".{_fit(final.name, fixed)}.{tag}-"


def temp_path(final: PathLike, *, suffix: str = "", tag: str = TMP_TAG, pid: int | None = None) -> Path:
    """The temporary name of ``final`` for this process: ``.NAME.vidrestore-tmp-PID[SUFFIX]``.

    It sits in the same folder (so the final rename never crosses file systems), is hidden, carries
    the PID (so :func:`clean_stale_temps` knows when its writer is dead) and never passes 255 bytes,
    even for a legal 255-byte output name: long names are cut and given a hash.
    """
    final = Path(final)
    return final.with_name(f"{_side_prefix(final, tag)}{os.getpid() if pid is None else pid}{suffix[:16]}")


def sibling(final: PathLike, suffix: str) -> Path:
    """``FINAL`` + ``suffix`` beside it (the config sidecar, the work directory), cut with a hash when
    the whole would pass the 255-byte name limit: a legal long output name still gets both."""
    final = Path(final)
    return final.with_name(_fit(final.name, len(suffix.encode())) + suffix)


def lock_path(final: PathLike) -> Path:
    final = Path(final)
    return final.with_name(f".{_fit(final.name, len(LOCK_TAG) + 2)}.{LOCK_TAG}")


# --------------------------------------------------------------------------- checks


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


def _kind_word(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _identity(path: PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name the same file (same device and inode), however they are spelled."""
    ia, ib = _identity(a), _identity(b)
    return ia is not None and ia == ib


def _real(path: PathLike) -> Path:
    return Path(os.path.realpath(path))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def input_files(inputs: Iterable[PathLike]) -> list[Path]:
    """Every input path, and for a folder input the files directly in it (a sequence's frames)."""
    out: list[Path] = []
    for i in inputs:
        p = Path(i)
        out.append(p)
        if p.is_dir() and not p.is_symlink():
            try:
                out.extend(c for c in p.iterdir() if c.is_file())
            except OSError:
                pass
    return out


def check_not_input(path: PathLike, inputs: Iterable[PathLike], *, what: str = "output", folder: bool = False) -> None:
    """Refuse ``path`` when it is an input, or holds one; a folder (or a numbered image) may not
    lie inside an input folder either, where it would join the input sequence."""
    path = Path(path)
    real = _real(path)
    if RUN.ids and _identity(path) in RUN.ids:
        raise OutputError(f"{path}: {what} is the input (the same file); choose another path (inputs are never modified)")
    for inp in list(inputs) + RUN.roots:
        ip = Path(inp)
        if same_file(path, ip) or real == _real(ip):
            raise OutputError(f"{path}: {what} is the input {ip}; choose another path (inputs are never modified)")
        if (folder or _FRAME.match(path.name)) and ip.is_dir() and _inside(real, _real(ip)):
            raise OutputError(f"{path}: {what} lies inside the input folder {ip}; choose another path")
        if path.is_dir() and _inside(_real(ip), real):
            raise OutputError(f"{path}: {what} folder holds the input {ip}; choose another path")


def is_vidrestore_folder(folder: PathLike) -> bool:
    """Whether ``folder`` is an earlier vidrestore image output: numbered frames and our marker (or
    the ``.vidrestore.yaml`` sidecar beside it), or only frames named as vidrestore names them
    (``frame_NNNNNN.png``), nothing else; an empty folder counts too."""
    folder = Path(folder)
    try:
        names = [e.name for e in os.scandir(folder)]
    except OSError:
        return False
    if not names:
        return True
    marked = OUTPUT_MARKER in names or sibling(folder, ".vidrestore.yaml").is_file()
    if not marked and not all(_OWN_FRAME.match(n) or (n.startswith(".") and TMP_TAG in n) for n in names):
        return False
    return all(_ours_in_folder(e) for e in os.scandir(folder))


def _ours_in_folder(e: os.DirEntry[str]) -> bool:
    """A name vidrestore puts in an output folder: a numbered frame, its marker, a temporary file."""
    if e.name == OUTPUT_MARKER:
        return True
    return e.is_file(follow_symlinks=False) and bool(_FRAME.match(e.name) or
                                                     (e.name.startswith(".") and TMP_TAG in e.name))


SIDECAR_HEADER = b"# resolved vidrestore config"


def is_vidrestore_sidecar(path: PathLike) -> bool:
    """Whether ``path`` is a regular file written by vidrestore's :func:`~vidrestore.config.dump_config`
    (its first line says so): the sidecar of an earlier run of the same output, which that output's
    own checks govern (a resumed job whose output was removed rewrites it)."""
    st = _lstat(Path(path))
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SIDECAR_HEADER)) == SIDECAR_HEADER
    except OSError:
        return False


def check_target(path: PathLike, *, overwrite: bool, inputs: Iterable[PathLike] = (), folder: bool = False,
                 what: str = "output") -> bool:
    """Whether ``path`` may be written: returns True when something is there to replace.

    Refused (one line, :class:`OutputError`): an input; a symlink, device, FIFO or socket; an
    existing file without ``overwrite``; a folder that is not an earlier vidrestore output; a file
    where a folder goes (``folder=True``) or a folder where a file goes; a missing or read-only
    parent folder.
    """
    path = Path(path)
    inputs = list(inputs)
    check_not_input(path, inputs, what=what, folder=folder)
    st = _lstat(path)
    parent = path.parent if str(path.parent) else Path(".")
    pst = _lstat(parent)
    if pst is None or not stat.S_ISDIR(os.stat(parent).st_mode):
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")
    if st is None:
        return False
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        raise OutputError(f"{path}: is a symbolic link; vidrestore never writes through a link "
                          "(remove it or choose another path)")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OutputError(f"{path}: is {_kind_word(mode)}; refusing to write {what} there")
    if stat.S_ISDIR(mode) and not folder:
        raise OutputError(f"{path}: is a folder; {what} is a file (choose another path)")
    if stat.S_ISREG(mode) and folder:
        raise OutputError(f"{path}: is a file, expected a folder for an image sequence")
    if not overwrite:
        raise OutputError(f"{path}: already exists (use --overwrite to replace it)")
    if stat.S_ISDIR(mode) and not is_vidrestore_folder(path):
        raise OutputError(f"{path}: folder holds files vidrestore did not write; refusing to replace it even with "
                          "--overwrite (choose a new folder)")
    return True


# --------------------------------------------------------------------------- writing


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_new(path: PathLike, *, mode: int = 0o644) -> int:
    """Create ``path`` exclusively, never following a symlink (``O_EXCL | O_NOFOLLOW``); a file descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, mode)


def space_error(err: OSError, path: PathLike, *, kept: str = "") -> NoSpaceError:
    """The one-line error for a full disk: which device, which output, what was kept."""
    path = Path(path)
    dev = _mount_of(path.parent if str(path.parent) else Path("."))
    tail = f"; {kept}" if kept else "; nothing was written under its name"
    return NoSpaceError(f"{path}: no space left on {dev} for {path.name}{tail}")


def _mount_of(folder: Path) -> str:
    """The mount point (and device) holding ``folder``, for the full-disk message."""
    try:
        target = os.stat(folder).st_dev
        best = ""
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 2:
                    continue
                mnt = parts[1].replace("\\040", " ")
                try:
                    if os.stat(mnt).st_dev == target and len(mnt) > len(best):
                        best, source = mnt, parts[0]
                except OSError:
                    continue
        if best:
            return f"{source} (mounted at {best})"
    except OSError:
        pass
    return "the device"


def is_no_space(err: BaseException | None) -> bool:
    """Whether ``err`` (or what caused it) is a full disk or an exceeded quota."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(err):
            return True
        err = err.__cause__ or err.__context__
        seen += 1
    return False


def _unlink_quiet(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def place(temp: PathLike, final: PathLike, *, overwrite: bool, inputs: Iterable[PathLike] = (),
          folder: bool = False, what: str = "output") -> None:
    """Rename a finished ``temp`` onto ``final`` after checking ``final`` again (it may have changed
    during a long run: a symlink planted, a file created without ``--overwrite``)."""
    temp, final = Path(temp), Path(final)
    existed = check_target(final, overwrite=overwrite, inputs=inputs, folder=folder, what=what)
    if folder and existed:
        old = temp_path(final, tag=OLD_TAG)
        os.rename(final, old)
        try:
            os.rename(temp, final)
        except BaseException:
            os.rename(old, final)  # the earlier output stays as it was
            raise
        remove_output_folder(old)
    else:
        os.rename(temp, final)
    _fsync_dir(final.parent if str(final.parent) else Path("."))


def atomic_write(path: PathLike, data: bytes | str, *, overwrite: bool = False, inputs: Iterable[PathLike] = (),
                 what: str = "output", mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically under the rules of this module; returns ``path``.

    The file appears whole or not at all: temporary name, ``fsync``, checked rename. A full disk
    raises :class:`NoSpaceError` and leaves any old file as it was.
    """
    with atomic_file(path, overwrite=overwrite, inputs=inputs, what=what, mode=mode) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


@contextmanager
def _temp_of(tmp: Path, path: Path) -> Iterator[None]:
    """Track ``tmp`` (this run's temporary for ``path``) while the block runs; on any error remove it
    and report a full disk as :class:`NoSpaceError` naming ``path``."""
    _register_temp(tmp)
    try:
        yield
    except BaseException as err:
        _unlink_quiet(tmp)
        if isinstance(err, OSError) and is_no_space(err):
            raise space_error(err, path) from err
        raise
    finally:
        _forget_temp(tmp)


@contextmanager
def atomic_file(path: PathLike, *, overwrite: bool = False, inputs: Iterable[PathLike] = (), what: str = "output",
                mode: int = 0o644, suffix: str = "") -> Iterator[IO[bytes]]:
    """A binary file object writing to a temporary name; renamed onto ``path`` when the block ends
    without an error, removed otherwise. ``suffix`` keeps an extension on the temporary name for
    libraries that choose the format by it."""
    path = Path(path)
    inputs = list(inputs)
    check_target(path, overwrite=overwrite, inputs=inputs, what=what)
    tmp = temp_path(path, suffix=suffix)
    try:
        fd = open_new(tmp, mode=mode)
    except OSError as err:
        if is_no_space(err):
            raise space_error(err, path) from err
        raise OutputError(f"{path}: cannot create {what} ({err.strerror or err})") from err
    with _temp_of(tmp, path):
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        place(tmp, path, overwrite=overwrite, inputs=inputs, what=what)


@contextmanager
def temp_target(path: PathLike, *, overwrite: bool = False, inputs: Iterable[PathLike] = (), what: str = "output",
                suffix: str = "") -> Iterator[Path]:
    """A temporary path for a library that can only write to a path (OpenCV, rasterio, matplotlib):
    it must create the file there; it is then checked and renamed onto ``path``, or removed."""
    path = Path(path)
    inputs = list(inputs)
    check_target(path, overwrite=overwrite, inputs=inputs, what=what)
    tmp = temp_path(path, suffix=suffix)
    if _lstat(tmp) is not None:
        raise OutputError(f"{tmp}: a temporary file of this process already exists")
    with _temp_of(tmp, path):
        yield tmp
        st = _lstat(tmp)
        if st is None or not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{path}: {what} was not written")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        place(tmp, path, overwrite=overwrite, inputs=inputs, what=what)


def make_folder(path: PathLike, *, what: str = "output folder", marker: bool = True) -> None:
    """Create a new folder (its parent must exist), with the marker that makes it recognisably ours
    (``marker=False`` for image outputs, which are recognised by their ``frame_NNNNNN`` names)."""
    path = Path(path)
    try:
        os.mkdir(path)
    except OSError as err:
        if is_no_space(err):
            raise space_error(err, path) from err
        raise OutputError(f"{path}: cannot create {what} ({err.strerror or err})") from err
    if not marker:
        return
    fd = open_new(path / OUTPUT_MARKER)
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"written by vidrestore; a later run with --overwrite may replace this folder\n")


def remove_output_folder(folder: PathLike) -> None:
    """Delete a folder vidrestore wrote: its numbered frames and marker only, then the folder if empty.

    Never ``rmtree``: whatever else appeared in it (a user's file) is kept, and so is the folder.
    """
    folder = Path(folder)
    st = _lstat(folder)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return
    kept = []
    for e in os.scandir(folder):
        if _ours_in_folder(e):
            _unlink_quiet(Path(e.path))
        else:
            kept.append(e.name)
    if kept:
        log.warning("%s: kept, it holds files vidrestore did not write (%s)", folder, ", ".join(sorted(kept)[:3]))
        return
    try:
        os.rmdir(folder)
    except OSError:
        pass


# --------------------------------------------------------------------------- temporaries of this run


_TEMPS: set[Path] = set()
_TEMPS_LOCK = threading.Lock()


def _register_temp(p: Path) -> None:
    with _TEMPS_LOCK:
        _TEMPS.add(p)


def _forget_temp(p: Path) -> None:
    with _TEMPS_LOCK:
        _TEMPS.discard(p)


def remove_own_temps() -> None:
    """Remove the temporary files this process still has open (signal, crash): nothing partial stays."""
    with _TEMPS_LOCK:
        temps = list(_TEMPS)
        _TEMPS.clear()
    for p in temps:
        st = _lstat(p)
        if st is None:
            continue
        if stat.S_ISDIR(st.st_mode):
            remove_output_folder(p)
        else:
            _unlink_quiet(p)


# --------------------------------------------------------------------------- stale temporaries


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (``EPERM`` means it does, owned by someone else)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def clean_stale_temps(final: PathLike) -> list[Path]:
    """Remove ``.NAME.vidrestore-tmp-PID*`` and ``-old-PID`` leftovers of ``final`` whose run is dead.

    Only names this module makes are touched, and only when their PID no longer runs; folders lose
    only their frames and marker. Each removal is logged, so the user knows what went.
    """
    final = Path(final)
    parent = final.parent if str(final.parent) else Path(".")
    removed: list[Path] = []
    prefixes = [_side_prefix(final, TMP_TAG), _side_prefix(final, OLD_TAG)]
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for e in entries:
        for prefix in prefixes:
            if not e.name.startswith(prefix):
                continue
            m = re.match(r"(\d+)", e.name[len(prefix):])
            if not m or pid_alive(int(m.group(1))):
                continue
            p = Path(e.path)
            if e.is_dir(follow_symlinks=False):
                remove_output_folder(p)
            elif e.is_file(follow_symlinks=False) or e.is_symlink():
                _unlink_quiet(p)
            else:
                continue
            if _lstat(p) is None:
                removed.append(p)
                log.warning("%s: removed a temporary file left by an interrupted run (pid %s, no longer running)",
                            p, m.group(1))
    return removed


# --------------------------------------------------------------------------- lock


_LOCKS: list[OutputLock] = []


class OutputLock:
    """An exclusive ``flock`` on ``.OUTPUT.vidrestore-lock`` so that two runs never write one output.

    The kernel drops an ``flock`` when its holder dies (even by SIGKILL), so a leftover lock file
    never blocks a later run; the file is removed on :meth:`release`.
    """

    def __init__(self, final: PathLike) -> None:
        self.final = Path(final)
        self.path = lock_path(self.final)
        self._fd: int | None = None

    def acquire(self) -> OutputLock:
        import fcntl

        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as err:
                if is_no_space(err):
                    raise space_error(err, self.final) from err
                raise OutputError(f"{self.final}: cannot create the lock file {self.path.name} "
                                  f"({err.strerror or err})") from err
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise OutputError(f"{self.final}: another vidrestore run{who} is writing this output; "
                                  "wait for it to finish or choose another output") from err
            # the previous holder may have removed the file between our open and our flock
            if _identity(self.path) != (os.fstat(fd).st_dev, os.fstat(fd).st_ino):
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            _LOCKS.append(self)
            return self
        raise OutputError(f"{self.final}: could not lock the output (its lock file keeps changing)")

    def release(self) -> None:
        if self._fd is None:
            return
        _unlink_quiet(self.path)
        os.close(self._fd)
        self._fd = None
        if self in _LOCKS:
            _LOCKS.remove(self)

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def release_all() -> None:
    """Release every output lock and remove every temporary file this process holds (at exit)."""
    remove_own_temps()
    for lk in list(_LOCKS):
        lk.release()


# --------------------------------------------------------------------------- work directories


def _own_workdir_name(name: str, owned: Sequence[str]) -> bool:
    return (name in owned or TMP_TAG in name or OLD_TAG in name or LOCK_TAG in name
            or name.startswith(".manifest.json.tmp") or name == OUTPUT_MARKER)


def check_workdir(workdir: PathLike, *, inputs: Iterable[PathLike], outputs: Iterable[PathLike],
                  owned: Sequence[str] = ("manifest.json", "lock")) -> None:
    """Refuse a work directory that is, holds or lies above any input or output, or that holds
    files of someone else (it must be new, empty, or a vidrestore work directory with its manifest).
    The work directory is deleted after the job, so it must never be a folder the user cares about."""
    from vidrestore.errors import ConfigError

    wd = Path(workdir)
    real = _real(wd)
    for p in list(inputs) + list(outputs):
        rp = _real(p)
        if _inside(rp, real):
            raise ConfigError(f"jobs.workdir: {wd} is or holds {p}; the work directory is deleted after the job, "
                              "choose a new folder of its own")
        if rp == real or (Path(p).is_dir() and _inside(real, rp)):
            raise ConfigError(f"jobs.workdir: {wd} lies inside {p}; choose a folder outside the inputs and outputs")
    st = _lstat(wd)
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"jobs.workdir: {wd} is {'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'not a folder'};"
                          " choose a new folder")
    names = os.listdir(wd)
    if names and "manifest.json" not in names:
        raise ConfigError(f"jobs.workdir: {wd} holds files that are not a vidrestore job's ({', '.join(sorted(names)[:3])}"
                          f"{', ...' if len(names) > 3 else ''}); choose a new or empty folder")


def make_workdir(workdir: PathLike) -> bool:
    """Create the work directory (its parent must exist); True when this call created it."""
    from vidrestore.errors import ConfigError

    wd = Path(workdir)
    try:
        os.mkdir(wd)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        if is_no_space(err):
            raise space_error(err, wd) from err
        raise ConfigError(f"jobs.workdir: cannot create {wd} ({err.strerror or err})") from err


def remove_workdir(workdir: PathLike, owned: Sequence[str], *, created: bool) -> None:
    """Delete what the job put in its work directory (``owned`` names: manifest, lock, parts) and the
    folder itself when it is then empty and the job ``created`` it. Foreign files stay, with a warning."""
    wd = Path(workdir)
    st = _lstat(wd)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return
    kept: list[str] = []
    for e in os.scandir(wd):
        p = Path(e.path)
        if not _own_workdir_name(e.name, owned):
            kept.append(e.name)
        elif e.is_dir(follow_symlinks=False):
            remove_output_folder(p)
            if _lstat(p) is not None:
                kept.append(e.name)
        else:
            _unlink_quiet(p)
    if kept:
        log.warning("%s: work directory kept, it holds files the job did not create (%s)", wd,
                    ", ".join(sorted(kept)[:3]))
        return
    if created:
        try:
            os.rmdir(wd)
        except OSError:
            pass


def reject_if_special(path: PathLike, what: str = "file") -> None:
    """Refuse to read a device, FIFO or socket as ``what`` (a FIFO would hang the run forever)."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise VidrestoreError(f"{path}: is {_kind_word(st.st_mode)}, not a {what}")
