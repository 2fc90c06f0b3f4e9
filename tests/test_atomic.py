from __future__ import annotations

import errno
import os

import pytest

from bsf_engine import atomic
from bsf_engine.errors import BsfError


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path) -> None:
    target = tmp_path / "a.json"
    atomic.write_json(target, {"v": 1})

    def bad_writer(handle) -> None:
        handle.write(b'{"v": 2')
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, bad_writer)
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert os.listdir(tmp_path) == ["a.json"]


def test_disk_full_is_a_clear_error(tmp_path) -> None:
    target = tmp_path / "b.bin"
    target.write_bytes(b"old")

    def full(handle) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(BsfError, match=r"cannot write \(No space left on device\)"):
        atomic.write_with(target, full)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["b.bin"]


def test_read_only_folder_is_a_clear_error(tmp_path, monkeypatch) -> None:
    # (root ignores folder permissions, so the refusal is simulated where it happens)
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(BsfError, match=r"x\.txt: cannot write \(Permission denied\)"):
        atomic.write_text(tmp_path / "x.txt", "hi")
    assert os.listdir(tmp_path) == []
