"""MNIST and Fashion-MNIST from idx files: torchvision's layout (<root>/MNIST/raw/ or
<root>/FashionMNIST/raw/), a raw/ folder, or the four files (optionally .gz) in the root
itself, as Debian's dataset-fashion-mnist installs them."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import numpy as np

# torchvision's folder per dataset, and each dataset's class names
TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}
FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path, dataset: str = "mnist") -> np.ndarray:
    """An idx file (unsigned-byte data only, as MNIST uses) as a numpy array."""
    import numpy as np  # (only to read: finding the files stays numpy-free)

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc}); re-extract {dataset}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte idx file; re-extract {dataset}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) if dims else 0
    if len(raw) - offset != expected:
        raise DataError(
            f"{path}: header says {dims} ({expected} bytes) but {len(raw) - offset} follow; "
            "the file is truncated"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def locate_idx(root: Path, stem: str, dataset: str = "mnist") -> Path:
    """One of the four idx files, plain or gzipped, in torchvision's folder, raw/ or root."""
    for folder in (root / TORCHVISION[dataset] / "raw", root / "raw", root):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    where = f"{TORCHVISION[dataset]}/raw/, raw/ and the root itself"
    fix = (
        "point [data] root at the folder holding MNIST/, or set download = true"
        if dataset == "mnist"
        else "point [data] root at the folder holding the idx files (or FashionMNIST/)"
    )
    raise DataError(f"{dataset}: {stem} not found under {root} (looked in {where}); {fix}")


def read_mnist(root: Path, download: bool = False, dataset: str = "mnist"):
    """(train_x, train_y, test_x, test_y, class_names) as uint8 [N,1,28,28] / int64 arrays,
    for "mnist" or "fashion-mnist" (the same files, other pictures)."""
    import numpy as np  # (only to read: finding the files stays numpy-free)

    if download and dataset == "mnist":
        import torchvision

        root.mkdir(parents=True, exist_ok=True)
        torchvision.datasets.MNIST(str(root), train=True, download=True)
    arrays = {
        key: read_idx(locate_idx(root, stem, dataset), dataset) for key, stem in FILES.items()
    }
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(
                f"{dataset}: {split} images {list(x.shape)} and labels {list(y.shape)} "
                f"do not match; re-extract {dataset}"
            )
        if len(y) and int(y.max()) >= len(CLASSES[dataset]):
            raise DataError(
                f"{dataset}: {split} label {int(y.max())} is past the 10 classes; "
                f"re-extract {dataset}"
            )
    return (
        arrays["train_x"][:, None].copy(),
        arrays["train_y"].astype(np.int64),
        arrays["test_x"][:, None].copy(),
        arrays["test_y"].astype(np.int64),
        list(CLASSES[dataset]),
    )
