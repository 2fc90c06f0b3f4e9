"""`bsf run`, `status`, `ps`, `logs`, `cancel`: the pipeline and the run store."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .. import stages
from ..display import STATE_STYLE, duration, when_short
from ..errors import EXIT_FAILURE, EXIT_INTERRUPTED, BsfError
from ..states import RunState
from .app import ProjectArg, ThreadsOpt, err, guarded, open_project, out
from .render import print_exit, print_report, status_table


def _print_status(p) -> None:
    from ..runs.status import project_status

    out.print(status_table(project_status(p)))


def _print_saved_report(p) -> None:
    """The report's table and plot, then the early-exit table (where `bsf exit` is current)."""
    from .. import layout, views

    if p.layout.report_json.is_file():
        print_report(out, layout.read_json(p.layout.report_json))
    if stages.EXIT.is_current(p):
        view = views.exit_view(p.folder)
        if view is not None:
            print_exit(out, view, plots=False)


STAGE_NAMES = ", ".join(stages.NAMES)


@guarded
def run(
    project: ProjectArg,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="STAGE", help=f"last stage to run: {STAGE_NAMES}"),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="STAGE", help=f"first stage to run (always rerun): {STAGE_NAMES}"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="rerun every chosen stage")] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="run in the background; it outlives this terminal")
    ] = False,
    threads: ThreadsOpt = None,
    nproc: Annotated[
        int | None,
        typer.Option(
            "--nproc",
            metavar="N",
            help="N processes on this machine under torchrun, sharing training (DDP) and "
            "the simulations (docs/cluster.md)",
        ),
    ] = None,
) -> None:
    from .. import distributed
    from ..runs import launch, runner
    from ..runs.sink import StopRequest

    here = distributed.world()
    if nproc is not None:
        _under_torchrun(nproc, here, detach)  # (does not return)
    p = open_project(project)
    if here.sharded and detach:
        raise BsfError("--detach: a run under torchrun stays in the foreground (or use sbatch)")
    if not here.leader:  # rank 0 holds the run; this rank does its share of its stages
        try:
            state = runner.follow(p, threads=threads)
        except RuntimeError:  # gloo: rank 0 has gone (cancelled, failed); its log says why
            err.print(f"rank {here.rank}: rank 0 ended the run; stopping", markup=False)
            raise typer.Exit(EXIT_FAILURE) from None
        raise typer.Exit(0 if state == RunState.DONE else EXIT_FAILURE)
    try:
        started = launch.start(p, start, until, force, detached=detach, threads=threads)
    except BaseException:
        runner.release(RunState.FAILED)
        raise
    if started is None:
        runner.release(RunState.DONE)
        err.print(f"{p.name}: every stage is done (--force reruns them)")
        _print_status(p)
        if until is None:
            _print_saved_report(p)
        return
    stages = started.meta["stages"]
    if detach:
        out.print(f"started run {started.id} (pid {started.meta['pid']}): {' → '.join(stages)}")
        out.print(
            f"follow it with `bsf logs {started.id} -f`; stop it with `bsf cancel {started.id}`"
        )
        return
    from .render import RichEvents

    stop = StopRequest()
    previous = signal.getsignal(signal.SIGTERM)
    stop.install()  # SIGTERM (bsf cancel) stops at the next batch or epoch boundary
    err.print(f"run {started.id}: {' → '.join(stages)}", markup=False)
    options = started.meta["options"]
    try:
        with RichEvents(err) as display:
            state, error = runner.execute(
                started,
                p,
                stages,
                force=force,
                start=options["from"],
                display=display,
                stop=stop,
                threads=threads,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    if state == RunState.CANCELLED:
        err.print(f"cancelled: {error}; finished work is kept, `bsf run {p.folder}` continues")
        raise typer.Exit(EXIT_INTERRUPTED)
    if state != RunState.DONE:
        err.print(f"error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE)
    _print_status(p)
    if "report" in stages or "exit" in stages:
        _print_saved_report(p)


run.__doc__ = f"Run what is missing or stale: {' → '.join(stages.NAMES)}."


def _under_torchrun(nproc: int, here, detach: bool) -> None:
    """`bsf run … --nproc N`: the same command as N processes of torchrun on this
    machine (`--standalone`: it picks a free port); replaces this process."""
    import os
    import sys

    if nproc < 1:
        raise BsfError(f"--nproc {nproc}: must be at least 1")
    if here.sharded:
        raise BsfError("--nproc: this is already a process of torchrun; leave --nproc out")
    if detach:
        raise BsfError("--nproc with --detach: not yet; run it in tmux or under sbatch")
    args = sys.argv[1:]
    kept = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={nproc}", "-m", "bsf_engine", *kept]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


@guarded
def status(
    project: ProjectArg,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Each stage: done, stale, partial, missing, running, failed or cancelled."""
    p = open_project(project)
    if as_json:
        from ..runs.status import project_status

        out.print_json(json.dumps(project_status(p)))
        return
    _print_status(p)


@guarded
def ps(
    folder: Annotated[str, typer.Argument(help="projects folder (or one project)")] = "projects",
    every: Annotated[bool, typer.Option("--all", help="also finished runs")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Runs across projects: live ones (and, with --all, finished ones too)."""
    from ..runs import store
    from ..views import run_row, runs_to_show

    if not Path(folder).is_dir():
        raise BsfError(
            f"{folder}: no such folder; give the folder holding your projects, or one project"
        )
    rows, fell_back = runs_to_show([run_row(r) for r in store.all_runs(Path(folder))], every)
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in rows]))
        return
    if not rows:
        out.print(f"no runs under {folder}")
        return
    if fell_back:
        err.print(f"no live runs; the last {len(rows)} finished (--all: every run)")
    out.print(runs_table(rows))


def runs_table(rows) -> Table:
    """`bsf ps`: one line a run that fits 80 columns (started: the time today, else the
    date; no cell wraps)."""
    # one space between columns: a 17-letter project name on a run of another day is
    # then 80 columns; a longer name is the one cell that gives way (…)
    table = Table(
        box=None, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold", title_justify="left"
    )
    for column in ("run", "project", "state", "stage", "started", "took"):
        if column == "project":  # the only column rich may shrink
            table.add_column(column, overflow="ellipsis", min_width=8)
        else:
            table.add_column(column, no_wrap=True)
    for r in rows:
        table.add_row(
            r.id,
            Path(r.project).name,
            f"[{STATE_STYLE.get(r.state, '')}]{r.state}[/]",
            r.progress,
            when_short(r.started),
            duration(r.seconds),
        )
    return table


@guarded
def logs(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="run id (or prefix) or folder")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing")] = False,
    every: Annotated[
        bool,
        typer.Option("--all", help="every progress line (default: about one in ten per task)"),
    ] = False,
    folder: Annotated[
        str, typer.Option(metavar="FOLDER", help="projects folder to look in")
    ] = "projects",
) -> None:
    """A run's events as text; -f follows them until the run ends (Ctrl-C stops following,
    not the run)."""
    from ..runs import store
    from ..views import ProgressThinner, format_event

    run = store.find(run_ref, Path(folder))
    thinner = ProgressThinner()
    offset = 0
    try:
        while True:
            # the state is read before the events: a run that ended meanwhile has all its
            # lines on disk by then, so the read below is its last
            state = store.read(run.folder).state if follow else None
            events, offset = store.read_events(run.events_path, offset)
            for event in events:
                line = format_event(event) if every or thinner.keep(event) else None
                if line:
                    out.print(line, markup=False, highlight=False)
                if event.get("kind") == "end":
                    return
            if not follow:
                return
            if not state.live:
                if state == RunState.LOST:
                    err.print(f"run {run.id} is lost: its process ended without an end event")
                return
            time.sleep(0.3)
    except KeyboardInterrupt:  # only the reading stops: the run is another process
        err.print(
            f"stopped following; run {run.id} goes on (`bsf cancel {run.id}` stops it)",
            markup=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


@guarded
def cancel(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="run id (or prefix) or folder")],
    wait: Annotated[
        float, typer.Option(metavar="SECONDS", help="seconds to wait for it to stop")
    ] = 30.0,
    folder: Annotated[
        str, typer.Option(metavar="FOLDER", help="projects folder to look in")
    ] = "projects",
) -> None:
    """Stop a run: SIGTERM; the stage ends at its next batch or epoch boundary, keeping
    what it finished."""
    from ..runs import launch, lock, store

    try:
        run = store.find(run_ref, Path(folder))
    except store.RunNotFoundError as missing:
        raise lock.named_only_by_lock(run_ref, Path(folder)) or missing from None
    state = launch.cancel(run, wait)
    if state.live:
        out.print(f"run {run.id}: SIGTERM sent; still stopping after {wait:g} s")
    else:
        out.print(f"run {run.id}: {state}")
