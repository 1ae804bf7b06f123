"""The one place the web app reaches the Python API (the CLI's front door, ``vidrestore.api``)."""

from __future__ import annotations

try:
    from vidrestore.api import Cancelled, JobSpec, Progress, command_line, load_config, run
except ImportError:  # pragma: no cover - until issue 21's api.py is merged
    from vidrestore.web._adapter import Cancelled, JobSpec, Progress, command_line, load_config, run

__all__ = ["Cancelled", "JobSpec", "Progress", "command_line", "load_config", "run"]
