"""Readers for the spike files written by the authors' scripts (the reference layouts).

- test spikes: `snn*/output_{i}.npz` with `labels` [B] int64 and `final`, `mid`
  [T, B, C] float32 (0/1);
- tuning spikes: `train/labels_{i}.npz` (key `l`) with `train/-1_output_{i}.npz`
  (final head) and `train/{ic}_output_{i}.npz` (IC head), key `o` [T, B, C].
The IC head is called `ic{n}` when a `command.json` next to or above the folder
names `ic_index`, else `ic`.

A folder is checked when it is opened, from the files' names and array headers (nothing
is decompressed): batches numbered 0…n−1 with none missing, and one T and one class
count in every file and head — else a one-line error naming the file.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .. import layout
from ..errors import DataError
from ..models.spec import ic_name
from .batch import SpikeBatch

TEST_FILE = re.compile(r"^output_(\d+)\.npz$")
TUNE_LABELS = re.compile(r"^labels_(\d+)\.npz$")
TUNE_OUTPUT = re.compile(r"^(-?\d+)_output_(\d+)\.npz$")


def npz_member_shape(path: Path, key: str) -> tuple[int, ...]:
    """Shape of one array in an .npz, read from its header (nothing is decompressed beyond it)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            reader = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, _ = reader(member)
            return tuple(shape)
    except (KeyError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read array {key!r} ({exc.__class__.__name__})") from None


def _load(path: Path, key: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return npz[key]
    except KeyError:
        raise DataError(f"{path}: no {key!r} array (not a reference spike file?)") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: corrupt ({exc.__class__.__name__})") from None


def _ic_name(folder: Path) -> str:
    for candidate in (folder, *folder.parents[:3]):
        command = candidate / layout.REFERENCE_COMMAND
        if command.is_file():
            ic = (layout.read_json_or_none(command) or {}).get("ic_index")
            return ic_name(ic) if isinstance(ic, int) else "ic"
    return "ic"


def _missing_batches(folder: Path, found: dict[int, object], pattern: str) -> None:
    """Refuse a numbering with holes (batches are 0…n−1), naming the missing files."""
    indices = sorted(found)
    expected = range(max(indices) + 1)
    missing = [i for i in expected if i not in found]
    if missing:
        names = ", ".join(pattern.format(i) for i in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise DataError(
            f"{folder}: {names}{more} missing (batches are numbered 0-{expected[-1]}); "
            "restore the file(s) from the reference run, or remove every later batch's "
            "files to use the batches before the gap"
        )


def _same_shapes(files: list[tuple[Path, str, str]]) -> tuple[int, int]:
    """(T, classes) that every (file, array, head) has; else an error naming both."""
    first: tuple[Path, str, tuple[int, ...]] | None = None
    for path, key, head in files:
        shape = npz_member_shape(path, key)
        if len(shape) != 3:
            raise DataError(f"{path}: {key} has shape {list(shape)}; expected [T, batch, classes]")
        if first is None:
            first = (path, head, shape)
            continue
        where = f"{first[0].name} ({first[1]})"
        if shape[0] != first[2][0]:
            raise DataError(
                f"{path}: {head} head has T = {shape[0]}, but {where} has T = {first[2][0]}; "
                "every head and batch of one run must have the same T"
            )
        if shape[2] != first[2][2]:
            raise DataError(
                f"{path}: {head} head has {shape[2]} classes, but {where} has {first[2][2]}"
            )
    assert first is not None
    return first[2][0], first[2][2]


def _check(path: Path, array: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    if array.ndim != 3 or array.shape[1] != labels.shape[0]:
        raise DataError(
            f"{path}: {name} has shape {list(array.shape)}; expected [T, "
            f"{labels.shape[0]}, classes]"
        )
    return array


class _ReferenceFolder:
    """What both reference layouts share: an IC head and a final head, batches by index."""

    kind = ""
    ic = "ic"
    num_batches = 0

    @property
    def heads(self) -> list[str]:
        return [self.ic, "final"]

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.num_batches:
            raise DataError(
                f"{self.folder}: batch {index} does not exist "
                f"({self.num_batches} batches: 0-{self.num_batches - 1})"
            )

    def _batch(self, labels: np.ndarray, ic: tuple[Path, str], final: tuple[Path, str]):
        dense = {
            self.ic: _check(ic[0], _load(*ic), labels, ic[1]),
            "final": _check(final[0], _load(*final), labels, final[1]),
        }
        return SpikeBatch(labels, dense["final"].shape[0], dense=dense)

    def batch(self, index: int) -> SpikeBatch:
        raise NotImplementedError

    def __iter__(self) -> Iterator[SpikeBatch]:
        for index in range(self.num_batches):
            yield self.batch(index)


class ReferenceTestFolder(_ReferenceFolder):
    """`output_{i}.npz` files (test spikes)."""

    kind = "reference-test"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        numbered = sorted(
            (int(m.group(1)), p) for p in folder.iterdir() if (m := TEST_FILE.match(p.name))
        )
        if not numbered:
            raise DataError(f"{folder}: no output_<i>.npz files")
        _missing_batches(folder, dict(numbered), "output_{}.npz")
        self.files = [p for _, p in numbered]
        self.num_batches = len(self.files)
        self.ic = _ic_name(folder)
        self.class_names: list[str] = []
        self.timesteps, self.num_classes = _same_shapes(
            [
                (p, key, head)
                for p in self.files
                for key, head in (("final", "final"), ("mid", self.ic))
            ]
        )

    def batch(self, index: int) -> SpikeBatch:
        self._check_index(index)
        path = self.files[index]
        labels = _load(path, "labels").astype(np.int64)
        return self._batch(labels, (path, "mid"), (path, "final"))

    def labels(self) -> np.ndarray:
        return np.concatenate([_load(p, "labels").astype(np.int64) for p in self.files])

    @property
    def samples(self) -> int:
        return int(sum(npz_member_shape(p, "labels")[0] for p in self.files))


class ReferenceTuneFolder(_ReferenceFolder):
    """`labels_{i}.npz` + `{-1|ic}_output_{i}.npz` files (tuning spikes)."""

    kind = "reference-tune"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        labels = {int(m.group(1)): p for p in folder.iterdir() if (m := TUNE_LABELS.match(p.name))}
        outputs: dict[int, dict[int, Path]] = {}
        for p in folder.iterdir():
            if m := TUNE_OUTPUT.match(p.name):
                outputs.setdefault(int(m.group(2)), {})[int(m.group(1))] = p
        if not labels:
            raise DataError(f"{folder}: no labels_<i>.npz files")
        _missing_batches(folder, {**outputs, **labels}, "labels_{}.npz")
        indices = sorted({*outputs, *labels})
        self.label_files = []
        self.output_files: list[tuple[Path, Path]] = []
        ic_layers: set[int] = set()
        for i in indices:
            found = outputs.get(i, {})
            ics = [k for k in found if k != -1]
            if i not in labels:
                raise DataError(
                    f"{folder}: labels_{i}.npz missing (batch {i}'s outputs are there); "
                    "restore it from the reference run"
                )
            if -1 not in found or len(ics) != 1:
                raise DataError(
                    f"{folder}: batch {i} needs -1_output_{i}.npz and one <ic>_output_{i}.npz"
                )
            self.label_files.append(labels[i])
            ic_layers.add(ics[0])
            self.output_files.append((found[ics[0]], found[-1]))
        self.num_batches = len(indices)
        # the reference averages α over its files in os.listdir order (float sums: the
        # order shows in the last bit); batch positions in that order
        position = {index: i for i, index in enumerate(indices)}
        self.listing_order = [
            position[int(m.group(1))]
            for name in os.listdir(folder)
            if (m := TUNE_LABELS.match(name))
        ]
        ic = _ic_name(folder)
        self.ic = ic if ic != "ic" or len(ic_layers) != 1 else ic_name(ic_layers.pop())
        self.class_names: list[str] = []
        self.timesteps, self.num_classes = _same_shapes(
            [
                (path, "o", head)
                for pair in self.output_files
                for path, head in zip(pair, (self.ic, "final"))
            ]
        )

    def batch(self, index: int) -> SpikeBatch:
        self._check_index(index)
        labels = _load(self.label_files[index], "l").astype(np.int64).reshape(-1)
        ic_path, final_path = self.output_files[index]
        return self._batch(labels, (ic_path, "o"), (final_path, "o"))

    def labels(self) -> np.ndarray:
        return np.concatenate(
            [_load(p, "l").astype(np.int64).reshape(-1) for p in self.label_files]
        )

    @property
    def samples(self) -> int:
        return int(self.labels().shape[0])
