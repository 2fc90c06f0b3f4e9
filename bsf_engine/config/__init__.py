"""Project configuration: load, validate and resolve project.toml.

`load_config(path)` returns a `Config` whose `None` defaults that follow from
the dataset or architecture are already filled in, or raises `ConfigError`
listing every problem (one line each, with its key path).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..data.catalog import DATASETS, DatasetDef
from ..errors import ConfigError
from ..models.archs import ARCHS, ArchDef
from .schema import (
    SECTIONS,
    ComputeSection,
    ConvertSection,
    DataSection,
    EnergySection,
    ExitSection,
    FusionSection,
    ModelSection,
    ProjectSection,
    SimulateSection,
    TrainSection,
)
from .validate import build_sections, cross_check, parse_toml

# Keys that say where or how fast to compute, not what: they never make an
# artifact stale.
NON_SEMANTIC_KEYS = {
    "project": {"name", "description"},
    "data": {"root", "download", "num_workers", "eval_batch_size"},
    "train": {"device"},
    "convert": {"device"},
    "simulate": {"device", "chunk", "memory_mb"},
    "compute": {"threads"},
}

# Keys added after projects were made with this bsf: left out of the hash while at
# their default (unset), so that adding one never makes existing results stale.
ADDED_KEYS = {
    "data": {"train_size": None},
}


@dataclass
class Config:
    project: ProjectSection
    data: DataSection
    model: ModelSection
    train: TrainSection
    convert: ConvertSection
    simulate: SimulateSection
    fusion: FusionSection
    energy: EnergySection
    exit: ExitSection
    compute: ComputeSection
    path: Path | None = None  # the project.toml it came from

    @property
    def dataset(self) -> DatasetDef:
        return DATASETS[self.data.dataset]

    @property
    def arch(self) -> ArchDef:
        return ARCHS[self.model.arch]

    @property
    def ics(self) -> list[int]:
        """IC block indices, sorted (resolved: never None)."""
        ic = self.model.ic
        return sorted(ic if isinstance(ic, list) else [ic])

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def data_root(self) -> Path | None:
        """[data] root with ~ and $VARS expanded, relative to the project folder; when
        it is not set, the dataset's usual place (Fashion-MNIST: Debian's package)."""
        if not self.data.root:
            default = self.dataset.default_root
            return Path(default) if default else None
        root = Path(os.path.expandvars(os.path.expanduser(self.data.root)))
        return root if root.is_absolute() else (self.folder / root)

    def section_dict(self, name: str) -> dict[str, Any]:
        return asdict(getattr(self, name))

    def hash_of(self, *sections: str) -> str:
        """A short hash of what the named sections say about the result (not where/how fast)."""
        payload = {}
        for name in sections:
            values = self.section_dict(name)
            for key in NON_SEMANTIC_KEYS.get(name, ()):
                values.pop(key, None)
            for key, default in ADDED_KEYS.get(name, {}).items():
                if values.get(key) == default:
                    values.pop(key, None)
            payload[name] = values
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _resolve(sections: dict[str, Any]) -> dict[str, Any]:
    data, model, train = sections["data"], sections["model"], sections["train"]
    dataset, arch = DATASETS[data.dataset], ARCHS[model.arch]
    if model.ic is None:
        model = replace(model, ic=[arch.default_ic])
    elif isinstance(model.ic, int):
        model = replace(model, ic=[model.ic])
    else:
        model = replace(model, ic=sorted(model.ic))
    if data.augment is None:
        data = replace(data, augment=dataset.augment)
    if data.image_size is None and dataset.image_size is None:
        data = replace(data, image_size=32)
    if train.milestones is None and train.schedule == "multistep":
        epochs = train.epochs
        milestones = sorted({max(1, round(epochs * f)) for f in (0.3, 0.6, 0.8)} - {epochs})
        train = replace(train, milestones=[m for m in milestones if m < epochs])
    return {**sections, "data": data, "model": model, "train": train}


def parse_config(text: str, path: Path | None = None) -> Config:
    """Validate project.toml text; raise ConfigError with every problem found."""
    where = f"{path}: " if path is not None else ""
    raw, problems = parse_toml(text)
    if raw is None:
        raise ConfigError(where + problems[0], [where + p for p in problems])
    sections, problems = build_sections(raw)
    if not problems:
        problems = cross_check(sections, raw)
    if problems:
        lines = [where + p for p in problems]
        raise ConfigError(lines[0], lines)
    return Config(**_resolve(sections), path=path)


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save project.toml as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_config(text, path)


def default_config() -> Config:
    """Every section at its defaults (the digits project)."""
    return parse_config("")


__all__ = ["SECTIONS", "Config", "default_config", "load_config", "parse_config"]
