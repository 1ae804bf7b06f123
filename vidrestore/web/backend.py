"""The one place the web app reaches the Python API (``vidrestore.api``, the CLI's front door too),
so a job started from the page resolves, decides and runs exactly as the same command would."""

from __future__ import annotations

from vidrestore.api import Cancelled, JobSpec, Progress, command_line, load_config, run

__all__ = ["Cancelled", "JobSpec", "Progress", "command_line", "load_config", "run"]
