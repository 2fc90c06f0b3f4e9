"""Cheap checks of torch.save files and .npz archives, without torch and without running
anything a pickle names."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
import torch

from bsf_engine.archives import members, npy_shape, torch_header
from bsf_engine.errors import DataError


def test_a_torch_checkpoints_plain_values_are_read_without_its_weights(tmp_path) -> None:
    path = tmp_path / "ann.pt"
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    spec = {"arch": "vggtiny", "ics": [2], "width": 0.25}
    torch.save({"spec": spec, "state_dict": model.state_dict(), "heads": ["ic2", "final"]}, path)
    header = torch_header(path)
    assert header["spec"] == spec and header["heads"] == ["ic2", "final"]
    assert list(header["state_dict"]) == list(model.state_dict())  # keys only: no tensors
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(DataError, match=r"ann\.pt: unreadable \(truncated or not a zip archive"):
        torch_header(path)
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"unreadable \(empty, 0 bytes\)"):
        members(path)


class _Runs:
    def __reduce__(self):
        return (exec, ("raise SystemExit('ran')",))


def test_nothing_a_checkpoints_pickle_names_runs(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"spec": {"arch": "x"}, "x": _Runs()}))
    assert torch_header(path)["spec"] == {"arch": "x"}  # and exec was never called


def test_npy_shapes_are_read_from_their_headers(tmp_path) -> None:
    path = tmp_path / "alpha.npz"
    buffer = io.BytesIO()
    np.savez_compressed(buffer, a=np.zeros((40,)), b=np.zeros((3, 5), np.uint8))
    path.write_bytes(buffer.getvalue())
    assert (npy_shape(path, "a"), npy_shape(path, "b")) == ((40,), (3, 5))
    with pytest.raises(DataError, match=r"alpha\.npz: unreadable \(no 'c' array\)"):
        npy_shape(path, "c")
