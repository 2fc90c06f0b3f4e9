"""Finding a dataset's files and its shape without reading an image (torch- and
numpy-free: `bsf validate` and `bsf info` stay light; the loaders use it too)."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError, toml_repr
from .catalog import DatasetDef
from .folders import class_folders


def check_root(config) -> Path | None:
    """The dataset root, or a DataError when one is needed, missing and not to be downloaded."""
    root = config.data_root()
    d = config.dataset
    if d.needs_root and root is not None and not root.exists() and not config.data.download:
        if not config.data.root:  # the dataset's usual place, which is not there
            raise DataError(
                f"{d.name}: {root} does not exist; {d.install}, or set [data] root to the "
                f"folder holding {d.root_hint}"
            )
        raise DataError(
            f"[data] root = {toml_repr(config.data.root)}: {root} does not exist; "
            "point it at the folder "
            f"holding {config.dataset.root_hint}"
        )
    return root


def dataset_shape(config) -> tuple[int, int, int]:
    """(in_channels, image_size, num_classes) without reading any image."""
    d: DatasetDef = config.dataset
    image_size = d.image_size or config.data.image_size
    if d.num_classes is not None:
        return d.in_channels, image_size, d.num_classes
    root = check_root(config)
    if root is None or not root.is_dir():
        raise DataError(f"[data] root = {toml_repr(config.data.root)}: {root} is not a folder")
    tree = root / "train" if (root / "train").is_dir() else root
    classes = class_folders(tree)
    if not classes:
        raise DataError(f"{tree}: no class folders; expected <root>/<class>/<image files>")
    return d.in_channels, image_size, len(classes)


def check_dataset_files(config) -> None:
    """Raise DataError unless the dataset's files can be found (reads no images)."""
    d: DatasetDef = config.dataset
    if d.name == "mnist5k":
        from .mnist5k import find_csv

        find_csv(config.data_root())
        return
    if not d.needs_root:
        return
    root = check_root(config)
    if config.data.download and root is not None and not root.exists():
        return
    if d.name in ("cifar10", "cifar100"):
        from .cifar import find_folder

        find_folder(root, d.name)
    elif d.name in ("mnist", "fashion-mnist"):
        from .mnist import FILES, locate_idx

        for stem in FILES.values():
            locate_idx(root, stem, d.name)
    elif d.name == "tiny-imagenet":
        from .folders import find_tiny_imagenet

        find_tiny_imagenet(root)
    else:
        dataset_shape(config)
