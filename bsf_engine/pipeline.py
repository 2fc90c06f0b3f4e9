"""The stage graph: train → convert → simulate-tune → tune → simulate-test → report.

`status(project)` says of each registered stage whether its result is done, stale (its
config sections, an input or the bsf version that made it changed — all recorded in
its artifacts), partial, corrupt or missing, with when, how long and a key metric.
`plan` picks what `bsf run` runs; `run_stage` calls the stage's own `run`. Both are
loops over `stages.STAGES`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, layout, stages
from .errors import BsfError, DataError
from .events import Events
from .stages import Stage
from .states import StageState
from .versioning import file_digest_cached

if TYPE_CHECKING:
    from .project import Project


@dataclass
class StageStatus:
    name: str
    state: StageState
    reasons: list[str] = field(default_factory=list)
    created: str | None = None
    seconds: float | None = None
    metric: str | None = None
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stale(self, reason: str) -> None:
        self.state = StageState.STALE
        self.reasons.append(reason)


def check_stage_name(name: str, option: str) -> str:
    return stages.get(name, option).name


def status(project: Project) -> dict[str, StageStatus]:
    """Every stage's state from its artifacts (no run information; see runs.status)."""
    digests: dict[Path, str | None] = {}

    def digest(key: str) -> str | None:
        path = project.layout.path(key)
        if path not in digests:
            digests[path] = file_digest_cached(path) if path.is_file() else None
        return digests[path]

    return {stage.name: stage_status(project, stage, digest) for stage in stages.STAGES}


def made(meta: dict) -> str | None:
    """When a stage's result was written: its stamp's `finished` where the record is made
    at the start and completed later (a simulation's manifest), else its `created`."""
    stamp = meta.get("stamp", {})
    return stamp.get("finished") or stamp.get("created")


def stage_status(project: Project, stage: Stage, digest) -> StageStatus:
    """One stage's state; `digest(key)` gives an input's current digest (or None)."""
    paths = project.layout
    artifact = str(paths.path(stage.outputs[0]))
    if not all(paths.path(key).is_file() for key in stage.outputs):
        reason = stage.unfinished(paths, None) if stage.resumable else None
        if reason is not None:
            return StageStatus(stage.name, StageState.PARTIAL, [reason], path=artifact)
        return StageStatus(stage.name, StageState.MISSING, path=artifact)
    record = paths.path(stage.record)
    try:
        meta = layout.read_json(record)
    except BsfError:  # garbled, or gone since the check above
        # a corrupt stage is redone by a plain `bsf run` (runs.runner.REDO)
        return StageStatus(
            stage.name, StageState.CORRUPT, [f"{record} is unreadable; `bsf run` redoes it"]
        )
    s = StageStatus(stage.name, StageState.DONE, created=made(meta), path=artifact)
    reason = stage.unfinished(paths, meta) if stage.resumable else None
    if reason is not None:
        s.state, s.reasons = StageState.PARTIAL, [reason]
        return s
    problem = stage.damaged(project, meta)
    if problem is not None:
        s.state, s.reasons = StageState.CORRUPT, [f"{problem}; `bsf run` redoes it"]
        return s
    stamp = meta.get("stamp", {})
    if stamp.get("config_hash") != stage.config_hash(project.config):
        s.stale(f"{stage.changed_label} changed since")
    else:  # stamped with this config, yet made with other options (an older bsf's variant)
        wanted = stage.settings(project.config)
        for key, value in stage.unlike_config(project.config, meta).items():
            s.stale(f"made with {key} {value}, project.toml says {wanted[key]}")
    if stamp.get("bsf_version") not in (None, __version__):
        s.stale(f"made by bsf {stamp.get('bsf_version')} (now {__version__})")
    recorded = stage.recorded_inputs(meta)
    for key in stage.inputs:
        if recorded.get(key) is not None and recorded[key] != digest(key):
            s.stale(f"{key} changed since")
    s.seconds = stage.seconds(meta)
    s.metric = stage.metric(meta)
    return s


def plan(
    statuses: dict[str, StageStatus],
    start: str | None = None,
    until: str | None = None,
    force: bool = False,
) -> list[str]:
    """The stages `bsf run` runs: from the first that is not done (or `start`, which is
    always run) through `until`; everything after a stage that runs runs too, since
    its inputs change."""
    names = stages.NAMES
    first = names.index(start) if start else 0
    last = names.index(until) if until else len(names) - 1
    if first > last:
        raise DataError(f"--from {start} comes after --until {until}")
    chosen = names[first : last + 1]
    if force or start:
        return list(chosen)
    for index, name in enumerate(chosen):
        if statuses[name].state != StageState.DONE:
            return list(chosen[index:])
    return []


# an input made by a stage in one of these states cannot be read
UNUSABLE = (StageState.MISSING, StageState.PARTIAL, StageState.CORRUPT)


def missing_before(project: Project, planned: list[str]) -> list[str]:
    """The stages, in order, that must run before `planned` can: those making an input
    of a planned stage (or of such a stage, and so on) whose result is missing, partial
    or corrupt and that are not planned themselves. Empty: it can run."""
    statuses = status(project)
    makers = {key: stage.name for stage in stages.STAGES for key in stage.outputs}
    needed: set[str] = set()

    def visit(name: str) -> None:
        for key in stages.get(name).inputs:
            maker = makers.get(key)
            if maker is None or maker in planned or maker in needed:
                continue
            if statuses[maker].state in UNUSABLE:
                needed.add(maker)
                visit(maker)

    for name in planned:
        visit(name)
    return [name for name in stages.NAMES if name in needed]


def run_stage(
    project: Project,
    name: str,
    events: Events,
    *,
    force: bool = False,
    threads: int | None = None,
) -> dict:
    """Run one stage with the stage's own function (the same as its own command).

    `force` redoes a finished result; without it a partial one is resumed. `threads`
    (--threads) overrides the CPU threads its policy would choose.
    """
    return stages.get(name).run(project, events, force=force, threads=threads)
