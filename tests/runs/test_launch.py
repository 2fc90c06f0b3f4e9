"""`runs.launch.start`: how the CLI and the TUI both start the pipeline."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from bsf_engine import compute
from bsf_engine.project import Project
from bsf_engine.runs import launch, lock, store
from bsf_engine.runs.lock import ProjectLockedError
from bsf_engine.states import RunState
from bsf_tui.launcher import EngineLauncher

from ..tui.conftest import FAKE_WORKER

THREADS_WORKER = Path(__file__).with_name("threads_worker.py")


@pytest.fixture
def finished(handmade_folder) -> Project:
    return Project.open(handmade_folder)


def test_nothing_to_do_starts_nothing(finished) -> None:
    assert launch.start(finished, detached=False) is None
    assert store.project_runs(finished.folder) == [] and lock.holder(finished.folder) is None
    with pytest.raises(Exception, match="nothing to run; every stage is done"):
        EngineLauncher().launch(finished.folder, None, None)


def test_a_foreground_start_holds_the_lock_with_its_plan(finished) -> None:
    run = launch.start(finished, "simulate", "report", detached=False)
    try:
        assert run.meta["stages"] == ["simulate-test", "report"]
        assert run.meta["options"] == {
            "until": "report",
            "from": "simulate-test",
            "force": False,
            "threads": None,
        }
        assert (
            run.meta["state"] == RunState.QUEUED and lock.holder(finished.folder)["run"] == run.id
        )
        with pytest.raises(ProjectLockedError, match=f"run {run.id} is running"):
            launch.start(finished, force=True, detached=True)
    finally:
        lock.release(finished.folder, run.id)


def test_a_detached_start_runs_on_its_own(finished) -> None:
    command = [sys.executable, str(FAKE_WORKER), "2", "0"]
    run = launch.start(finished, "tune", "tune", force=True, detached=True, command=command)
    assert run.meta["detached"] and run.meta["pid"] == lock.holder(finished.folder)["pid"]
    for _ in range(100):
        if not store.read(run.folder).state.live:
            break
        time.sleep(0.1)
    assert store.read(run.folder).state == RunState.DONE
    assert lock.holder(finished.folder) is None


def _finished(run) -> RunState:
    for _ in range(300):
        state = store.read(run.folder).state
        if not state.live:
            return state
        time.sleep(0.1)
    return store.read(run.folder).state


def test_a_detached_worker_runs_its_stages_on_the_thread_policy(finished, monkeypatch) -> None:
    for name in (*compute.ENVIRONMENT, compute.WAIT_POLICY):
        monkeypatch.delenv(name, raising=False)
    command = [sys.executable, str(THREADS_WORKER)]
    run = launch.start(finished, "tune", "tune", detached=True, command=command)
    assert _finished(run) == RunState.DONE
    seen = json.loads((run.folder / "threads.json").read_text())
    assert seen == {"threads": 1, "wait_policy": "PASSIVE"}  # tune's policy; threads sleep

    # --threads (recorded in the run's options) wins over the environment, and a wait
    # policy the user set is kept
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    run = launch.start(finished, "tune", "tune", detached=True, command=command, threads=3)
    assert run.meta["options"]["threads"] == 3
    assert _finished(run) == RunState.DONE
    seen = json.loads((run.folder / "threads.json").read_text())
    assert seen == {"threads": 3, "wait_policy": "active"}


def test_a_stage_before_its_inputs_is_refused_before_any_run(make_project) -> None:
    from tests.conftest import FAST_DIGITS

    project = Project.open(make_project(FAST_DIGITS))
    with pytest.raises(launch.NotReadyError, match="report needs train, convert") as caught:
        launch.start(project, "report", "report", detached=True)
    assert caught.value.needs[0] == "train"
    assert store.project_runs(project.folder) == []
    assert lock.holder(project.folder) is None


def test_the_worker_opens_the_project_as_its_launcher_named_it(finished, monkeypatch) -> None:
    from bsf_engine.runs.worker import _as_named

    monkeypatch.chdir(finished.folder.parent)
    project = Project.open(Path(finished.folder.name))
    run = launch.prepare(project, ["report"], {}, detached=True)
    try:
        recorded = store.read(run.folder)
        assert _as_named(recorded) == Path(finished.folder.name)  # as given
        monkeypatch.chdir("/")  # elsewhere the name means another folder: the absolute one
        assert _as_named(recorded) == recorded.project
    finally:
        lock.release(finished.folder, run.id)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH is Python 3.11+")
def test_a_worker_started_inside_another_checkout_runs_the_launchers_bsf(
    finished, tmp_path, monkeypatch
) -> None:
    """`python -m` puts the working directory first on sys.path: from inside another
    clone the worker imported that clone's bsf_engine (seen on the tmux walk)."""
    import bsf_engine

    shadow = tmp_path / "other-clone"
    (shadow / "bsf_engine").mkdir(parents=True)
    (shadow / "bsf_engine" / "__init__.py").write_text("SHADOW = True\n")
    monkeypatch.chdir(shadow)
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    code = (
        "import sys, pathlib, bsf_engine; "
        "pathlib.Path(sys.argv[1], 'which.txt').write_text(bsf_engine.__file__)"
    )
    run = launch.start(
        finished, "tune", "tune", force=True, detached=True, command=[sys.executable, "-c", code]
    )
    which = run.folder / "which.txt"
    for _ in range(100):
        if which.exists() and which.read_text():
            break
        time.sleep(0.1)
    assert Path(which.read_text()) == Path(bsf_engine.__file__)
