"""Turn a device setting ("auto", "cpu", "cuda", "cuda:N") into a torch.device."""

from __future__ import annotations

import re

import torch

from .errors import BsfError

DEVICE_CHOICES = 'must be "auto", "cpu", "cuda" or "cuda:N"'
_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?")


def device_problem(setting: str) -> str | None:
    """What is wrong with a device setting (None: it names a kind bsf knows)."""
    return None if _DEVICE.fullmatch(setting) else DEVICE_CHOICES


def resolve_device(setting: str, key: str = "device") -> torch.device:
    """The device a setting names; `key` says where it came from in messages (a
    project.toml key such as `[simulate] device`, or an option such as `--device`)."""
    shown = f"{key} {setting}" if key.startswith("--") else f'{key} = "{setting}"'
    problem = device_problem(setting)
    if problem:
        raise BsfError(f"{shown}: {problem}")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BsfError(f'{shown}: no CUDA device here; use "auto" or "cpu"')
        index = int(setting.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise BsfError(f"{shown}: only {torch.cuda.device_count()} CUDA device(s) here")
    return torch.device(setting)
