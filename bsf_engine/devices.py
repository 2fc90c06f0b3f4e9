"""Turn a device setting ("auto", "cpu", "cuda", "cuda:N") into a torch.device."""

from __future__ import annotations

import torch

from .errors import BsfError


def resolve_device(setting: str, key: str = "device") -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BsfError(f'{key} = "{setting}": no CUDA device here; use "auto" or "cpu"')
        index = int(setting.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise BsfError(
                f'{key} = "{setting}": only {torch.cuda.device_count()} CUDA device(s) here'
            )
    return torch.device(setting)
