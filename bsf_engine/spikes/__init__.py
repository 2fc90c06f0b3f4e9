"""Spike batches: bsf's store and the reference's layouts behind one interface.

`open_spikes(path)` accepts a simulated split folder (with manifest.json), a
single bsf batch file, a reference test folder (`output_{i}.npz`) or a
reference tuning folder (`labels_{i}.npz` + `{k}_output_{i}.npz`, also when
given its parent). Every source has `kind`, `timesteps`, `heads`,
`num_classes`, `num_batches`, `samples`, `batch(i)`, iteration over batches
(one in memory at a time) and `labels()`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError, MissingArtifactError
from ..layout import MANIFEST, Layout

if TYPE_CHECKING:
    from .batch import SpikeBatch
    from .source import SpikeSource
    from .store import SplitStore

# name -> the module that holds it, loaded on first use: they import numpy, and
# `bsf status` needs only the manifest (`.manifest`) of this package
_LAZY = {
    "SpikeBatch": "batch",
    "SpikeSource": "source",
    "SplitStore": "store",
    "read_batch_file": "store",
}

__all__ = [
    "SpikeBatch",
    "SpikeSource",
    "SplitStore",
    "open_project_split",
    "open_spikes",
    "read_batch_file",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SingleBatch:
    """One bsf batch file seen as a source of one batch."""

    kind = "bsf-batch"

    def __init__(self, path: Path) -> None:
        from .store import read_batch_file

        self.folder = path.parent
        self.path = path
        self._batch = read_batch_file(path)
        self.timesteps = self._batch.timesteps
        self.heads = self._batch.heads
        self.num_classes = self._batch.num_classes
        self.num_batches = 1
        self.samples = self._batch.size
        self.class_names: list[str] = []

    def batch(self, index: int) -> SpikeBatch:
        if index != 0:
            raise DataError(f"{self.path}: a single batch file has only batch 0")
        return self._batch

    def __iter__(self):
        yield self._batch

    def labels(self):
        return self._batch.labels


def open_spikes(path: str | Path) -> SpikeSource:
    from .reference import TEST_FILE, ReferenceTestFolder, ReferenceTuneFolder
    from .store import SplitStore

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        if path.name == MANIFEST:
            return SplitStore.open(path.parent)
        if path.suffix != ".npz":
            raise DataError(f"{path}: not a spike file (expected .npz or a folder)")
        if TEST_FILE.match(path.name):
            return ReferenceTestFolder(path.parent)
        return SingleBatch(path)
    if (path / MANIFEST).is_file():
        return SplitStore.open(path)
    names = {p.name for p in path.iterdir()}
    if any(n.startswith("output_") and n.endswith(".npz") for n in names):
        return ReferenceTestFolder(path)
    if any(n.startswith("labels_") and n.endswith(".npz") for n in names):
        return ReferenceTuneFolder(path)
    if (path / "train").is_dir() and any(
        n.startswith("labels_") for n in (p.name for p in (path / "train").iterdir())
    ):
        return ReferenceTuneFolder(path / "train")
    raise DataError(
        f"{path}: no spikes here (expected manifest.json, output_<i>.npz or labels_<i>.npz)"
    )


def open_project_split(paths: Layout, split: str) -> SplitStore:
    """A project's finished simulation of one split, or an error naming the command to run."""
    from .store import SplitStore

    folder = paths.spikes(split)
    command = f"bsf simulate {paths.folder} --split {split}"
    if not (folder / MANIFEST).is_file():
        raise MissingArtifactError(f"{folder}: no {split} spikes; run `{command}` first")
    source = SplitStore.open(folder)
    if not source.complete:
        raise MissingArtifactError(
            f"{folder}: simulation incomplete ({source.samples} of "
            f"{source.manifest['samples']} samples); rerun `{command}` to finish it"
        )
    return source
