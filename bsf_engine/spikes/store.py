"""bsf's own spike-batch layout: spikes/<split>/batch_NNNNN.npz + manifest.json.

Per batch file: `labels` [B], `indices` [B] (positions in the split),
`timesteps` (scalar), `head_<name>` [B, K, ⌈T/8⌉] (packed, see codec.py) and
`counts` [L, T] (per-population spikes per step, differences along time).
The manifest lists the batches with their checksums and says whether the
simulation is complete; it is rewritten atomically after every batch (manifest.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..layout import MANIFEST
from .batch import SpikeBatch
from .codec import decode_counts, encode_counts, npz_bytes, pack_head

# the manifest's half of the layout lives in .manifest (plain JSON: `bsf status` reads it
# without numpy); its names are this module's too
from .manifest import FORMAT as FORMAT
from .manifest import VERSION as VERSION
from .manifest import broken_batches as broken_batches
from .manifest import read_manifest as read_manifest
from .manifest import write_manifest as write_manifest


def batch_filename(index: int) -> str:
    return f"batch_{index:05d}.npz"


def encode_batch(
    labels: np.ndarray,
    indices: np.ndarray,
    heads: dict[str, np.ndarray],
    counts: np.ndarray,
    timesteps: int,
) -> bytes:
    arrays: dict[str, np.ndarray] = {
        "labels": np.asarray(labels, dtype=np.int64),
        "indices": np.asarray(indices, dtype=np.int64),
        "timesteps": np.asarray(timesteps, dtype=np.int64),
    }
    for name, spikes in heads.items():
        arrays[f"head_{name}"] = pack_head(spikes)
    arrays["counts"] = encode_counts(counts)
    return npz_bytes(arrays)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _corrupt(path: Path, why: str) -> DataError:
    return DataError(
        f"{path}: corrupt spike file ({why}); delete it and rerun `bsf simulate` to make it again"
    )


def read_batch_file(path: Path, expected_sha: str | None = None) -> SpikeBatch:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: missing; rerun `bsf simulate` to make it") from None
    if expected_sha is not None and sha256_bytes(data) != expected_sha:
        raise _corrupt(path, "checksum differs from manifest.json")
    try:
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _corrupt(path, exc.__class__.__name__) from None
    try:
        timesteps = int(np.asarray(arrays["timesteps"]).reshape(-1)[0])
        labels = arrays["labels"]
        packed = {k[5:]: v for k, v in arrays.items() if k.startswith("head_")}
        counts = decode_counts(arrays["counts"])
    except KeyError as exc:
        raise _corrupt(path, f"no {exc.args[0]!r} array") from None
    size = labels.shape[0]
    for name, value in packed.items():
        if value.ndim != 3 or value.shape[0] != size or value.shape[2] != -(-timesteps // 8):
            raise _corrupt(path, f"head {name} has shape {list(value.shape)}")
    if counts.shape[0] != timesteps:
        raise _corrupt(path, f"counts cover {counts.shape[0]} steps, not {timesteps}")
    return SpikeBatch(
        labels, timesteps, packed=packed, counts=counts, indices=arrays.get("indices")
    )


# -- replacing a split's spikes (`bsf simulate --overwrite`) ----------------------------
def aside_folder(folder: Path) -> Path:
    """Where `--overwrite` keeps a split's old spikes: `spikes/.test.replaced`."""
    return folder.with_name(f".{folder.name}.replaced")


class SetAside:
    """A split folder's old spikes, moved out of the way (one rename) while a simulation
    that replaces them starts: put back if it fails before its first batch (any failure,
    Ctrl-C included), deleted once it has one. A run killed in between leaves the aside
    folder behind; `recover_set_aside`, the next simulation's first step, settles it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.aside = aside_folder(folder)
        self.held = False

    @classmethod
    def move(cls, folder: Path) -> SetAside:
        moved = cls(folder)
        try:
            os.rename(folder, moved.aside)
        except OSError as exc:
            raise DataError(
                f"{folder}: cannot move the old spikes aside to {moved.aside.name} "
                f"({exc.strerror or exc.__class__.__name__}); nothing was replaced"
            ) from None
        moved.held = True
        return moved

    def restore(self) -> None:
        """Put the old spikes back (what the new run wrote goes)."""
        if not self.held:
            return
        with contextlib.suppress(OSError):  # else the next simulation's recovery retries
            if self.folder.is_dir():
                shutil.rmtree(self.folder)
            os.rename(self.aside, self.folder)
            self.held = False

    def discard(self) -> None:
        """The new run has a batch of its own: the old spikes go."""
        if self.held:
            shutil.rmtree(self.aside, ignore_errors=True)
            self.held = False


def recover_set_aside(folder: Path) -> str | None:
    """Settle old spikes a killed `--overwrite` run left aside: deleted if the new run got
    as far as a batch, else put back. Returns what was done (None: nothing to do)."""
    aside = aside_folder(folder)
    if not aside.is_dir():
        return None
    try:
        manifest = read_manifest(folder) if folder.is_dir() else None
    except DataError:
        manifest = None
    if manifest is not None and manifest.get("batches"):
        shutil.rmtree(aside)
        return f"removed {aside} (the spikes an --overwrite run replaced)"
    if folder.is_dir():
        shutil.rmtree(folder)
    os.rename(aside, folder)
    return f"restored {folder} (an --overwrite run stopped before its first batch)"


class SplitStore:
    """Read access to one simulated split (lazy: one batch in memory at a time)."""

    kind = "bsf"

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, folder: Path) -> SplitStore:
        manifest = read_manifest(folder)
        if manifest is None:
            raise DataError(f"{folder}: no {MANIFEST}; simulate it with `bsf simulate`")
        return cls(folder, manifest)

    @property
    def timesteps(self) -> int:
        return int(self.manifest["timesteps"])

    @property
    def heads(self) -> list[str]:
        return list(self.manifest["heads"])

    @property
    def num_classes(self) -> int:
        return int(self.manifest["num_classes"])

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest.get("classes", []))

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete"))

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("batches", []))

    @property
    def num_batches(self) -> int:
        return len(self.entries)

    @property
    def samples(self) -> int:
        return sum(int(e["samples"]) for e in self.entries)

    @property
    def populations(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("populations", []))

    def batch(self, index: int) -> SpikeBatch:
        entries = self.entries
        if not 0 <= index < len(entries):
            raise DataError(
                f"{self.folder}: batch {index} does not exist "
                f"({len(entries)} batches: 0-{len(entries) - 1})"
            )
        entry = entries[index]
        return read_batch_file(self.folder / entry["file"], entry.get("sha256"))

    def __iter__(self) -> Iterator[SpikeBatch]:
        for index in range(self.num_batches):
            yield self.batch(index)

    def labels(self) -> np.ndarray:
        """Labels of every simulated sample, from the manifest (no batch file is read)."""
        if not self.entries:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.asarray(e["labels"], dtype=np.int64) for e in self.entries])
