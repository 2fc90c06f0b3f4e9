"""The architecture table: block layouts of every supported network.

Torch-free, so that config validation and `bsf info` stay fast. A block is
(channels, stride); stride-2 3×3 convs downsample (there is no max-pool).
For VGG a block is conv3×3 → BN → ReLU; for ResNet it is a residual block
(conv3×3 → BN → ReLU → conv3×3 → BN, plus a 1×1 shortcut conv with bias, add,
ReLU) and the network starts with a conv3×3 stem that is not an IC tap point.
"""

from __future__ import annotations

from dataclasses import dataclass

Block = tuple[int, int]


@dataclass(frozen=True)
class ArchDef:
    name: str
    family: str  # "vgg" | "resnet"
    blocks: tuple[Block, ...]
    stem: int | None
    default_ic: int
    description: str

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)


def _vgg(*spec: str) -> tuple[Block, ...]:
    out = []
    for item in spec:
        channels, _, stride = item.partition("/s")
        out.append((int(channels), int(stride) if stride else 1))
    return tuple(out)


def _resnet(stages: list[tuple[int, int]]) -> tuple[Block, ...]:
    out: list[Block] = []
    for index, (channels, count) in enumerate(stages):
        for position in range(count):
            stride = 2 if index > 0 and position == 0 else 1
            out.append((channels, stride))
    return tuple(out)


ARCHS: dict[str, ArchDef] = {
    arch.name: arch
    for arch in [
        ArchDef(
            "vggtiny",
            "vgg",
            _vgg("32", "32", "64/s2", "64", "128/s2", "128"),
            None,
            2,
            "small VGG for 8×8 inputs (the digits set)",
        ),
        ArchDef(
            "vgg11",
            "vgg",
            _vgg("64", "128/s2", "256/s2", "256", "512/s2", "512", "512/s2", "512"),
            None,
            3,
            "VGG11, stride-2 convs instead of max-pool",
        ),
        ArchDef(
            "vgg16",
            "vgg",
            _vgg(
                "64",
                "64",
                "128/s2",
                "128",
                "256/s2",
                "256",
                "256",
                "512/s2",
                "512",
                "512",
                "512/s2",
                "512",
                "512",
            ),
            None,
            5,
            "VGG16, stride-2 convs instead of max-pool",
        ),
        ArchDef(
            "vgg19",
            "vgg",
            _vgg(
                "64",
                "64",
                "128/s2",
                "128",
                "256/s2",
                "256",
                "256",
                "256",
                "512/s2",
                "512",
                "512",
                "512",
                "512/s2",
                "512",
                "512",
                "512",
            ),
            None,
            6,
            "VGG19, stride-2 convs instead of max-pool (paper: IC at block 6)",
        ),
        ArchDef(
            "resnet18",
            "resnet",
            _resnet([(64, 2), (128, 2), (256, 2), (512, 2)]),
            64,
            3,
            "ResNet18, residual blocks with 1×1 shortcut convs",
        ),
        ArchDef(
            "resnet34",
            "resnet",
            _resnet([(64, 3), (128, 4), (256, 6), (512, 3)]),
            64,
            7,
            "ResNet34, residual blocks with 1×1 shortcut convs",
        ),
    ]
}


def scaled(channels: int, width: float) -> int:
    """Channels after the width multiplier (at least 1)."""
    return max(1, round(channels * width))
