"""The one device rule (vidrestore.device) and the callers that keep their own error behaviour through its arguments."""

from __future__ import annotations

import pytest
import torch

from vidrestore.device import resolve_device
from vidrestore.errors import ConfigError

NO_CUDA = not torch.cuda.is_available()


def test_auto_picks_cuda_only_when_torch_sees_one() -> None:
    assert resolve_device("auto").type == ("cpu" if NO_CUDA else "cuda")


def test_plain_names_and_devices_pass_through() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_a_name_torch_cannot_parse_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^film\.device: 'gpu0' is not a device \(auto, cpu, cuda, cuda:N\)$"):
        resolve_device("gpu0", key="film.device")


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_refused_or_handed_on_as_the_caller_asks() -> None:
    for name in ("cuda", "cuda:1", torch.device("cuda")):
        with pytest.raises(ConfigError, match=r"^restorer\.device: cuda(:1)? asked for, but torch sees no CUDA"):
            resolve_device(name, key="restorer.device")
        assert resolve_device(name, check=False).type == "cuda"  # the flow estimators' behaviour: fail on first use


@pytest.mark.skipif(not NO_CUDA, reason="needs a machine without CUDA")
def test_every_caller_uses_the_one_rule() -> None:
    from vidrestore.config import load_config
    from vidrestore.film.processor import FilmProcessor
    from vidrestore.flow import build_flow_estimator

    cfg = load_config(preset="film", overrides=["film.device=cuda"])
    with pytest.raises(ConfigError, match=r"^film\.device: cuda asked for"):
        FilmProcessor(config=cfg.film, estimator=build_flow_estimator(cfg.flow))


def test_no_module_writes_its_own_device_rule() -> None:
    import re
    from pathlib import Path

    import vidrestore

    root = Path(vidrestore.__file__).parent
    own = re.compile(r'def \w*_?device\(|"cuda" if torch\.cuda\.is_available\(\) else "cpu"')
    found = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if p.name != "device.py" and own.search(p.read_text(encoding="utf-8"))]
    assert found == []
