"""Multi-exit VGG and ResNet networks with intermediate classifiers (ICs).

Blocks (see archs.py) feed one another; every head (each IC and the final one)
is global average pool → linear. `forward` returns the logits of every head in
`spec.head_names` order. The same classes hold the converted network: built
with `batchnorm=False`, convs carry the folded biases.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .archs import scaled
from .spec import FINAL, ModelSpec, ic_name
from .walk import STEM, FeatureLayer, HeadLayer, walk


def _conv3x3(c_in: int, c_out: int, stride: int, bias: bool) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)


class ConvBlock(nn.Module):
    """conv3×3 → BN → ReLU (BN replaced by Identity, and the conv given a bias, when folded)."""

    def __init__(self, c_in: int, c_out: int, stride: int, batchnorm: bool) -> None:
        super().__init__()
        self.conv = _conv3x3(c_in, c_out, stride, bias=not batchnorm)
        self.bn = nn.BatchNorm2d(c_out) if batchnorm else nn.Identity()
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))

    def activations(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(output, inner activation): a plain block has none."""
        return self.forward(x), None


class ResidualBlock(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN, plus a 1×1 shortcut conv with bias, add, ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, batchnorm: bool) -> None:
        super().__init__()
        self.conv1 = _conv3x3(c_in, c_out, stride, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(c_out) if batchnorm else nn.Identity()
        self.conv2 = _conv3x3(c_out, c_out, 1, bias=not batchnorm)
        self.bn2 = nn.BatchNorm2d(c_out) if batchnorm else nn.Identity()
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=True)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.activations(x)[0]

    def activations(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(output, the activation after conv1)."""
        mid = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(mid)) + self.shortcut(x))
        return out, mid


class Head(nn.Module):
    """Global average pool → linear (no BN, no activation)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.pool(x), 1))


class MultiExitNet(nn.Module):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        arch = spec.archdef
        bn = spec.batchnorm
        channels = spec.in_channels
        self.stem: ConvBlock | None = None
        if arch.stem is not None:
            self.stem = ConvBlock(channels, scaled(arch.stem, spec.width), 1, bn)
            channels = scaled(arch.stem, spec.width)
        block_cls = ResidualBlock if arch.family == "resnet" else ConvBlock
        blocks = []
        self.block_channels: list[int] = []
        for c, stride in arch.blocks:
            c = scaled(c, spec.width)
            blocks.append(block_cls(channels, c, stride, bn))
            self.block_channels.append(c)
            channels = c
        self.blocks = nn.ModuleList(blocks)
        self.heads = nn.ModuleDict()
        for ic in spec.ics:
            self.heads[ic_name(ic)] = Head(self.block_channels[ic], spec.num_classes)
        self.heads[FINAL] = Head(channels, spec.num_classes)
        self.layers = list(walk(spec))  # what forward and activations go through, in order
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def head_names(self) -> tuple[str, ...]:
        return self.spec.head_names

    def layer(self, layer: FeatureLayer) -> nn.Module:
        """The module of a feature layer of the walk (the stem or a block)."""
        return self.stem if layer.index == STEM else self.blocks[layer.index]

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        outputs: dict[str, Tensor] = {}
        for layer in self.layers:
            if isinstance(layer, HeadLayer):
                outputs[layer.name] = self.heads[layer.name](x)
            else:
                x = self.layer(layer)(x)
        return tuple(outputs[name] for name in self.head_names)

    def activations(self, x: Tensor) -> dict[str, Tensor]:
        """Every post-ReLU activation and every head's logits, by population name
        (models.walk): the layers that get a scale λ on conversion."""
        acts: dict[str, Tensor] = {}
        for layer in self.layers:
            if isinstance(layer, HeadLayer):
                acts[layer.output] = self.heads[layer.name](x)
                continue
            x, inner = self.layer(layer).activations(x)
            if layer.mid is not None:
                acts[layer.mid] = inner
            acts[layer.name] = x
        return acts

    def tapped_block(self, head: str) -> int:
        """Index of the block a head reads."""
        return self.spec.tapped_block(head)


def build_model(spec: ModelSpec) -> MultiExitNet:
    return MultiExitNet(spec)
