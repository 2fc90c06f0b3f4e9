"""The converted network (snn.pt) seen as spiking populations.

A population is a layer of IF neurons: the output of every conv block (for a
residual block also its inner `.mid` layer), the ResNet stem, and for every
head a GAP layer (`heads.<h>.pool`: global average pool → IF) followed by the
head's output layer (`heads.<h>`: linear → IF). The first population receives
the analog image as a constant current.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import MissingArtifactError
from ..models.net import MultiExitNet, build_model
from ..models.spec import ModelSpec
from ..models.walk import HeadLayer, walk


@dataclass(frozen=True)
class Population:
    name: str
    shape: tuple[int, ...]  # per sample: (C, H, W) or (C,)

    @property
    def neurons(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def populations(model: MultiExitNet) -> list[Population]:
    """Every spiking population in simulation order (the order of per-layer counts)."""
    return spec_populations(model.spec)


def spec_populations(spec: ModelSpec) -> list[Population]:
    pops: list[Population] = []
    for layer in walk(spec):
        if isinstance(layer, HeadLayer):
            pops.append(Population(layer.pool, (layer.channels,)))
            pops.append(Population(layer.output, (layer.classes,)))
            continue
        if layer.mid is not None:
            pops.append(Population(layer.mid, layer.shape))
        pops.append(Population(layer.name, layer.shape))
    return pops


@dataclass
class ConvertedNetwork:
    """snn.pt: the normalised, BN-free network and what the simulation needs to know."""

    model: MultiExitNet
    scales: dict[str, float]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: list[str]
    stamp: dict

    @property
    def head_names(self) -> tuple[str, ...]:
        return self.model.head_names

    @property
    def populations(self) -> list[Population]:
        return populations(self.model)


def load_converted(path: Path) -> ConvertedNetwork:
    if not path.is_file():
        raise MissingArtifactError(f"{path}: missing; run `bsf convert {path.parent}` first")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        spec = ModelSpec.from_dict(saved["spec"])
        model = build_model(spec)
        model.load_state_dict(saved["state_dict"])
        norm = saved["normalisation"]
    except Exception as exc:
        raise MissingArtifactError(
            f"{path}: unreadable ({exc.__class__.__name__}); rerun "
            f"`bsf convert {path.parent} --force`"
        ) from None
    if spec.batchnorm:
        raise MissingArtifactError(f"{path}: holds a network with BatchNorm; reconvert it")
    for key, value in saved["state_dict"].items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise MissingArtifactError(
                f"{path}: NaN/inf in {key}; rerun `bsf convert {path.parent} --force`"
            )
    return ConvertedNetwork(
        model.eval(),
        dict(saved["scales"]),
        tuple(norm["mean"]),
        tuple(norm["std"]),
        list(saved["classes"]),
        dict(saved.get("stamp", {})),
    )
