"""``python -m tests.jobs.cli_main ARGS``: the vidrestore CLI with the test processors registered.

With ``VIDRESTORE_TEST_SEGMENT_DELAY_MS`` set, every segment of a local job ends with that pause
(the job is then slow enough to be killed half way, whatever its processor).
"""

from __future__ import annotations

import os
import sys
import time

from tests.jobs.clips import SEGMENT_DELAY_ENV, register
from vidrestore.cli import main


def _slow_segments(delay_s: float) -> None:
    from vidrestore.jobs import runner

    inner = runner.run_segment

    def run_segment(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - same signature as the wrapped one
        result = inner(*args, **kwargs)
        time.sleep(delay_s)
        return result

    runner.run_segment = run_segment


if __name__ == "__main__":
    register()
    delay = float(os.environ.get(SEGMENT_DELAY_ENV, "0") or 0) / 1000.0
    if delay:
        _slow_segments(delay)
    sys.exit(main(sys.argv[1:]))
