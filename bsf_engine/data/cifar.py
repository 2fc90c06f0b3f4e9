"""CIFAR-10/100 from torchvision's on-disk layout (the python pickle batches).

We read the pickles ourselves into uint8 tensors (fast batched augmentation,
no per-image PIL work); torchvision is used only to download when asked.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import numpy as np

LAYOUTS = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "labels": "labels",
        "names": "label_names",
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "labels": "fine_labels",
        "names": "fine_label_names",
    },
}


def find_folder(root: Path, name: str) -> Path:
    folder_name = LAYOUTS[name]["folder"]
    for candidate in (root / folder_name, root):
        if (candidate / LAYOUTS[name]["meta"]).is_file():
            return candidate
    raise DataError(
        f"{name}: no {folder_name}/ with {LAYOUTS[name]['meta']} under {root}; "
        "point [data] root at the folder holding it, or set download = true"
    )


def _unpickle(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return pickle.load(handle, encoding="latin1")
    except FileNotFoundError:
        raise DataError(
            f"{path}: missing; the CIFAR folder is incomplete (re-extract it)"
        ) from None
    except Exception as exc:
        raise DataError(
            f"{path}: not a CIFAR pickle ({exc.__class__.__name__}); re-extract it"
        ) from None


def _read_batches(folder: Path, files: list[str], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np  # (only to read: finding the files stays numpy-free)

    images, labels = [], []
    for name in files:
        entry = _unpickle(folder / name)
        try:
            data = np.asarray(entry["data"], dtype=np.uint8)
            batch_labels = np.asarray(entry[label_key], dtype=np.int64)
        except KeyError as exc:
            raise DataError(f"{folder / name}: no {exc.args[0]!r} entry; re-extract it") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(batch_labels) != len(data):
            raise DataError(
                f"{folder / name}: expected data [N, 3072] and N labels, got {list(data.shape)} "
                f"and {len(batch_labels)}"
            )
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


def read_cifar(root: Path, name: str, download: bool = False):
    """(train_x, train_y, test_x, test_y, class_names) as uint8 [N,3,32,32] / int64 arrays."""
    if download:
        import torchvision

        cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
        root.mkdir(parents=True, exist_ok=True)
        cls(str(root), train=True, download=True)
    layout = LAYOUTS[name]
    folder = find_folder(root, name)
    meta = _unpickle(folder / layout["meta"])
    classes = list(meta.get(layout["names"], []))
    train_x, train_y = _read_batches(folder, layout["train"], layout["labels"])
    test_x, test_y = _read_batches(folder, layout["test"], layout["labels"])
    return train_x, train_y, test_x, test_y, classes
