"""A project's stages with the run store laid over them (`bsf status`, the TUI)."""

from __future__ import annotations

from typing import Any

from .. import pipeline
from ..states import RunState, StageState
from . import lock, store

# a run that ended this way marks the stage it stopped in, unless that stage is done
UNFINISHED = {
    RunState.FAILED: StageState.FAILED,
    RunState.LOST: StageState.LOST,
    RunState.CANCELLED: StageState.CANCELLED,
}


def project_status(p) -> dict[str, Any]:
    """Artifact states, overlaid with the latest run that touched each stage."""

    stages = {name: s.to_dict() for name, s in pipeline.status(p).items()}
    holder = lock.holder(p.folder)
    for run in store.project_runs(p.folder):
        stage = run.meta.get("stage")
        if stage not in stages:
            continue
        state = run.state
        entry = stages[stage]
        if state == RunState.RUNNING and holder is not None and holder.get("run") == run.id:
            entry.update(state=StageState.RUNNING, run=run.id)
        elif state in UNFINISHED and entry["state"] != StageState.DONE:
            entry.update(state=UNFINISHED[state], run=run.id, error=run.meta.get("error"))
    return {
        "project": p.name,
        "folder": str(p.folder),
        "running": holder.get("run") if holder else None,
        "stages": stages,
    }
