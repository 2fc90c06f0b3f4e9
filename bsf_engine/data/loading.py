"""Loading a project's dataset and splitting it (torch-backed; `bsf_engine.data` loads
this module when one of its names is first used)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError
from .catalog import DatasetDef
from .images import Augmentation, ImageSet, Normalisation
from .locate import check_root
from .splits import SplitPlan, plan_split


@dataclass
class Datasets:
    train: ImageSet
    tune: ImageSet
    test: ImageSet
    classes: list[str]
    in_channels: int
    image_size: int
    norm: Normalisation
    augment: Augmentation | None
    plan: SplitPlan

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def split(self, name: str) -> ImageSet:
        return {"train": self.train, "tune": self.tune, "test": self.test}[name]

    def record(self) -> dict:
        """What ann.json stores about the split (the indices go to split.json)."""
        return {
            "seed": self.plan.seed,
            "sizes": {"train": len(self.train), "tune": len(self.tune), "test": len(self.test)},
            "digest": self.plan.digest(),
        }


def _in_memory(name: str, x: np.ndarray, y: np.ndarray) -> ImageSet:
    return ImageSet(
        name,
        torch.from_numpy(y),
        images=torch.from_numpy(x),
        image_size=x.shape[-1],
        in_channels=x.shape[1],
    )


def _on_disk(name: str, files, size: int, channels: int) -> ImageSet:
    labels = torch.tensor([label for _, label in files], dtype=torch.long)
    return ImageSet(name, labels, files=files, image_size=size, in_channels=channels)


def load_datasets(config) -> Datasets:
    """Read the dataset named in [data] and split it as the config says (seeded)."""
    d: DatasetDef = config.dataset
    data = config.data
    root = check_root(config)
    test_x = test_y = None
    if d.name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        pool_x = (digits.images[:, None] / 16.0).astype(np.float32)
        pool_y = digits.target.astype(np.int64)
        classes = [str(c) for c in digits.target_names]
        pool = _in_memory("pool", pool_x, pool_y)
    elif d.name in ("cifar10", "cifar100"):
        from .cifar import read_cifar

        pool_x, pool_y, test_x, test_y, classes = read_cifar(root, d.name, data.download)
        pool = _in_memory("pool", pool_x, pool_y)
    elif d.name in ("mnist", "fashion-mnist"):
        from .mnist import read_mnist

        pool_x, pool_y, test_x, test_y, classes = read_mnist(root, data.download, d.name)
        pool = _in_memory("pool", pool_x, pool_y)
    elif d.name == "mnist5k":
        from .mnist5k import read_mnist5k

        pool_x, pool_y, classes = read_mnist5k(root)
        pool = _in_memory("pool", pool_x, pool_y)
    elif d.name == "tiny-imagenet":
        from .folders import scan_tiny_imagenet

        train_files, test_files, classes = scan_tiny_imagenet(root)
        pool = _on_disk("pool", train_files, d.image_size, d.in_channels)
    elif d.name == "imagefolder":
        from .folders import scan_imagefolder

        train_files, test_files, classes = scan_imagefolder(root)
        pool = _on_disk("pool", train_files, data.image_size, d.in_channels)
    else:  # pragma: no cover - the schema only admits the names above
        raise DataError(f"unknown dataset {d.name!r}")

    if test_x is not None:  # a dataset read into memory with its own test split
        test = _in_memory("test", test_x, test_y)
    elif d.name in ("tiny-imagenet", "imagefolder") and test_files is not None:
        test = _on_disk("test", test_files, pool.image_size, d.in_channels)
    else:
        test = None

    labels = pool.labels.numpy()
    test_size = None
    if test is None:
        default = round((0.2 if d.name == "digits" else 0.1) * len(pool))
        test_size = data.test_size if data.test_size is not None else default
    elif data.test_size is not None and data.test_size > len(test):
        raise DataError(
            f"[data] test_size = {data.test_size}: {d.name}'s test split has {len(test)} "
            "images; ask for at most that many (or remove the key: all of them)"
        )
    tune_size = data.tune_size if data.tune_size is not None else d.default_tune_size(len(pool))
    available = len(pool) - (test_size or 0)
    if not 0 < (test_size or 1) < len(pool) or not 0 < tune_size < available:
        raise DataError(
            f"[data] tune_size = {tune_size}"
            + (f", test_size = {test_size}" if test_size else "")
            + f": {d.name} has {len(pool)} training images here; leave some for training"
        )
    if data.train_size is not None and data.train_size > available - tune_size:
        raise DataError(
            f"[data] train_size = {data.train_size}: {d.name} leaves "
            f"{available - tune_size} training images here after tune"
            + (" and test" if test_size else "")
            + "; ask for at most that many (or remove the key: all of them)"
        )
    official = test.labels.numpy() if test is not None and data.test_size is not None else None
    plan = plan_split(
        labels,
        tune_size,
        test_size,
        data.split_seed,
        train_size=data.train_size,
        official_labels=official,
        official_size=data.test_size if official is not None else None,
    )
    if test is None:
        test = pool.subset(plan.test, "test")
    elif plan.official_test is not None:
        test = test.subset(plan.official_test, "test")
    if len(classes) < 2:
        raise DataError(f"{d.name}: found {len(classes)} class; a classifier needs at least 2")
    augment = Augmentation(d.crop_padding, d.flip) if data.augment else None
    return Datasets(
        train=pool.subset(plan.train, "train"),
        tune=pool.subset(plan.tune, "tune"),
        test=test,
        classes=classes,
        in_channels=pool.in_channels,
        image_size=pool.image_size,
        norm=Normalisation(d.mean, d.std),
        augment=augment,
        plan=plan,
    )
