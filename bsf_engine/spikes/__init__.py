"""Spike batches: bsf's store and the reference's layouts behind one interface.

`open_spikes(path)` accepts a simulated split folder (with manifest.json), a
single bsf batch file, a reference test folder (`output_{i}.npz`) or a
reference tuning folder (`labels_{i}.npz` + `{k}_output_{i}.npz`, also when
given its parent). Every source has `kind`, `timesteps`, `heads`,
`num_classes`, `num_batches`, `samples`, `batch(i)`, iteration over batches
(one in memory at a time) and `labels()`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError, MissingArtifactError
from ..layout import MANIFEST, Layout
from .batch import SpikeBatch
from .reference import ReferenceTestFolder, ReferenceTuneFolder
from .source import SpikeSource
from .store import SplitStore, read_batch_file

__all__ = [
    "SpikeBatch",
    "SpikeSource",
    "SplitStore",
    "open_project_split",
    "open_spikes",
    "read_batch_file",
]


class SingleBatch:
    """One bsf batch file seen as a source of one batch."""

    kind = "bsf-batch"

    def __init__(self, path: Path) -> None:
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
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        if path.name == MANIFEST:
            return SplitStore.open(path.parent)
        if path.suffix != ".npz":
            raise DataError(f"{path}: not a spike file (expected .npz or a folder)")
        from .reference import TEST_FILE

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
