"""`runs.launch.start`: how the CLI and the TUI both start the pipeline."""

from __future__ import annotations

import sys
import time

import pytest

from bsf_engine.project import Project
from bsf_engine.runs import launch, lock, store
from bsf_engine.runs.lock import ProjectLockedError
from bsf_engine.states import RunState
from bsf_tui.launcher import EngineLauncher

from ..tui.conftest import FAKE_WORKER


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
        assert run.meta["options"] == {"until": "report", "from": "simulate-test", "force": False}
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
