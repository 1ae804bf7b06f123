"""Small tensor helpers shared by the film stages.

Shapes: images ``(N, C, H, W)`` float32 in [0, 1]; masks ``(N, 1, H, W)`` bool or float.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

#: BT.601 luma weights (the ones the flow estimators and scene-cut detector use).
LUMA = (0.299, 0.587, 0.114)
#: Robust standard deviation from the median absolute deviation of a Gaussian.
MAD_TO_SIGMA = 1.4826


_TORCH_OPS = False


def use_torch_ops(enabled: bool) -> None:
    """Run box means, warps and dilations with torch's kernels even on the CPU (what a GPU runs; ``film.torch_ops``).

    CUDA tensors always take that path; CPU tensors take OpenCV's (faster there) unless this is set.
    """
    global _TORCH_OPS
    _TORCH_OPS = bool(enabled)


def torch_path(x: torch.Tensor) -> bool:
    """Whether ``x`` is worked on with torch's kernels (on its device) rather than OpenCV's on the CPU."""
    return _TORCH_OPS or x.device.type != "cpu"


def luma(x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` -> ``(N, 1, H, W)`` BT.601 luma."""
    return x[:, 0:1] * LUMA[0] + x[:, 1:2] * LUMA[1] + x[:, 2:3] * LUMA[2]


def box_blur(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a ``size x size`` window (odd ``size``), edges replicated; same shape and dtype out.

    Runs OpenCV's running-sum box filter plane by plane (an order of magnitude faster on CPU than
    torch pooling, and the cost does not grow with the window).
    """
    import cv2
    import numpy as np
    import torch

    if size <= 1:
        return x
    if torch_path(x):
        import torch.nn.functional as F

        r = size // 2
        padded = F.pad(x.float(), (r, r, r, r), mode="replicate")
        return F.avg_pool2d(padded, size, stride=1).to(x.dtype)
    src = x.detach().float().contiguous().cpu()
    planes = src.reshape(-1, *src.shape[-2:]).numpy()
    out = np.empty_like(planes)
    for i, plane in enumerate(planes):
        cv2.blur(plane, (size, size), dst=out[i], borderType=cv2.BORDER_REPLICATE)
    return torch.from_numpy(out).reshape(x.shape).to(device=x.device, dtype=x.dtype)


def remap(src: torch.Tensor, flow: torch.Tensor, *, cubic: bool = True, clip: bool = True) -> torch.Tensor:
    """``backward_warp(src, flow, mode="bicubic" | "bilinear")`` with OpenCV's ``remap`` (several times faster on CPU).

    Same convention as :func:`vidrestore.flow.backward_warp`: pixel centres, ``flow_t_to_s`` in
    pixels, samples outside read the nearest edge; OpenCV's cubic kernel (a = -0.75) is the one
    torch uses (results agree to 1e-5). ``src`` ``(K, C, H, W)``, ``flow`` ``(K, 2, H, W)`` at the same
    size; ``clip`` clips the result to [0, 1] (cubic overshoots).
    """
    import cv2
    import numpy as np
    import torch

    k, c, h, w = src.shape
    if flow.shape != (k, 2, h, w):
        from vidrestore.errors import ShapeError

        raise ShapeError("flow", flow.shape, f"({k}, 2, {h}, {w}) to match src")
    if torch_path(src):
        from vidrestore.flow import backward_warp

        out_t = backward_warp(src.float(), flow.float().to(src.device), mode="bicubic" if cubic else "bilinear",
                              padding_mode="border")
        return out_t.clamp_(0.0, 1.0) if clip else out_t
    gy, gx = pixel_grid(h, w)
    f = flow.detach().float().cpu().numpy()
    img = src.detach().float().cpu().permute(0, 2, 3, 1).contiguous().numpy()
    out = np.empty_like(img)
    mode = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    for i in range(k):
        res = cv2.remap(img[i], gx + f[i, 0], gy + f[i, 1], mode, borderMode=cv2.BORDER_REPLICATE)
        out[i] = res.reshape(h, w, c)
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous().to(src.device)


def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """``(gy, gx)`` float32 pixel-centre coordinates of an ``h x w`` frame (kept: every warp of a clip needs them)."""
    import numpy as np

    key = (h, w)
    grid = _GRIDS.get(key)
    if grid is None:
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        grid = _GRIDS[key] = (gy, gx)
        while len(_GRIDS) > 4:
            del _GRIDS[next(iter(_GRIDS))]
    return grid


_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation of a bool ``(N, 1, H, W)`` mask by a square of side ``2 radius + 1`` (nothing outside the frame).

    OpenCV's morphology on uint8 planes: the same result as a max-pool of the float mask, without
    the float copy and at a small fraction of its time on CPU.
    """
    import cv2
    import numpy as np
    import torch

    if radius <= 0:
        return mask
    if torch_path(mask):
        import torch.nn.functional as F

        return F.max_pool2d(mask.float(), 2 * radius + 1, stride=1, padding=radius) > 0.5
    planes = mask.detach().reshape(-1, *mask.shape[-2:]).to(torch.uint8).numpy()
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    out = np.empty_like(planes)
    for i, plane in enumerate(planes):
        cv2.dilate(plane, kernel, dst=out[i], borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return torch.from_numpy(out.view(np.bool_)).reshape(mask.shape)


def inside_frame(flow: torch.Tensor) -> torch.Tensor:
    """Bool ``(N, 1, H, W)``: where ``x + flow`` lands inside the frame (:func:`vidrestore.flow.valid_mask`, margin 0)."""
    import torch

    if torch_path(flow):
        from vidrestore.flow import valid_mask

        return valid_mask(flow)
    n, _, h, w = flow.shape
    gy, gx = pixel_grid(h, w)
    f = flow.detach().float().numpy()
    x = f[:, 0] + gx
    y = f[:, 1] + gy
    ok = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    return torch.from_numpy(ok)[:, None]


def fill_from_surroundings(x: torch.Tensor, hole: torch.Tensor, *, size: int = 15, rounds: int = 5) -> torch.Tensor:
    """Replace ``x`` inside ``hole`` (bool ``(N, 1, H, W)``) by a normalised box average of the known pixels around.

    Normalised convolution, ``blur(x * known) / blur(known)``, with a window that doubles where a hole
    is wider than it. For windows of 8 px and more it runs at a quarter of the resolution (the fill
    is smooth anyway) and is upsampled bilinearly. Outside the hole ``x`` is returned unchanged.
    """
    import torch
    import torch.nn.functional as F

    known = (~hole).float()
    h, w = x.shape[-2:]
    factor = 4 if size >= 8 and min(h, w) >= 32 else 1
    if factor > 1:
        small = (max(1, h // factor), max(1, w // factor))
        num_src = F.adaptive_avg_pool2d(x * known, small)
        den_src = F.adaptive_avg_pool2d(known, small)
        k = max(3, (size // factor) | 1)
    else:
        num_src, den_src, k = x * known, known, size
    est = torch.zeros_like(num_src)
    done = torch.zeros_like(den_src, dtype=torch.bool)
    for _ in range(rounds):
        num = box_blur(num_src, k)
        den = box_blur(den_src, k)
        ok = (den > 1e-3) & ~done
        est = torch.where(ok.expand_as(est), num / den.clamp(min=1e-3), est)
        done = done | ok
        if bool(done.all()):
            break
        k = k * 2 + 1
    if factor > 1:
        est = F.interpolate(est, size=(h, w), mode="bilinear", align_corners=False)
    return torch.where(hole.expand_as(x), est, x)


def robust_sigma(values: torch.Tensor) -> float:
    """``1.4826 * median(|v - median(v)|)`` of a 1-D tensor (0 for fewer than 16 values)."""
    if values.numel() < 16:
        return 0.0
    v = values.float()
    if v.numel() > 50_000:  # a strided subsample is plenty for a scale estimate
        v = v[:: v.numel() // 50_000 + 1]
    med = v.median()
    return float(MAD_TO_SIGMA * (v - med).abs().median())
