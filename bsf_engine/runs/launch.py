"""Start runs (in this process, or detached in their own session) and cancel them.

`start` is how every face starts the pipeline: `bsf run` (foreground or `--detach`) and
the TUI (always detached) call it with the same arguments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from .. import compute, pipeline
from ..errors import BsfError, DataError
from ..states import RunState
from . import lock, process, store
from .store import Run


class CancelError(BsfError):
    """The run cannot be cancelled from here."""


def refuse_if_locked(project) -> None:
    """Raise, naming the run, if a live run holds the project."""
    holder = lock.holder(project.folder)
    if holder is not None:
        running = process.alive(holder.get("pid"), holder.get("proc_start"), holder.get("host"))
        raise lock.busy(project.folder, holder, running is None)


class NotReadyError(DataError):
    """A stage was asked for before the stages that make its inputs: `needs` them first."""

    def __init__(self, project, stage: str, needs: list[str]) -> None:
        self.stage, self.needs = stage, needs
        super().__init__(
            f"{stage} needs {_names(needs)} first; `bsf run {project.folder} --until {stage}` "
            "runs it with what it needs"
        )


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def start(
    project,
    start: str | None = None,
    until: str | None = None,
    force: bool = False,
    *,
    detached: bool,
    command: list[str] | None = None,
    threads: int | None = None,
) -> Run | None:
    """Prepare a run of what is missing or stale from `start` through `until` (None: there
    is nothing to do); detached, its worker is started too (`command` replaces it).
    `threads` (--threads) is recorded in its options and used by every stage."""
    refuse_if_locked(project)
    until = pipeline.check_stage_name(until, "--until") if until else None
    start = pipeline.check_stage_name(start, "--from") if start else None
    stages = pipeline.plan(pipeline.status(project), start, until, force)
    if not stages:
        return None
    missing = pipeline.missing_before(project, stages)
    if missing:
        raise NotReadyError(project, stages[0], missing)
    options = {"until": until, "from": start, "force": force, "threads": threads}
    run = prepare(project, stages, options, detached=detached)
    if detached:
        detach(project, run, command)
    return run


def prepare(project, stages: list[str], options: dict[str, Any], *, detached: bool) -> Run:
    """Take the project's lock and create the run's folder (queued)."""
    run_id = store.new_run_id()
    lock.acquire(project.folder, run_id)
    try:
        return store.create(
            project.folder,
            run_id,
            stages=stages,
            options=options,
            detached=detached,
            folder=str(project.folder),  # as its launcher named it: the worker's logs say so
            command=" ".join(["bsf", *sys.argv[1:]]) if sys.argv else "bsf run",
        )
    except BaseException:
        lock.release(project.folder, run_id)
        raise


def detach(project, run: Run, command: list[str] | None = None) -> int:
    """Start the worker for a prepared run in its own session; it outlives this process.

    The lock passes to the worker's pid before this returns, so a second `bsf run`
    is refused from the first moment. `command` replaces the worker (tests start a
    fake stage); the run folder is appended to it.
    """
    command = command or [sys.executable, "-m", "bsf_engine.runs.worker"]
    environment = dict(os.environ)
    compute.quiet_waits(environment)  # read when torch loads in the worker
    # `-m` would put the working directory first on sys.path: started inside another
    # checkout, the worker would run that checkout's bsf_engine, not the launcher's
    # (Python 3.11+; 3.10 ignores it)
    environment.setdefault("PYTHONSAFEPATH", "1")
    with open(run.folder / store.OUTPUT, "ab") as output:
        worker = subprocess.Popen(
            [*command, str(run.folder)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=environment,
        )
    try:
        lock.hand_over(project.folder, run.id, worker.pid)
        run.update(pid=worker.pid, pgid=worker.pid, proc_start=process.start_ticks(worker.pid))
    except BaseException:
        worker.terminate()
        raise
    # a long-lived launcher (the TUI) reaps its finished worker at once instead of
    # keeping a zombie until its next launch; a short one (`bsf run --detach`) exits and
    # init reaps it (the daemon thread does not hold the process open)
    threading.Thread(target=worker.wait, name=f"reap-{run.id}", daemon=True).start()
    return worker.pid


def cancel(run: Run, wait: float = 0.0) -> RunState:
    """SIGTERM to a live run (its process group when detached); returns its state after
    waiting up to `wait` seconds for it to stop."""
    state = run.state
    if not state.live:
        raise CancelError(f"run {run.id} is {state}; there is nothing to cancel")
    pid = run.meta.get("pid")
    if process.alive(pid, run.meta.get("proc_start"), run.meta.get("host")) is None:
        raise CancelError(f"run {run.id} runs on host {run.meta.get('host')}; cancel it there")
    try:
        if run.meta.get("detached") and run.meta.get("pgid"):
            os.killpg(int(run.meta["pgid"]), signal.SIGTERM)
        else:  # a foreground run shares its terminal's process group: signal it alone
            os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return RunState.LOST
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        current = store.read(run.folder)
        if not current.state.live:
            return current.state
        time.sleep(0.1)
    return store.read(run.folder).state
