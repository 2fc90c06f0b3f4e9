"""`ModelSpec`: everything needed to rebuild a network (stored in ann.pt and snn.pt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .archs import ARCHS, ArchDef


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
        return (*(f"ic{i}" for i in self.ics), "final")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ics"] = list(self.ics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSpec:
        return cls(**{**d, "ics": tuple(d["ics"])})
