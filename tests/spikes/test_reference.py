"""The authors' folders are checked when opened: no holes in the numbering, one T and one
class count in every file and head — each a one-line error naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from bsf_engine.errors import DataError
from bsf_engine.spikes import open_spikes
from tests.test_report import write_reference_run

from .test_store import write_reference_test


def test_a_tuning_folder_with_a_missing_labels_file_is_refused(tmp_path, cli) -> None:
    folder = write_reference_run(tmp_path / "ref", batch=20)
    (folder / "train" / "labels_1.npz").unlink()
    result = cli("tune", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'train'}: labels_1.npz missing (batch 1's outputs are there); "
        "restore it from the reference run\n"
    )
    assert not (folder / "bsf").exists()


def test_holes_in_the_numbering_are_named(tmp_path) -> None:
    folder = write_reference_run(tmp_path / "ref", batches=4)
    for name in ("labels_1.npz", "-1_output_1.npz", "3_output_1.npz"):
        (folder / "train" / name).unlink()  # batch 1 entirely gone
    with pytest.raises(DataError, match=r"train: labels_1\.npz missing \(batches are numbered"):
        open_spikes(folder / "train")
    (folder / "snn_vgg11" / "output_2.npz").unlink()
    with pytest.raises(
        DataError, match=r"snn_vgg11: output_2\.npz missing \(batches are numbered 0-3\)"
    ):
        open_spikes(folder / "snn_vgg11")


def _rewrite(path, **changes) -> None:
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays.update(changes)
    np.savez_compressed(path, **arrays)


def test_heads_of_different_length_in_one_file_are_refused(tmp_path, cli) -> None:
    truth = write_reference_test(tmp_path / "run" / "snn_vgg19", t=30)
    path = tmp_path / "run" / "snn_vgg19" / "output_0.npz"
    _rewrite(path, mid=truth[0][2][:20])  # final [30, B, C], mid [20, B, C]
    message = (
        f"error: {path}: ic6 head has T = 20, but output_0.npz (final) has T = 30; every head "
        "and batch of one run must have the same T\n"
    )
    result = cli("inspect", path.parent)
    assert (result.exit_code, result.stderr) == (2, message)
    result = cli("inspect", path.parent, "--accuracy")
    assert (result.exit_code, result.stderr) == (2, message)


def test_batches_of_different_length_are_refused(tmp_path) -> None:
    truth = write_reference_test(tmp_path / "run" / "snn_vgg19", t=30)
    path = tmp_path / "run" / "snn_vgg19" / "output_1.npz"
    _rewrite(path, final=truth[1][1][:25], mid=truth[1][2][:25])
    with pytest.raises(DataError, match=r"output_1\.npz: final head has T = 25, but output_0"):
        open_spikes(path.parent)
    folder = write_reference_run(tmp_path / "ref", steps=40)
    _rewrite(folder / "train" / "3_output_1.npz", o=np.zeros((40, 10, 7), np.float32))
    with pytest.raises(DataError, match=r"3_output_1\.npz: ic3 head has 7 classes, but"):
        open_spikes(folder / "train")


def test_a_reference_report_on_heads_of_different_length_is_refused(tmp_path, cli) -> None:
    folder = write_reference_run(tmp_path / "ref", steps=40)
    assert cli("tune", folder).exit_code == 0
    path = folder / "snn_vgg11" / "output_1.npz"
    with np.load(path) as npz:
        mid = npz["mid"]
    _rewrite(path, mid=mid[:30])
    result = cli("report", folder)
    assert result.exit_code == 2
    assert result.stderr.endswith(
        f"error: {path}: ic3 head has T = 30, but output_0.npz (final) has T = 40; every head "
        "and batch of one run must have the same T\n"
    )
    assert not (folder / "bsf" / "report.json").exists()
