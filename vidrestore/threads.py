"""torch's thread budget for a block of work (one place, so that stages set and restore it alike)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads for the calling thread set to ``n`` during the block, then put back.

    ``n <= 0`` leaves them as they are. Nothing is changed (or put back) when the count is already ``n``.
    """
    import torch

    before = torch.get_num_threads()
    if n <= 0 or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
