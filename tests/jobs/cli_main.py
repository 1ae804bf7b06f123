"""``python -m tests.jobs.cli_main ARGS``: the vidrestore CLI with the test processors registered."""

from __future__ import annotations

import sys

from tests.jobs.clips import register
from vidrestore.cli import main

if __name__ == "__main__":
    register()
    sys.exit(main(sys.argv[1:]))
