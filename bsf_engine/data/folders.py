"""Image folders read from disk on demand: any ImageFolder tree, and Tiny-ImageNet."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

Samples = list[tuple[str, int]]


def _images_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )


def class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_class_tree(folder: Path, classes: list[str] | None = None) -> tuple[Samples, list[str]]:
    """(path, label) for every image under folder/<class>/ (any depth), and the class names."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; point [data] root at an ImageFolder tree")
    classes = classes if classes is not None else class_folders(folder)
    if not classes:
        raise DataError(f"{folder}: no class folders; expected <root>/<class>/<image files>")
    samples: Samples = []
    for label, name in enumerate(classes):
        class_dir = folder / name
        if class_dir.is_dir():
            samples.extend((str(p), label) for p in _images_under(class_dir))
    if not samples:
        raise DataError(f"{folder}: no image files in the class folders")
    return samples, classes


def scan_imagefolder(root: Path) -> tuple[Samples, Samples | None, list[str]]:
    """(train samples, test samples or None, classes).

    With root/train/ and root/test/ (or root/val/) the test split is given;
    otherwise root itself is one class tree and the caller draws a test split.
    """
    if not root.is_dir():
        raise DataError(f"[data] root = {str(root)!r}: folder does not exist")
    if (root / "train").is_dir():
        train, classes = scan_class_tree(root / "train")
        for name in ("test", "val"):
            if (root / name).is_dir():
                test, _ = scan_class_tree(root / name, classes)
                return train, test, classes
        return train, None, classes
    train, classes = scan_class_tree(root)
    return train, None, classes


def find_tiny_imagenet(root: Path) -> Path:
    for candidate in (root / "tiny-imagenet-200", root):
        if (candidate / "train").is_dir() and (candidate / "val").is_dir():
            return candidate
    raise DataError(
        f"tiny-imagenet: no tiny-imagenet-200/ with train/ and val/ under {root}; "
        "point [data] root at the folder holding it"
    )


def scan_tiny_imagenet(root: Path) -> tuple[Samples, Samples, list[str]]:
    """Train images from train/<wnid>/images, test images from val/ (its annotations file)."""
    folder = find_tiny_imagenet(root)
    wnids_file = folder / "wnids.txt"
    if wnids_file.is_file():
        classes = sorted(
            line.strip() for line in wnids_file.read_text().splitlines() if line.strip()
        )
    else:
        classes = class_folders(folder / "train")
    train, _ = scan_class_tree(folder / "train", classes)
    annotations = folder / "val" / "val_annotations.txt"
    if not annotations.is_file():
        raise DataError(f"{annotations}: missing; re-extract Tiny-ImageNet")
    index = {name: label for label, name in enumerate(classes)}
    test: Samples = []
    for number, line in enumerate(annotations.read_text().splitlines(), 1):
        parts = line.split("\t")
        if not line.strip():
            continue
        if len(parts) < 2 or parts[1] not in index:
            raise DataError(
                f"{annotations}:{number}: expected '<file>\\t<wnid>\\t...', got {line[:60]!r}"
            )
        path = folder / "val" / "images" / parts[0]
        if not path.is_file():
            raise DataError(f"{path}: listed in val_annotations.txt but missing")
        test.append((str(path), index[parts[1]]))
    return train, test, classes
