"""Scene cuts with a bounded memory, so a segment of a long reel finds the same cuts as one pass.

:class:`~vidrestore.flow.scenecut.SceneCutDetector` is recursive: whether frame i starts a shot
depends on the median of the recent distances (emptied at every cut), and on the last frame that
had structure, however far back a run of blank frames reaches. A segment started in the middle of
a reel would begin with an empty history and could decide differently near its start.

:class:`WindowedSceneCuts` keeps the detector's rule but applies it, for each new frame i, to the
frames ``i - memory .. i`` only: the features of those frames (computed once per frame) are
replayed through a fresh detector and its verdict on frame i is the answer. So whether frame i
starts a shot is a function of the frames ``i - memory .. i`` alone, the same in a segment fed
``memory`` frames of warm-up as in one uninterrupted run. ``memory`` (24 by default) is twice the
detector's history of distances, so the median it compares with is full in the replay.

One difference from the unbounded rule, by construction: after a run of blank frames longer than
``memory``, the first frame with structure has nothing within reach to be compared with; it then
starts a shot (a second of black separates more than it joins). Blank frames still never start a
shot, and a fade through black shorter than ``memory`` back into the same scene stays one shot.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from vidrestore.flow.scenecut import SceneCutDetector

if TYPE_CHECKING:
    import torch

#: Frames before frame i that its cut decision looks at (the reach a segmented stage adds for cuts).
CUT_MEMORY = 24

_Features = tuple[np.ndarray, np.ndarray, float]


class _Replay(SceneCutDetector):
    """The detector's rule, fed features that were computed already (:meth:`features` is the identity)."""

    def features(self, frame: Any) -> _Features:  # type: ignore[override]
        return frame  # type: ignore[no-any-return]


class WindowedSceneCuts:
    """Streaming scene-cut detector whose decision on frame i reads frames ``i - memory .. i`` only.

    Same interface as :class:`~vidrestore.flow.scenecut.SceneCutDetector` for
    :class:`~vidrestore.flow.cache.FlowCache`: :meth:`push` each frame in order; True when it starts
    a shot (never for the first frame pushed). ``cuts`` lists those frames (0-based push order).
    """

    def __init__(self, *, threshold: float = 0.2, memory: int = CUT_MEMORY) -> None:
        if memory < 2:
            raise ValueError(f"scene-cut memory must be >= 2 frames, got {memory}")
        self.memory = int(memory)
        self._probe = SceneCutDetector(threshold=threshold)
        self._features: deque[_Features] = deque(maxlen=self.memory + 1)
        self.index = -1
        self.cuts: list[int] = []

    def _fresh(self) -> _Replay:
        return _Replay(threshold=self._probe.threshold)  # every other setting at the probe's defaults too

    def push(self, frame: np.ndarray | torch.Tensor) -> bool:
        """Add the next frame; True when it starts a new shot (decided from the last ``memory + 1`` frames)."""
        feat = self._probe.features(frame)
        self._features.append(feat)
        self.index += 1
        is_cut = self._decide()
        if is_cut:
            self.cuts.append(self.index)
        return is_cut

    def _decide(self) -> bool:
        """The replayed detector's verdict on the newest frame, replayed only when the history matters.

        The rule's first two tests (histogram distance and NCC against the last frame with structure
        within reach) need no history; only a frame that passes both is replayed for the third
        (its distance against the median of the recent ones). Same verdict, a fraction of the work.
        """
        feats = list(self._features)
        p = self._probe
        newest = feats[-1]
        if newest[2] < p.flat_std:
            return False  # blank frames never start a shot
        ref = next((f for f in reversed(feats[:-1]) if f[2] >= p.flat_std), None)
        if ref is None:
            return self._after_long_blank()
        if p.distance(ref[0], newest[0]) <= p.threshold or float((ref[1] * newest[1]).sum()) >= p.max_similarity:
            return False
        replay = self._fresh()
        is_cut = False
        for f in feats:
            is_cut = replay.push(f)
        return is_cut

    def _after_long_blank(self) -> bool:
        """The newest frame has structure and every other frame within reach is blank (window full)."""
        feats = self._features
        if len(feats) < self.memory + 1:
            return False
        flat = self._probe.flat_std
        return feats[-1][2] >= flat and all(f[2] < flat for f in list(feats)[:-1])


class KnownCuts:
    """A scene-cut "detector" that replays decisions made elsewhere, in push order.

    A later pass over a stage's own output (the second dust pass of the film stage) sees the frames
    in the order the first pass took them in; the first pass :meth:`tell` s each decision as it makes
    it, and :meth:`push` hands them back one per frame. So both passes cut the clip at the same
    frames, and the second reads no frames before its own reach to decide it.
    """

    def __init__(self) -> None:
        self._decisions: deque[bool] = deque()
        self.cuts: list[int] = []
        self.index = -1

    def tell(self, is_cut: bool) -> None:
        """The next frame's decision (True: it starts a shot)."""
        self._decisions.append(bool(is_cut))

    def push(self, frame: object) -> bool:
        """The decision told for this frame; a frame nobody decided on is an error, not a guess."""
        if not self._decisions:
            raise RuntimeError("KnownCuts: a frame was pushed before its scene-cut decision was told")
        self.index += 1
        is_cut = self._decisions.popleft()
        if is_cut:
            self.cuts.append(self.index)
        return is_cut

    def clear(self) -> None:
        self._decisions.clear()
        self.cuts = []
        self.index = -1
