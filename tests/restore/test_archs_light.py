"""SRVGGNetCompact is built from realesrgan's own file without importing the realesrgan/basicsr packages."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

SCRIPT = r"""
import sys, time
import torch
from vidrestore.restore.gan.archs import build_arch, install_functional_tensor_alias

kw = dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=4, act_type="prelu")
t0 = time.perf_counter()
light = build_arch("SRVGGNetCompact", kw)
light_seconds = time.perf_counter() - t0
heavy_loaded = sorted(m for m in ("basicsr", "realesrgan", "torchvision") if m in sys.modules)
assert "basicsr.utils.registry" not in sys.modules  # the shim is removed after the import

install_functional_tensor_alias()
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
torch.manual_seed(0)
ref = SRVGGNetCompact(**kw).eval()
light.load_state_dict(ref.state_dict())
x = torch.rand(1, 3, 12, 10)
with torch.no_grad():
    same = torch.equal(light(x), ref(x))
print(heavy_loaded, same, type(light).__module__, light_seconds)
"""


def test_light_srvgg_imports_no_basicsr_and_equals_the_package_class() -> None:
    if importlib.util.find_spec("realesrgan") is None:
        pytest.skip("realesrgan is not installed")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "[]"  # neither basicsr, realesrgan nor torchvision imported to build it
    assert out[1] == "True"  # bit-identical to realesrgan.archs.srvgg_arch.SRVGGNetCompact
    assert out[2] == "vidrestore.restore._realesrgan_srvgg_arch"


def test_after_basicsr_is_imported_the_package_class_is_used() -> None:
    if importlib.util.find_spec("realesrgan") is None:
        pytest.skip("realesrgan is not installed")
    script = (
        "from vidrestore.restore.gan.archs import install_functional_tensor_alias, build_arch\n"
        "install_functional_tensor_alias()\n"
        "import basicsr.utils.registry\n"
        "net = build_arch('SRVGGNetCompact', dict(num_feat=8, num_conv=2, upscale=2))\n"
        "print(type(net).__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "realesrgan.archs.srvgg_arch"
