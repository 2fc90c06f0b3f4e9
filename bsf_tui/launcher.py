"""How the app starts and stops runs: always as detached processes, through the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bsf_engine import pipeline
from bsf_engine.project import Project
from bsf_engine.runs import launch, store


class Launcher(Protocol):
    def launch(self, folder: Path, start: str | None, until: str | None) -> str:
        """Start a detached run; returns its id."""

    def cancel(self, run_folder: Path) -> str:
        """SIGTERM a run; returns its state."""


class EngineLauncher:
    """`bsf run --detach` and `bsf cancel`, in process."""

    def launch(self, folder: Path, start: str | None, until: str | None) -> str:
        project = Project.open(folder)
        launch.refuse_if_locked(project)
        stages = pipeline.plan(pipeline.status(project), start, until, force=False)
        if not stages:
            raise launch.CancelError(f"{project.name}: nothing to run; every stage is done")
        options = {"until": until, "from": start, "force": False}
        run = launch.prepare(project, stages, options, detached=True)
        launch.detach(project, run)
        return run.id

    def cancel(self, run_folder: Path) -> str:
        return launch.cancel(store.read(run_folder), wait=0.0)
