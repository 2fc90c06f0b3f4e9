"""Seeded train / tune / test splits of a training pool, and their record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np


def _draw(
    indices: np.ndarray, labels: np.ndarray, size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rest, drawn): `size` indices drawn from `indices`, stratified by label where possible."""
    from sklearn.model_selection import train_test_split

    counts = np.bincount(labels[indices]) if len(indices) else np.array([])
    present = counts[counts > 0]
    stratify = None
    n_classes = len(present)
    if len(present) and present.min() >= 2 and n_classes <= size <= len(indices) - n_classes:
        stratify = labels[indices]
    rest, drawn = train_test_split(
        indices, test_size=size, random_state=seed, shuffle=True, stratify=stratify
    )
    return np.sort(rest), np.sort(drawn)


@dataclass
class SplitPlan:
    """Indices into the training pool; `test` is None when the dataset has its own test
    split, of which `official_test` (when set) is the subset used."""

    seed: int
    train: np.ndarray
    tune: np.ndarray
    test: np.ndarray | None
    official_test: np.ndarray | None = None

    def sizes(self, official_test: int | None = None) -> dict[str, int]:
        test = len(self.test) if self.test is not None else official_test
        return {"train": len(self.train), "tune": len(self.tune), "test": int(test or 0)}

    def indices(self) -> dict[str, list[int] | str]:
        return {
            "train": self.train.tolist(),
            "tune": self.tune.tolist(),
            "test": self.test.tolist() if self.test is not None else self._official(),
        }

    def _official(self) -> str | dict[str, list[int]]:
        # all of it stays the string "official": the digest of such splits is unchanged
        if self.official_test is None:
            return "official"
        return {"official": self.official_test.tolist()}

    def digest(self) -> str:
        text = json.dumps(self.indices(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_split(
    labels: np.ndarray,
    tune_size: int,
    test_size: int | None,
    seed: int,
    train_size: int | None = None,
    official_labels: np.ndarray | None = None,
    official_size: int | None = None,
) -> SplitPlan:
    """Draw test (when `test_size` is given) then tune out of the pool, then, with
    `train_size`, the training images out of what is left; with `official_size`, a
    subset of the official test split (`official_labels`). Seeded and stratified."""
    pool = np.arange(len(labels))
    test = None
    if test_size is not None:
        pool, test = _draw(pool, labels, test_size, seed)
    train, tune = _draw(pool, labels, tune_size, seed + 1)
    if train_size is not None and train_size < len(train):
        _, train = _draw(train, labels, train_size, seed + 2)
    official = None
    # all of the official split: no subset, and the digest of such a split is unchanged
    if (
        official_labels is not None
        and official_size is not None
        and official_size < len(official_labels)
    ):
        everything = np.arange(len(official_labels))
        _, official = _draw(everything, official_labels, official_size, seed + 3)
    return SplitPlan(seed, train, tune, test, official)
