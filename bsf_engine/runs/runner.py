"""Carry out a run: its stages in order, every event into events.jsonl, its end state.

Under torchrun rank 0 carries out the run (`execute`) and tells the other ranks each
stage as it starts; they do their share of the sharded ones and wait out the rest
(`follow`). One run, one record, one lock: rank 0's."""

from __future__ import annotations

import contextlib
import os
import time
import traceback

from .. import atomic, distributed, pipeline
from .. import stages as registry
from ..errors import BsfError, Interrupted
from ..events import Events
from ..states import RunState, StageState
from ..versioning import now_iso
from . import lock, process
from .sink import JsonlEvents, StopRequest, TeeEvents
from .store import Run

# a stage found in these states at its turn is redone from scratch, not resumed
REDO = (StageState.STALE, StageState.CORRUPT)


def execute(
    run: Run,
    project,
    stages: list[str],
    *,
    force: bool = False,
    start: str | None = None,
    display: Events | None = None,
    stop: StopRequest | None = None,
    threads: int | None = None,
) -> tuple[RunState, str | None]:
    """Run `stages` (the project lock must be held for `run`); returns (state, error).

    A stage is forced when asked, when it is `start` (`--from`), or when its result
    is stale or corrupt at the moment it starts; otherwise a partial result resumes
    and a finished one is kept. `threads` (--threads) overrides each stage's CPU
    thread policy.
    """
    stop = stop or StopRequest()
    here = distributed.join()
    record = JsonlEvents(run.events_path, stop)
    events: Events = TeeEvents(record, display) if display is not None else record
    pid = os.getpid()
    run.update(
        state=RunState.RUNNING,
        pid=pid,
        pgid=os.getpgid(0),
        proc_start=process.start_ticks(pid),
        started=now_iso(),
        started_at=time.time(),
        stages=stages,
        ranks=here.size,
    )
    record.write("start", stages=stages, pid=pid)
    # we hold the lock: what an earlier, killed writer left half-written can go
    for folder in (project.folder, *sorted(project.layout.spikes_root.glob("*"))):
        for path in atomic.remove_temporaries(folder):
            record.write("log", level="info", message=f"removed {path} (an interrupted write)")
    state, error = RunState.DONE, None
    durations: dict[str, float] = {}
    in_step = True  # the other ranks (under torchrun) wait for rank 0's next word
    try:
        for name in stages:
            record.stage = name
            run.update(stage=name)
            current = pipeline.status(project)[name].state
            forced = force or name == start or current in REDO
            record.write("stage", state=StageState.RUNNING, forced=forced)
            began = time.monotonic()
            events.checkpoint()
            distributed.broadcast((name, forced), here)
            # inside a sharded stage the other ranks are busy, not waiting for word
            in_step = not registry.BY_NAME[name].sharded
            pipeline.run_stage(project, name, events, force=forced, threads=threads)
            in_step = True
            durations[name] = round(time.monotonic() - began, 2)
            record.write("stage", state=StageState.DONE, seconds=durations[name])
        events.checkpoint()  # a cancel that came during the last stage still counts
    except Interrupted as exc:
        state, error = RunState.CANCELLED, str(exc)
    except KeyboardInterrupt:
        state, error = RunState.CANCELLED, "interrupted (Ctrl-C)"
    except BsfError as exc:
        state, error = RunState.FAILED, "; ".join(exc.problems)
    except Exception as exc:  # a bug or the environment: keep the traceback in the log
        state, error = RunState.FAILED, f"unexpected {exc.__class__.__name__}: {exc}"
        record.write("log", level="error", message=traceback.format_exc())
    finally:
        record.write("end", state=state, error=error, seconds=durations)
        run.update(state=state, error=error, ended=now_iso(), ended_at=time.time())
        lock.release(project.folder, run.id)
        if in_step:  # else this rank's exit makes torchrun end the rest
            with contextlib.suppress(Exception):
                release(state)
    return state, error


def release(state: RunState) -> None:
    """Rank 0's word that the run is over (`follow` returns `state`); nothing alone."""
    here = distributed.world()
    if here.sharded:
        distributed.join()
        distributed.broadcast((None, state), here)


def follow(project, *, threads: int | None = None) -> RunState:
    """A rank other than 0 in a run under torchrun: each stage rank 0 starts, its share
    of it if it is sharded; returns the state rank 0 ended the run in."""
    here = distributed.join()
    quiet = Events()
    while True:
        name, detail = distributed.broadcast(None, here)
        if name is None:
            return RunState(detail)
        if registry.BY_NAME[name].sharded:
            pipeline.run_stage(project, name, quiet, force=detail, threads=threads)
