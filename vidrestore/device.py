"""The one rule that turns a device name from a config key or a flag into a ``torch.device``.

* ``auto``: the first CUDA device when torch sees one, else the CPU.
* any other name: what ``torch.device`` makes of it (``cpu``, ``cuda``, ``cuda:N``, ``mps`` ...); a
  name torch cannot parse is a :class:`~vidrestore.errors.ConfigError` that names the key.
* a CUDA device where torch sees none is refused in one line naming the key, before any model is
  loaded, unless the caller passes ``check=False``: the flow estimators then hand the device on as
  asked and leave the failure to the first tensor moved there (they always have).

torch is imported inside the function so that importing this module stays cheap for the I/O
commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidrestore.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["resolve_device"]


def resolve_device(name: str | torch.device, *, key: str = "device", check: bool = True) -> torch.device:
    """``name`` as a ``torch.device`` by the rule above; ``key`` is the config key or flag named in errors."""
    import torch

    if isinstance(name, torch.device):
        device = name
    elif name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(name)
        except (RuntimeError, TypeError) as err:
            raise ConfigError(f"{key}: {name!r} is not a device (auto, cpu, cuda, cuda:N)") from err
    if check and device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{key}: {name} asked for, but torch sees no CUDA device here (use cpu or auto)")
    return device
