"""`ModelSpec`: everything needed to rebuild a network (stored in ann.pt and snn.pt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .archs import ARCHS, ArchDef

FINAL = "final"


def ic_name(block: int) -> str:
    """The head of the IC that reads block `block`."""
    return f"ic{block}"


@dataclass(frozen=True)
class ModelSpec:
    arch: str
    in_channels: int
    image_size: int
    num_classes: int
    ics: tuple[int, ...]
    width: float = 1.0
    batchnorm: bool = True

    @property
    def archdef(self) -> ArchDef:
        return ARCHS[self.arch]

    @property
    def head_names(self) -> tuple[str, ...]:
        """Head order of the network's outputs: ICs by block index, then the final head."""
        return (*(ic_name(i) for i in self.ics), FINAL)

    def tapped_block(self, head: str) -> int:
        """Index of the block a head reads."""
        return len(self.archdef.blocks) - 1 if head == FINAL else int(head.removeprefix("ic"))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ics"] = list(self.ics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSpec:
        return cls(**{**d, "ics": tuple(d["ics"])})
