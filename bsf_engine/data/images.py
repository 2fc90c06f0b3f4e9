"""A split of images and how to iterate it in (augmented, normalised) batches.

Two storages behind one interface:
- in memory (digits, MNIST, CIFAR): a uint8 or float tensor; augmentation
  (random crop with zero padding, horizontal flip) runs batched on the device;
- on disk (ImageFolder, Tiny-ImageNet): (path, label) pairs read by a
  DataLoader with worker processes and torchvision transforms.
Randomness comes only from the generator passed in, so an epoch's batches are
a pure function of (seed, epoch): interrupted training resumes exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .folders import Samples


@dataclass
class Normalisation:
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def apply(self, x: Tensor) -> Tensor:
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std


@dataclass
class Augmentation:
    padding: int
    flip: bool


@dataclass
class ImageSet:
    """One split. Exactly one of `images` (in memory) or `files` (on disk) is set."""

    name: str
    labels: Tensor  # int64 [N]
    images: Tensor | None = None  # uint8 (0..255) or float (0..1), [N, C, H, W]
    files: Samples | None = None
    image_size: int = 0
    in_channels: int = 0

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: Tensor | list[int], name: str | None = None) -> ImageSet:
        index = torch.as_tensor(indices, dtype=torch.long)
        return ImageSet(
            name or self.name,
            self.labels[index],
            self.images[index] if self.images is not None else None,
            [self.files[i] for i in index.tolist()] if self.files is not None else None,
            self.image_size,
            self.in_channels,
        )

    def on_device(self, device: torch.device, max_bytes: int = 4 << 30) -> ImageSet:
        """This split with its in-memory images moved to `device` (when they fit in max_bytes)."""
        if self.images is None or self.images.numel() * self.images.element_size() > max_bytes:
            return self
        return ImageSet(
            self.name,
            self.labels.to(device),
            self.images.to(device),
            None,
            self.image_size,
            self.in_channels,
        )


def _to_unit_float(x: Tensor) -> Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def crop_and_flip(x: Tensor, aug: Augmentation, generator: torch.Generator) -> Tensor:
    """Random crop after zero padding, and a random horizontal flip, per image, batched."""
    n, _, h, w = x.shape
    if aug.padding > 0:
        p = aug.padding
        padded = torch.nn.functional.pad(x, (p, p, p, p))
        oy = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
        ox = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
        rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        x = padded[batch, chan, rows, cols]
    if aug.flip:
        flips = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(flips[:, None, None, None], x.flip(-1), x)
    return x


def _file_transform(size: int, norm: Normalisation, aug: Augmentation | None, channels: int):
    from torchvision import transforms as T

    steps = [T.Resize(size), T.CenterCrop(size)]
    if aug is not None:
        if aug.padding:
            steps.append(T.RandomCrop(size, padding=aug.padding))
        if aug.flip:
            steps.append(T.RandomHorizontalFlip())
    if channels == 1:
        steps.insert(0, T.Grayscale(1))
    steps += [T.ToTensor(), T.Normalize(norm.mean, norm.std)]
    return T.Compose(steps)


class _FileDataset(torch.utils.data.Dataset):
    """Decodes and transforms one image; augmentation is seeded per (epoch seed, position),
    so batches are identical whatever the number of worker processes."""

    def __init__(self, files: Samples, transform, channels: int, seed: int | None) -> None:
        self.files, self.transform, self.seed = files, transform, seed
        self.mode = "L" if channels == 1 else "RGB"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        from PIL import Image

        path, label = self.files[index]
        with Image.open(path) as img:
            img = img.convert(self.mode)
            if self.seed is None:
                return self.transform(img), label
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed + index)
                return self.transform(img), label


def iterate_batches(
    split: ImageSet,
    batch_size: int,
    norm: Normalisation,
    *,
    shuffle: bool = False,
    augment: Augmentation | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    num_workers: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Normalised (images, labels) batches on `device`; the last batch may be short."""
    if (shuffle or augment is not None) and generator is None:
        raise ValueError("shuffling or augmenting needs an explicit generator")
    n = len(split)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    if split.images is not None:
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size].to(split.images.device)
            x = split.images[index].to(device, non_blocking=True)
            y = split.labels[index].to(device, non_blocking=True)
            x = _to_unit_float(x)
            if augment is not None:
                x = crop_and_flip(x, augment, generator)
            yield norm.apply(x), y
        return
    assert split.files is not None
    seed = None
    if augment is not None:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    dataset = _FileDataset(
        [split.files[i] for i in order.tolist()],
        _file_transform(split.image_size, norm, augment, split.in_channels),
        split.in_channels,
        seed,
    )
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,  # already ordered by `order`
        num_workers=num_workers,
        pin_memory=torch.device(device).type == "cuda",
    )
    for x, y in loader:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)
