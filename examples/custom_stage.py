"""A custom stage: a FrameProcessor in about 30 lines, registered and run through the Python API.

``Ghost`` blends every frame with the one before it. It declares its temporal reach (one frame of
warm-up, no look-ahead), so segmented jobs, resume and ``frames=`` previews feed it exactly the
frames it needs and give the frames of one uninterrupted pass.

    python examples/custom_stage.py OUTPUT            (a video file or a folder of PNG frames)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vidrestore import api
from vidrestore.pipeline.factory import PROCESSORS
from vidrestore.types import Frame, OutputSpec, VideoInfo

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "moving.mp4"


class Ghost:
    """Each output frame is 3/4 of its input frame and 1/4 of the previous input frame."""

    uses_pixels = True  # it reads pixels (a stage that only retimes would say False)
    warmup_frames = 1  # an output needs the frame before it
    lookahead_frames = 0

    def output_spec(self, info: VideoInfo, frame_size: tuple[int, int]) -> OutputSpec:
        return OutputSpec(width=frame_size[0], height=frame_size[1], time_base=info.time_base,
                          rate=info.avg_rate, num_frames=info.num_frames, bit_depth=16 if info.is_high_bit_depth else 8)

    def process(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        previous = None  # a fresh state on every call: segments start clean
        for frame in frames:
            rgb = frame.rgb.astype(np.uint32)
            out = rgb if previous is None else (3 * rgb + previous + 2) // 4
            previous = rgb
            yield frame.with_rgb(out.astype(frame.rgb.dtype))

    def stats(self) -> dict[str, int]:
        return {}


def build_ghost(cfg: object, info: VideoInfo) -> Ghost:
    return Ghost()


def main(output: str) -> None:
    PROCESSORS["ghost"] = f"{__name__}:build_ghost"  # chosen by restorer.name, like any restorer
    result = api.restore(SAMPLE, output, overrides=("restorer.name=ghost",), overwrite=True)
    print(f"{result.output}: {result.frames_out} frames in {result.seconds:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ghost.mp4")
