"""`ModelSpec`: everything needed to rebuild a network (stored in ann.pt and snn.pt)."""

from __future__ import annotations

from collections.abc import Mapping
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


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def spec_mismatch(saved: Any, claims: Mapping[str, Mapping[str, Any]]) -> str | None:
    """How a checkpoint's `saved` spec differs from what each source (`project.toml`,
    `ann.json`, …) says it holds, naming both sides; None when every source agrees.

    `holds arch vgg11, but project.toml and ann.json say arch vggtiny`
    """
    if not isinstance(saved, Mapping):
        return "holds no network spec (not a bsf checkpoint)"
    differing: dict[str, list[str]] = {}
    for source, claim in claims.items():
        keys = [k for k in claim if _plain(saved.get(k)) != _plain(claim[k])]
        if keys:
            differing[source] = keys
    if not differing:
        return None
    keys = list(dict.fromkeys(k for ks in differing.values() for k in ks))

    def show(spec: Mapping[str, Any], which: list[str]) -> str:
        return ", ".join(f"{k} {_plain(spec.get(k))}" for k in which)

    said: dict[str, list[str]] = {}  # what is said → who says it
    for source, which in differing.items():
        said.setdefault(show(claims[source], which), []).append(source)
    others = "; ".join(
        f"{' and '.join(who)} {'say' if len(who) > 1 else 'says'} {what}"
        for what, who in said.items()
    )
    return f"holds {show(saved, keys)}, but {others}"
