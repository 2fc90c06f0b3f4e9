"""MNIST from idx files (torchvision's layout: <root>/MNIST/raw/*-ubyte, optionally .gz)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    import numpy as np

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def read_idx(path: Path) -> np.ndarray:
    """An idx file (unsigned-byte data only, as MNIST uses) as a numpy array."""
    import numpy as np  # (only to read: finding the files stays numpy-free)

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc}); re-extract MNIST") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte idx file; re-extract MNIST")
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


def _locate(root: Path, stem: str) -> Path:
    for folder in (root / "MNIST" / "raw", root / "raw", root):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise DataError(
        f"mnist: {stem} not found under {root} (looked in MNIST/raw/, raw/ and the root itself); "
        "point [data] root at the folder holding MNIST/, or set download = true"
    )


def read_mnist(root: Path, download: bool = False):
    """(train_x, train_y, test_x, test_y, class_names) as uint8 [N,1,28,28] / int64 arrays."""
    import numpy as np  # (only to read: finding the files stays numpy-free)

    if download:
        import torchvision

        root.mkdir(parents=True, exist_ok=True)
        torchvision.datasets.MNIST(str(root), train=True, download=True)
    arrays = {key: read_idx(_locate(root, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(
                f"mnist: {split} images {list(x.shape)} and labels {list(y.shape)} "
                "do not match; re-extract MNIST"
            )
    return (
        arrays["train_x"][:, None].copy(),
        arrays["train_y"].astype(np.int64),
        arrays["test_x"][:, None].copy(),
        arrays["test_y"].astype(np.int64),
        [str(i) for i in range(10)],
    )
