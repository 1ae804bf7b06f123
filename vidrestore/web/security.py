"""Where the web app may read and write, and who may ask it to.

The app is a door onto folders that hold an archive's only copy of a reel, so every path a request
names is resolved here and refused (HTTP 403) unless it lies under one of the roots given to
``vidrestore serve --root``: no ``..`` component, no absolute path, no percent-encoded separator or
dot left after the framework's one decoding (a double-encoded ``%252e%252e`` would otherwise reach
the disk as a literal name and be decoded again by some other layer), no backslash, and no symbolic
link whose target leaves the root. Paths travel as ``ROOT/relative/path`` where ``ROOT`` is the
root's short name, so the server never sees (or shows) an absolute path from the page.

The token: a server bound to anything but loopback must have one; it is compared in constant time
on every request (header, cookie or ``?token=``, the last one only to set the cookie of a browser).
Without a token the server answers only requests whose ``Host`` is a loopback name, so a web page
elsewhere cannot reach it by DNS rebinding.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vidrestore.errors import ConfigError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
_ENCODED = re.compile(r"%(2e|2f|5c|25|00)", re.IGNORECASE)
_ROOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class Forbidden(Exception):
    """A request named a path outside the roots (or a malformed one); the app answers 403."""


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token (one line, exit code 2 from the CLI)."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"--host {host}: serving beyond this machine needs --token TOKEN "
                          "(every request must then carry it); or keep the default --host 127.0.0.1")
    if token is not None and len(token) < 8:
        raise ConfigError("--token: use at least 8 characters")


def token_ok(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def host_is_local(host_header: str) -> bool:
    """The ``Host`` header names this machine (``localhost:8765``, ``127.0.0.1``, ``[::1]:80``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in LOOPBACK_NAMES or is_loopback(host)


@dataclass(frozen=True)
class Root:
    name: str
    path: Path  # resolved (real) path


class Roots:
    """The folders the app may read and write, each under a short unique name."""

    def __init__(self, folders: list[str | os.PathLike[str]]) -> None:
        roots: list[Root] = []
        for folder in folders:
            real = Path(folder).expanduser().resolve()
            if not real.is_dir():
                raise ConfigError(f"--root {folder}: not a folder")
            base = _ROOT_NAME.sub("-", real.name) or "root"
            name, n = base, 2
            while any(r.name == name for r in roots):
                name, n = f"{base}-{n}", n + 1
            roots.append(Root(name, real))
        if not roots:
            raise ConfigError("serve: give at least one --root folder")
        self.roots = roots

    def by_name(self, name: str) -> Root:
        for r in self.roots:
            if r.name == name:
                return r
        raise Forbidden(f"{name}: not a root of this server")

    def resolve(self, ref: str, *, must_exist: bool = False) -> Path:
        """``ROOT/rel/path`` -> its real path under that root, or :class:`Forbidden`."""
        if not isinstance(ref, str) or not ref or "\x00" in ref or "\\" in ref or _ENCODED.search(ref):
            raise Forbidden(f"{ref!r}: not a path of this server")
        if ref.startswith("/") or re.match(r"^[A-Za-z]:", ref):
            raise Forbidden(f"{ref}: absolute paths are refused; name a file under a root")
        parts = ref.split("/")
        if any(p in ("..", ".") for p in parts):
            raise Forbidden(f"{ref}: '.' and '..' are refused")
        root = self.by_name(parts[0])
        rel = [p for p in parts[1:] if p]
        candidate = root.path.joinpath(*rel)
        real = candidate.resolve()  # follows every link, so a link leading out is caught below
        if not _inside(real, root.path):
            raise Forbidden(f"{ref}: leads outside the root {root.name}")
        if must_exist and not real.exists():
            raise FileNotFoundError(ref)
        return real

    def ref_of(self, path: Path) -> str | None:
        """The ``ROOT/rel`` name of a real path under a root (None if it is under none)."""
        real = Path(path).resolve()
        for r in self.roots:
            if _inside(real, r.path):
                rel = real.relative_to(r.path).as_posix()
                return r.name if rel == "." else f"{r.name}/{rel}"
        return None

    def contains(self, path: str | os.PathLike[str]) -> bool:
        real = Path(path).resolve()
        return any(_inside(real, r.path) for r in self.roots)


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def inside(child: str | os.PathLike[str], parent: Path) -> bool:
    return _inside(Path(child).resolve(), parent.resolve())
