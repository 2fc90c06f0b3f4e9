"""`python -m bsf_engine.runs.worker RUN_FOLDER`: a detached run's process."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import BsfError
from ..project import Project
from ..states import RunState
from . import lock, runner, store
from .sink import StopRequest


def main(folder: str) -> int:
    run = store.read(Path(folder))
    stop = StopRequest()
    stop.install()
    try:
        project = Project.open(_as_named(run))
    except BsfError as exc:
        run.update(state=RunState.FAILED, error="; ".join(exc.problems))
        lock.release(run.project, run.id)
        return 2
    holder = lock.holder(project.folder)
    if holder is None or holder.get("run") != run.id:
        run.update(state=RunState.FAILED, error="started without holding the project lock")
        return 2
    options = run.meta.get("options", {})
    state, _ = runner.execute(
        run,
        project,
        list(run.meta.get("stages", [])),
        force=bool(options.get("force")),
        start=options.get("from"),
        stop=stop,
        threads=options.get("threads"),
    )
    return 0 if state == RunState.DONE else 1


def _as_named(run: store.Run) -> Path:
    """The project folder as the launcher named it (relative to the working folder this
    process inherited), so that its log reads like `bsf run`'s; else the absolute one."""
    named = run.meta.get("folder")
    if named and Path(named).resolve() == run.project.resolve():
        return Path(named)
    return run.project


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
