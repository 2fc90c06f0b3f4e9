"""One walk through a network's layers, in the order the network computes them, naming
every spiking population the way the converter, the simulator, the energy models and the
cost table all call it (torch-free: it reads only the architecture table).

Feature layers: the ResNet stem (`stem`) and every block (`blocks.{i}`; a residual
block also has its inner layer `blocks.{i}.mid`). Heads: each IC (`ic{i}`, reading
block i) right after the block it reads, and the final head last; a head is a global
average pool into IF neurons (`heads.{h}.pool`) and a linear layer into IF neurons
(`heads.{h}`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .archs import scaled
from .spec import FINAL, ModelSpec, ic_name

STEM = -1  # the index of the stem among the feature layers (blocks count from 0)


@dataclass(frozen=True)
class FeatureLayer:
    index: int  # position in the network's blocks; STEM for the stem
    kind: str  # "stem", "conv" (a VGG block) or "residual"
    in_channels: int
    channels: int
    stride: int
    in_size: int  # side of its input map
    size: int  # side of its output map
    ics: tuple[str, ...]  # the IC heads that read its output

    @property
    def name(self) -> str:
        """Its output population."""
        return "stem" if self.index == STEM else f"blocks.{self.index}"

    @property
    def mid(self) -> str | None:
        """A residual block's inner population (after conv1)."""
        return f"blocks.{self.index}.mid" if self.kind == "residual" else None

    @property
    def label(self) -> str:
        """How the cost table (`bsf info`) names it."""
        return "stem" if self.index == STEM else f"block {self.index}"

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.in_size, self.in_size)


@dataclass(frozen=True)
class HeadLayer:
    name: str  # "ic{i}" or "final"
    block: int  # the block it reads
    channels: int  # of that block
    size: int  # side of that block's map (the pool's window)
    classes: int

    @property
    def pool(self) -> str:
        """Its global-average-pool population."""
        return f"heads.{self.name}.pool"

    @property
    def output(self) -> str:
        """Its output population (and the name of its logits and scale λ)."""
        return f"heads.{self.name}"

    @property
    def label(self) -> str:
        return f"head {self.name}"


def _down(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def feature_layers(spec: ModelSpec) -> list[FeatureLayer]:
    arch = spec.archdef
    ics = {block: ic_name(block) for block in spec.ics}
    size, channels = spec.image_size, spec.in_channels
    layers = []
    if arch.stem is not None:
        c = scaled(arch.stem, spec.width)
        layers.append(FeatureLayer(STEM, "stem", channels, c, 1, size, size, ()))
        channels = c
    kind = "residual" if arch.family == "resnet" else "conv"
    for index, (c, stride) in enumerate(arch.blocks):
        c = scaled(c, spec.width)
        out = _down(size, stride)
        taps = (ics[index],) if index in ics else ()
        layers.append(FeatureLayer(index, kind, channels, c, stride, size, out, taps))
        channels, size = c, out
    return layers


def head_layers(spec: ModelSpec, features: list[FeatureLayer] | None = None) -> list[HeadLayer]:
    """Every head, in `spec.head_names` order (the ICs, then the final head)."""
    blocks = {layer.index: layer for layer in features or feature_layers(spec)}
    heads = []
    for name in spec.head_names:
        tapped = blocks[spec.tapped_block(name)]
        heads.append(HeadLayer(name, tapped.index, tapped.channels, tapped.size, spec.num_classes))
    return heads


def walk(spec: ModelSpec) -> Iterator[FeatureLayer | HeadLayer]:
    """Feature layers in order, each IC head right after the block it reads, then the
    final head: the order the network computes them (and records spike counts in)."""
    features = feature_layers(spec)
    heads = {head.name: head for head in head_layers(spec, features)}
    for layer in features:
        yield layer
        for ic in layer.ics:
            yield heads[ic]
    yield heads[FINAL]
