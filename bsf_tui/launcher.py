"""How the app starts and stops runs: always as detached processes, through the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bsf_engine.errors import BsfError
from bsf_engine.project import Project
from bsf_engine.runs import launch, store
from bsf_engine.states import RunState


class Launcher(Protocol):
    def launch(self, folder: Path, start: str | None, until: str | None) -> str:
        """Start a detached run; returns its id."""

    def cancel(self, run_folder: Path) -> RunState:
        """SIGTERM a run; returns its state."""


class EngineLauncher:
    """`bsf run --detach` and `bsf cancel`, in process."""

    def launch(self, folder: Path, start: str | None, until: str | None) -> str:
        project = Project.open(folder)
        try:
            run = launch.start(project, start, until, detached=True)
        except launch.NotReadyError as exc:
            first = exc.needs[0]
            raise BsfError(
                f"{exc.stage} needs {', '.join(exc.needs)} first: press s and choose {first}, "
                "or r to run the pipeline"
            ) from None
        if run is None:
            raise BsfError(f"{project.name}: nothing to run; every stage is done")
        return run.id

    def cancel(self, run_folder: Path) -> RunState:
        return launch.cancel(store.read(run_folder), wait=0.0)
