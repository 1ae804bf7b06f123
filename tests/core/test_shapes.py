"""The shape checks in vidrestore.tensors: one line each at the call site, messages that say what came in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidrestore.errors import ShapeError
from vidrestore.tensors import check_dtype, check_rgb, check_same_shape, check_shape


def test_named_axes_match_any_size_and_numbers_match_exactly() -> None:
    check_shape(torch.zeros(2, 3, 5, 7), ("N", 3, "H", "W"), "frames")
    with pytest.raises(ShapeError, match=r"^frames: expected shape \(N, 3, H, W\), got \(2, 4, 5, 7\)$") as err:
        check_shape(torch.zeros(2, 4, 5, 7), ("N", 3, "H", "W"), "frames")
    assert err.value.actual_shape == (2, 4, 5, 7) and err.value.expected_shape == "(N, 3, H, W)"
    with pytest.raises(ShapeError, match=r"expected shape \(N, 3, H, W\), got \(3, 5, 7\)"):
        check_shape(torch.zeros(3, 5, 7), ("N", 3, "H", "W"), "frames")


def test_even_sizes_and_other_multiples_where_a_model_needs_them() -> None:
    check_shape(np.zeros((4, 6, 3)), ("H", "W", 3), "frame", multiple_of=2)
    with pytest.raises(ShapeError, match=r"^frame: expected shape \(H, W, 3\) with H and W even, got \(4, 5, 3\)$"):
        check_shape(np.zeros((4, 5, 3)), ("H", "W", 3), "frame", multiple_of=2)
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\) with H and W divisible by 8, got \(1, 4, 16, 12\)"):
        check_shape(torch.zeros(1, 4, 16, 12), ("N", "C", "H", "W"), "x", multiple_of=8)
    check_shape(torch.zeros(1, 4, 16, 12), ("N", "C", "H", "W"), "x", multiple_of=4)


def test_same_shape_and_dtype() -> None:
    a, b = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5)
    check_same_shape(a, a.clone(), "frame1", "frame0")
    with pytest.raises(ShapeError, match=r"^frame1: expected shape the shape of frame0 \(1, 3, 4, 4\), got"):
        check_same_shape(b, a, "frame1", "frame0")
    with pytest.raises(ValueError, match=r"^frame: expected uint8 or uint16 RGB, got float32$"):
        check_dtype(np.zeros(3, np.float32), (np.dtype(np.uint8), np.dtype(np.uint16)), "frame", "uint8 or uint16 RGB")
    with pytest.raises(ValueError, match=r"^frame 3: expected uint8 or uint16 RGB, got float64$"):
        check_rgb(np.zeros((2, 2, 3)), "frame 3")
    with pytest.raises(ShapeError, match=r"^frame: expected shape \(H, W, 3\), got \(2, 2\)$"):
        check_rgb(np.zeros((2, 2), np.uint8))


def test_the_callers_keep_their_messages() -> None:
    from vidrestore.flow.base import check_flow, check_pair
    from vidrestore.flow.cache import FlowCache

    with pytest.raises(ShapeError, match=r"^frame_s: expected shape the shape of frame_t \(1, 3, 8, 8\), got"):
        check_pair(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ShapeError, match=r"^flow_t_to_s: expected shape \(N, 2, H, W\), got \(1, 3, 8, 8\)$"):
        check_flow(torch.zeros(1, 3, 8, 8), "flow_t_to_s")

    class Zero:
        name = "zero"

        def estimate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.zeros(a.shape[0], 2, *a.shape[-2:])

    cache = FlowCache(Zero())  # type: ignore[arg-type]
    cache.add(0, torch.zeros(3, 8, 8))
    with pytest.raises(ShapeError, match=r"^frame: expected shape the size of earlier frames \(3, 8, 8\), got"):
        cache.add(1, torch.zeros(3, 8, 9))
    with pytest.raises(ShapeError, match=r"^frame: expected shape \(3, H, W\), got \(4, 8, 8\)$"):
        cache.add(1, torch.zeros(4, 8, 8))
