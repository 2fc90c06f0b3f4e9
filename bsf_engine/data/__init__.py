"""Datasets: load a project's train / tune / test splits.

`tune` is held out of the training set: it measures validation accuracy while
training, and later calibrates α. `test` is the official test split where the
dataset has one. See docs/datasets.md.
"""

from __future__ import annotations

import importlib

# name -> the module that holds it, loaded on first use: `loading` and `images` import
# torch, so reading a config (which knows the dataset catalog) stays light, and so do
# `bsf validate` and `bsf info`, which only find the files (`locate`)
_LAZY = {
    "check_dataset_files": "locate",
    "dataset_shape": "locate",
    "Datasets": "loading",
    "load_datasets": "loading",
    "Augmentation": "images",
    "ImageSet": "images",
    "Normalisation": "images",
    "iterate_batches": "images",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
