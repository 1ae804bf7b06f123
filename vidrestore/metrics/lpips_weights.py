"""Weight specs LPIPS needs (registered on import; no torch here).

LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric",
CVPR 2018), version 0.1 with the AlexNet backbone, needs two files:

* the ImageNet AlexNet of torchvision (``alexnet-owt-7be5be79.pth``, BSD-3-Clause); torchvision
  keeps it in the torch hub cache, which :func:`vidrestore.weights.resolve_weights` searches;
* the learned per-channel weights of the five linear heads (``v0.1/alex.pth`` of
  richzhang/PerceptualSimilarity, BSD-2-Clause; the ``lpips`` package ships the same file, which
  :mod:`vidrestore.metrics.lpips` also looks for).

Both digests are full sha256 values of the published files.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from vidrestore.errors import VidrestoreError, WeightsNotFoundError
from vidrestore.weights import WeightSpec, register_weights, resolve_weights, verify_file

LPIPS_BACKBONE = WeightSpec(
    name="lpips_alex_backbone",
    filename="alexnet-owt-7be5be79.pth",
    sha256="7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02",
    url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    arch="alexnet",
    license="BSD-3-Clause (torchvision)",
    description="torchvision AlexNet (ImageNet) features, the backbone of LPIPS-alex",
)

LPIPS_LINEAR = WeightSpec(
    name="lpips_alex_linear",
    filename="LPIPS_v0.1_alex-df73285e.pth",
    sha256="df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
    url="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
    arch="lpips_linear",
    arch_kwargs={"channels": (64, 192, 384, 256, 256)},
    license="BSD-2-Clause (richzhang/PerceptualSimilarity)",
    description="LPIPS v0.1 linear heads for AlexNet features (also shipped by the lpips package)",
    aliases=("lpips_v0.1_alex.pth",),
)


register_weights(LPIPS_BACKBONE)
register_weights(LPIPS_LINEAR)


def _packaged_heads() -> Path | None:
    """The v0.1 alex file shipped inside an installed ``lpips`` package, if any (never imported)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        cand = Path(root) / "weights" / "v0.1" / "alex.pth"
        if cand.is_file():
            return cand
    return None


def resolve_lpips_weights(
    backbone: str | os.PathLike[str] | None = None, heads: str | os.PathLike[str] | None = None
) -> tuple[Path, Path]:
    """Paths of the AlexNet and head checkpoints, verified; raises :class:`WeightsNotFoundError`."""
    backbone_path = resolve_weights(LPIPS_BACKBONE, backbone)
    if heads is None:
        try:
            heads_path = resolve_weights(LPIPS_LINEAR)
        except WeightsNotFoundError:
            packaged = _packaged_heads()
            if packaged is None:
                raise
            verify_file(packaged, LPIPS_LINEAR)
            heads_path = packaged
    else:
        heads_path = resolve_weights(LPIPS_LINEAR, heads)
    return backbone_path, heads_path


def lpips_status() -> tuple[bool, str]:
    """(available, reason): whether LPIPS weights resolve offline, and what is missing if not."""
    try:
        b, h = resolve_lpips_weights()
    except VidrestoreError as err:
        return False, f"LPIPS unavailable: {err}"
    return True, f"LPIPS-alex v0.1 ({b.name}, {h.name})"


__all__ = ["LPIPS_BACKBONE", "LPIPS_LINEAR", "lpips_status", "resolve_lpips_weights"]
