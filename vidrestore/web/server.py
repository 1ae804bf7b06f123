"""Start the web app: check the bind, resolve the roots and the state folder, run uvicorn."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from vidrestore.errors import ConfigError
from vidrestore.web.security import Roots, check_bind, is_loopback


def default_state_dir() -> Path:
    """Where jobs, previews and their caches live: ``$XDG_STATE_HOME/vidrestore/serve``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vidrestore" / "serve"


def prepare(*, roots: list[str], host: str, port: int, token: str | None, state_dir: str | None,
            max_running: int = 1):  # noqa: ANN201 - ServerConfig, imported lazily with FastAPI
    """Everything ``serve`` checks before it listens; returns the app's config (tests call it too)."""
    check_bind(host, token)
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port}: must be in 1..65535")
    if max_running < 1:
        raise ConfigError(f"--jobs {max_running}: must be >= 1")
    try:
        from vidrestore.web.app import ServerConfig
    except ImportError as err:
        raise ConfigError(f"vidrestore serve needs the web extra ({err.name} is missing): "
                          "pip install 'vidrestore[web]'") from err
    state = Path(state_dir).expanduser() if state_dir else default_state_dir()
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--state-dir {state}: cannot create it ({err.strerror or err})") from err
    if not state.is_dir():
        raise ConfigError(f"--state-dir {state}: not a folder")
    return ServerConfig(roots=Roots(roots or ["."]), state_dir=state.resolve(), token=token, max_running=max_running)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), port))
        except OSError as err:
            raise ConfigError(f"--host {host} --port {port}: cannot listen there ({err.strerror or err})") from err


def serve(*, roots: list[str], host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
          state_dir: str | None = None, max_running: int = 1, quiet: bool = False) -> None:
    config = prepare(roots=roots, host=host, port=port, token=token, state_dir=state_dir, max_running=max_running)
    _check_port_free(host, port)
    import uvicorn

    from vidrestore.web.app import create_app

    app = create_app(config)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/" + (f"?token={token}" if token else "")
    if not quiet:
        print(f"vidrestore serve: {url}  (roots: {', '.join(f'{r.name}={r.path}' for r in config.roots.roots)}; "
              f"state: {config.state_dir}{'' if is_loopback(host) else '; token required'})", flush=True)
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning", access_log=False)
