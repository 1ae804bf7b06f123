"""The diffusion restorer with tiny random-weight models: consistency, windows, tiles, DDNM, inpainting, seeds."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.diffusion.clips import textured, translated_clip
from vidrestore.flow import backward_warp, valid_mask
from vidrestore.restore.diffusion.guidance import Downsample, consistency_error
from vidrestore.restore.diffusion.restorer import DiffusionRestorer, DiffusionSettings
from vidrestore.restore.diffusion.tiles import plan_tiles


def _restore(model, frames: torch.Tensor, *, window: int = 3, overlap: int = 1, masks=None, **kw) -> torch.Tensor:
    settings = DiffusionSettings(**{"steps": 8, "strength": 0.6, **kw})
    return DiffusionRestorer(model=model, settings=settings).restore(frames, window=window, overlap=overlap,
                                                                     masks=masks)


def warping_error(out: torch.Tensor, step: tuple[int, int], in_width: int) -> float:
    """Mean |out_t - warp(out_{t-1})| over pixels visible in both, with the exact translation flow."""
    s = out.shape[-1] // in_width
    flow = torch.zeros(1, 2, *out.shape[-2:])
    flow[:, 0], flow[:, 1] = -step[0] * s, -step[1] * s
    valid = valid_mask(flow)[0, 0]
    errs = [float((out[t] - backward_warp(out[t - 1:t], flow)[0]).abs().mean(0)[valid].mean())
            for t in range(1, out.shape[0])]
    return float(np.mean(errs))


def test_static_clip_gives_identical_frames(tiny_model) -> None:
    frame = torch.from_numpy(textured(24, 32)).permute(2, 0, 1)
    clip = frame.expand(4, 3, 24, 32).contiguous()
    out = _restore(tiny_model("upscale"), clip, consistency=True, steps=6)
    assert out.shape == (4, 3, 96, 128)
    assert float((out - out[:1]).abs().max()) <= 1e-4
    bicubic = torch.nn.functional.interpolate(clip[:1], scale_factor=4, mode="bicubic", align_corners=False)
    assert float((out[0] - bicubic[0]).abs().mean()) > 0.01  # the model did change the frames


def test_consistency_halves_the_warping_error_on_a_translated_real_clip(tiny_model, real_image) -> None:
    step = (2, 1)
    clip = translated_clip(real_image, n=4, size=(24, 40), step=step)
    assert warping_error(clip, step, 40) < 1e-6  # the clip is an exact translation
    model = tiny_model("upscale")
    on = warping_error(_restore(model, clip, consistency=True), step, 40)
    off = warping_error(_restore(model, clip, consistency=False), step, 40)
    print(f"warping error: consistency on {on:.4f}, off {off:.4f}, ratio {on / off:.3f}")
    assert on <= 0.5 * off


def test_windows_join_without_a_seam(tiny_model, real_image) -> None:
    """Carried latents make the output independent of the window length (windows of 2 == one window of 6)."""
    clip = translated_clip(real_image, n=5, size=(16, 24), step=(1, 1))
    model = tiny_model("upscale")
    small = _restore(model, clip, window=2, overlap=1, steps=4)
    one = _restore(model, clip, window=5, overlap=0, steps=4)
    assert float((small - one).abs().max()) <= 1e-4


def test_same_seed_same_output_other_seed_other_output(tiny_model) -> None:
    clip = torch.from_numpy(np.stack([textured(16, 24, seed=i) for i in range(2)])).permute(0, 3, 1, 2)
    model = tiny_model("latent")
    a = _restore(model, clip, steps=4, seed=3, sampler="dpmpp")
    b = _restore(model, clip, steps=4, seed=3, sampler="dpmpp")
    c = _restore(model, clip, steps=4, seed=4, sampler="dpmpp")
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 1e-3


def _border_ratio(out: torch.Tensor, lines_x: list[int], lines_y: list[int], scale: int, size: tuple[int, int]) -> float:
    """Mean squared gradient across the given lines / the same at other lines of the same phase."""
    h, w = size
    col = (out[:, :, 1:] - out[:, :, :-1]).pow(2).mean(dim=(0, 1))  # col[p - 1]: across the line before column p
    row = (out[:, 1:, :] - out[:, :-1, :]).pow(2).mean(dim=(0, 2))
    bx, by = [p * scale for p in lines_x], [p * scale for p in lines_y]
    border = torch.cat([col[[b - 1 for b in bx]], row[[b - 1 for b in by]]]).mean()

    def far(p: int, lines: list[int]) -> bool:
        return all(abs(p - b) > 2 * scale for b in lines)

    inner = [col[p - 1] for p in range(scale, w * scale, scale) if far(p, bx)]
    inner += [row[p - 1] for p in range(scale, h * scale, scale) if far(p, by)]
    return float(border / torch.stack(inner).mean())


def test_tiles_fused_every_step_leave_no_seam(tiny_model, real_image) -> None:
    h, w = 32, 48
    x = torch.from_numpy(real_image[60:60 + h, 120:120 + w].copy()).permute(2, 0, 1)[None]
    model = tiny_model("upscale")
    kw = {"steps": 6, "consistency": False}
    untiled = _restore(model, x, **kw)[0]
    tiled = _restore(model, x, tile=20, tile_overlap=8, **kw)[0]
    tiles = plan_tiles(h, w, tile=20, overlap=8)
    assert len(tiles) == 8
    lines_x = sorted({t.x0 for t in tiles if t.x0 > 0} | {t.x1 for t in tiles if t.x1 < w})
    lines_y = sorted({t.y0 for t in tiles if t.y0 > 0} | {t.y1 for t in tiles if t.y1 < h})
    ratio_tiled = _border_ratio(tiled, lines_x, lines_y, 4, (h, w))
    ratio_untiled = _border_ratio(untiled, lines_x, lines_y, 4, (h, w))
    # control: tiling the *finished* image (each tile restored alone, pasted) does leave seams
    pasted = torch.zeros_like(untiled)
    for t in tiles:
        pasted[:, t.y0 * 4:t.y1 * 4, t.x0 * 4:t.x1 * 4] = _restore(model, x[..., t.y0:t.y1, t.x0:t.x1], **kw)[0]
    cuts = [SimpleNamespace(x0=t.x0, y0=t.y0) for t in tiles]
    cx, cy = sorted({t.x0 for t in cuts if t.x0 > 0}), sorted({t.y0 for t in cuts if t.y0 > 0})
    ratio_pasted = _border_ratio(pasted, cx, cy, 4, (h, w)) / _border_ratio(untiled, cx, cy, 4, (h, w))
    print(f"border/interior gradient energy: tiled {ratio_tiled:.3f}, untiled {ratio_untiled:.3f}, "
          f"pasted/untiled {ratio_pasted:.2f}")
    assert ratio_tiled <= 1.1 * ratio_untiled
    assert ratio_pasted >= 1.5  # the measure does see seams where there are some
    psnr = -10 * np.log10(float((tiled - untiled).pow(2).mean()))
    assert psnr > 20


@pytest.mark.parametrize(("layout", "size"), [("pixel", (12, 16)), ("upscale", (12, 16))])
def test_ddnm_x4_output_downsamples_to_the_input(tiny_model, layout: str, size: tuple[int, int]) -> None:
    y = torch.from_numpy(np.stack([textured(*size, seed=s) for s in (1, 2)])).permute(0, 3, 1, 2)
    model = tiny_model(layout)
    out = _restore(model, y, steps=4, scale=4.0, guidance="ddnm", consistency=False)
    assert out.shape[-2:] == (size[0] * 4, size[1] * 4)
    err = consistency_error(Downsample(4), out, y)
    plain = consistency_error(Downsample(4), _restore(model, y, steps=4, scale=4.0, consistency=False), y)
    print(f"{layout}: ||A x - y|| / ||y|| with DDNM {err:.2e}, without {plain:.2e}")
    assert err <= 1e-3
    assert plain > 1e-2  # without the guidance the constraint is far from met


@pytest.mark.parametrize("layout", ["latent", "pixel"])
def test_inpainting_keeps_every_unmasked_pixel(tiny_model, layout: str) -> None:
    from vidrestore.restore.diffusion.inpaint import inpaint
    from vidrestore.tensors import from_tensor, to_tensor

    rgb = [(textured(24, 32, seed=s) * 255).round().astype(np.uint8) for s in (5, 6, 7)]
    frames = to_tensor(rgb)
    masks = torch.zeros(3, 24, 32)
    masks[0, 4:10, 5:15] = 1
    masks[1, 12:20, 20:30] = 1
    masks[2, :, 14:17] = 1  # a vertical scratch
    out = inpaint(frames, masks, model=tiny_model(layout), steps=4, strength=0.8, window=2)
    known = masks[:, None].expand_as(frames) == 0
    assert torch.equal(out[known], frames[known])
    for a, b, m in zip(from_tensor(out), rgb, masks):
        assert np.array_equal(a[m.numpy() == 0], b[m.numpy() == 0])  # still exact after quantisation
    assert float((out[~known] - frames[~known]).abs().mean()) > 0.01  # the holes were filled anew


def test_upscaler_refuses_masks(tiny_model) -> None:
    from vidrestore.errors import ConfigError
    from vidrestore.restore.diffusion.inpaint import inpaint

    with pytest.raises(ConfigError, match="input size"):
        inpaint(torch.rand(1, 3, 8, 8), torch.zeros(1, 8, 8), model=tiny_model("upscale"), steps=2)


def test_out_of_memory_retries_with_smaller_batches_then_tiles(tiny_model, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    from vidrestore.errors import VidrestoreError

    model = tiny_model("latent")
    clip = torch.from_numpy(np.stack([textured(32, 48, seed=1)[:, i:i + 40] for i in range(3)])).permute(0, 3, 1, 2)
    clip = clip.contiguous()
    settings = DiffusionSettings(steps=4, strength=0.6, consistency=False)
    expected = DiffusionRestorer(model=model, settings=settings).restore(clip, window=3, overlap=0)
    real = model.predict

    def limited(max_batch: int, max_side: int):
        def predict(x, t, **kw):
            if x.shape[0] > max_batch or max(x.shape[-2:]) > max_side:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return real(x, t, **kw)
        return predict

    monkeypatch.setattr(model, "predict", limited(1, 999))
    restorer = DiffusionRestorer(model=model, settings=settings)
    out = restorer.restore(clip, window=3, overlap=0)
    assert restorer._unet_batch == 1 and restorer.stats.frames == 3
    assert torch.allclose(out, expected, atol=1e-4)  # one frame per call: the same result
    assert "1 frame(s) per UNet call" in caplog.text

    monkeypatch.setattr(model, "predict", limited(1, 8))  # the latent is 8x10 and tiles stop at 16
    restorer = DiffusionRestorer(model=model, settings=settings)
    with pytest.raises(VidrestoreError, match="out of memory even with one frame per UNet call"):
        restorer.restore(clip, window=3, overlap=0)

    pixel = tiny_model("pixel")  # latent = image: 32x40, so tiles of 20 can be tried
    real = pixel.predict
    small = clip[:2, :, :, :40].contiguous()
    tiled = DiffusionRestorer(model=pixel, settings=DiffusionSettings(steps=2, consistency=False, tile=20))
    expected = tiled.restore(small, window=2, overlap=0)
    monkeypatch.setattr(pixel, "predict", limited(1, 24))
    restorer = DiffusionRestorer(model=pixel, settings=DiffusionSettings(steps=2, consistency=False))
    out = restorer.restore(small, window=2, overlap=0)
    assert (restorer._unet_batch, restorer._tile) == (1, 20)
    assert torch.allclose(out, expected, atol=1e-4)
    assert "latent tiles of 20 px" in caplog.text
