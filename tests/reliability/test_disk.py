"""A read-only project folder and a full disk: a clear error, nothing corrupted."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from bsf_engine import atomic, pipeline
from bsf_engine.project import Project
from bsf_engine.runs import store

from .conftest import artifacts, read_artifact, snapshot


def test_a_read_only_project_is_refused_cleanly(baseline, fresh, cli, monkeypatch) -> None:
    folder = fresh("tune")
    before = snapshot(folder)
    real_open, real_mkstemp = os.open, tempfile.mkstemp

    # (root ignores permissions, so the read-only file system is simulated where the
    # writes happen: every file creation under the project fails with EROFS)
    def inside(path) -> bool:
        return Path(path).resolve().is_relative_to(folder.resolve())

    def guarded_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkstemp(*args, dir=None, **kwargs):
        if dir is not None and inside(dir):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(tempfile, "mkstemp", guarded_mkstemp)
    result = cli("run", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder}: cannot write the lock file .bsf.lock (Read-only file system); the "
        "project folder must be writable (and its disk not full) to run stages in it\n"
    )
    status = cli("status", folder)  # reading still works
    assert status.exit_code == 0 and "missing" in status.stdout
    assert snapshot(folder) == before
    assert not (folder / "runs").exists()


def test_a_full_disk_fails_the_run_and_keeps_what_was_written(
    baseline, fresh, cli, monkeypatch
) -> None:
    folder = fresh("simulate-test")
    real = atomic.atomic_open

    @contextlib.contextmanager
    def filling_up(path):
        with real(path) as handle:
            if Path(path).name == "batch_00003.npz":
                handle.write(b"\0" * 1000)
                raise OSError(errno.ENOSPC, "No space left on device")
            yield handle

    monkeypatch.setattr(atomic, "atomic_open", filling_up)
    result = cli("run", folder)
    assert result.exit_code == 1
    spikes = folder / "spikes" / "test"
    assert result.stderr.splitlines()[-1] == (
        f"error: {spikes / 'batch_00003.npz'}: cannot write (No space left on device); check "
        "the folder's permissions and free disk space (the previous version, if any, is "
        "untouched)"
    )
    run = store.read(next((folder / "runs").iterdir()))
    assert run.state == "failed" and "No space left" in run.meta["error"]
    assert not (folder / ".bsf.lock").exists()
    names = sorted(p.name for p in spikes.iterdir())
    assert names == ["batch_00000.npz", "batch_00001.npz", "batch_00002.npz", "manifest.json"]
    for path in artifacts(folder):
        read_artifact(path)  # every file there is whole
    status = pipeline.status(Project.open(folder))
    assert status["simulate-test"].state == "partial"
    monkeypatch.setattr(atomic, "atomic_open", real)
    again = cli("run", folder)
    assert again.exit_code == 0, again.stderr
    assert snapshot(folder) == baseline[1]
