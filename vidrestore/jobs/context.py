"""Job-wide facts a segmented job computes once, before its segments run, and hands to every segment.

A segment sees only its own frames (plus its reach), yet some decisions of an uninterrupted run
depend on the whole video. The job computes those facts here, in one pass over the input, keeps
them in the manifest (so a resumed job reuses them) and gives them to each segment's processor
through ``use_job_context`` (:mod:`vidrestore.jobs.worker`). The stage packages only receive the
facts; reading frames for them is the job's business, so it lives in this layer.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidrestore.config import Config
    from vidrestore.jobs.plan import FrameTable
    from vidrestore.types import VideoInfo

log = logging.getLogger(__name__)


def interpolation_context(info: VideoInfo, table: FrameTable, cfg: Config) -> dict[str, Any]:
    """What every segment of an interpolation job needs to know about the whole video.

    ``origin``: the first frame's time (exact ``num/den`` seconds), where the ``--fps`` grid starts;
    ``scene_cuts``: the frames that start a shot, from one pass of the scene-cut detector over
    every input frame (None when ``flow.scene_cut`` is off), pushed exactly as the streaming
    interpolator pushes them (:func:`~vidrestore.interpolate.processor.starts_shot`), so every
    segment decides as an uninterrupted run does. Decodes the video once.
    """
    from vidrestore.flow.scenecut import SceneCutDetector
    from vidrestore.interpolate.processor import starts_shot
    from vidrestore.jobs.media import frame_time, read_range

    if not cfg.flow.scene_cut:
        first = next(iter(read_range(info, table, 0, 1, io_cfg=cfg.io)), None)
        return {"origin": str(frame_time(first)) if first is not None else None, "scene_cuts": None}
    detector = SceneCutDetector(threshold=cfg.flow.scene_cut_threshold)
    origin: Fraction | None = None
    cuts: list[int] = []
    for frame in read_range(info, table, 0, table.count, io_cfg=cfg.io):
        if starts_shot(detector, frame.rgb) and origin is not None:
            cuts.append(frame.index)
        if origin is None:
            origin = frame_time(frame)
    log.info("interpolate: %d scene cuts in %d frames%s", len(cuts), table.count,
             f" (first at frame {cuts[0]})" if cuts else "")
    return {"origin": str(origin) if origin is not None else None, "scene_cuts": cuts}
