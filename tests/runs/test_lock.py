"""One writer per project."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import pytest

from bsf_engine.runs import lock
from bsf_engine.runs.lock import ProjectLockedError

from .test_store import dead_pid


def test_a_second_writer_is_refused_with_the_run_named(tmp_path) -> None:
    lock.acquire(tmp_path, "run-one")
    with pytest.raises(ProjectLockedError, match=r"run run-one is running \(pid \d+\)"):
        lock.acquire(tmp_path, "run-two")
    assert lock.holder(tmp_path)["run"] == "run-one"
    lock.release(tmp_path, "run-two")  # not the holder: nothing happens
    assert lock.holder(tmp_path)["run"] == "run-one"
    lock.release(tmp_path, "run-one")
    assert lock.holder(tmp_path) is None
    lock.acquire(tmp_path, "run-two")


def test_a_stale_lock_is_taken(tmp_path) -> None:
    (tmp_path / lock.LOCK).write_text(
        json.dumps({"run": "old", "pid": dead_pid(), "host": lock.process.hostname()})
    )
    assert lock.holder(tmp_path) is None
    lock.acquire(tmp_path, "new")
    assert lock.holder(tmp_path)["run"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [lock.LOCK]


def test_a_lock_from_another_host_is_refused_with_the_host_noted(tmp_path) -> None:
    (tmp_path / lock.LOCK).write_text(json.dumps({"run": "far", "pid": 1, "host": "gpu-box-7"}))
    with pytest.raises(ProjectLockedError, match=r"on host gpu-box-7.*delete"):
        lock.acquire(tmp_path, "near")


def test_a_garbled_or_abandoned_lock_is_taken(tmp_path) -> None:
    path = tmp_path / lock.LOCK
    path.write_text("{garbage")
    lock.acquire(tmp_path, "a")
    lock.release(tmp_path, "a")
    path.write_text("")  # its writer died between create and write
    old = time.time() - 60
    os.utime(path, (old, old))
    lock.acquire(tmp_path, "b")
    assert lock.holder(tmp_path)["run"] == "b"


def _contend(folder, name, start, results) -> None:
    start.wait()
    try:
        lock.acquire(folder, name)
        results.put(name)
        time.sleep(1.0)  # hold it while the others try
    except ProjectLockedError:
        pass


def test_of_many_processes_exactly_one_gets_the_lock(tmp_path) -> None:
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_contend, args=(tmp_path, f"r{i}", start, results)) for i in range(6)
    ]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(20)
    winners = []
    while not results.empty():
        winners.append(results.get())
    assert len(winners) == 1


def test_a_lock_naming_a_live_process_that_is_not_bsf_says_how_to_clear_it(tmp_path, cli):
    """A lock that outlived its run, its pid now another program's (after a reboot)."""
    import subprocess

    project = tmp_path / "proj"
    project.mkdir()
    (project / "project.toml").write_text("")
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        info = {"run": "20260101-000000-dead", "pid": stranger.pid}
        info.update(proc_start=lock.process.start_ticks(stranger.pid), host=lock.process.hostname())
        (project / lock.LOCK).write_text(json.dumps(info))
        with pytest.raises(ProjectLockedError) as refused:
            lock.acquire(project, "mine")
        assert str(refused.value) == (
            f"{project}: the lock names run 20260101-000000-dead, pid {stranger.pid}, but that "
            f"pid is `sleep`, not a bsf process; if no bsf run is using this project, delete "
            f"{project / lock.LOCK} and rerun"
        )
        result = cli("cancel", "20260101-000000-dead", "--folder", tmp_path)
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: run 20260101-000000-dead: no run folder, only the lock file "
            f"{project / lock.LOCK} names it (held by pid {stranger.pid}, `sleep`, not a bsf "
            f"process); if no bsf run is using {project}, delete that file\n"
        )
        (project / lock.LOCK).unlink()  # as told
        lock.acquire(project, "mine")
    finally:
        stranger.kill()
        stranger.wait()
    assert lock.process.not_bsf(os.getpid()) is None  # this process (and any python) may be


def test_a_folder_in_the_locks_place_is_named(tmp_path) -> None:
    (tmp_path / lock.LOCK).mkdir()
    with pytest.raises(lock.LockWriteError, match=r"\.bsf\.lock: not a file, so not bsf's lock"):
        lock.acquire(tmp_path, "mine")
    assert lock.holder(tmp_path) is None and (tmp_path / lock.LOCK).is_dir()
