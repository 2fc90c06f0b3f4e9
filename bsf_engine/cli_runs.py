"""`bsf run`, `bsf ps`, `bsf status`, `bsf logs`, `bsf cancel`: the pipeline and run store."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .cli import ProjectArg, _open, _print_report, app, err, guarded, out
from .display import STATE_STYLE, duration, when
from .errors import EXIT_FAILURE, EXIT_INTERRUPTED


@app.command("run")
@guarded
def run_command(
    project: ProjectArg,
    until: Annotated[str | None, typer.Option("--until", help="last stage to run")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="first stage to run (always rerun)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="rerun every chosen stage")] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="run in the background; it outlives this terminal")
    ] = False,
) -> None:
    """Run what is missing or stale: train → convert → simulate(tune) → tune →
    simulate(test) → report."""
    from . import pipeline
    from .runs import launch, runner
    from .runs.sink import StopRequest

    p = _open(project)
    launch.refuse_if_locked(p)
    until = pipeline.check_stage_name(until, "--until") if until else None
    start = pipeline.check_stage_name(start, "--from") if start else None
    stages = pipeline.plan(pipeline.status(p), start, until, force)
    if not stages:
        err.print(f"{p.name}: every stage is done (--force reruns them)")
        _print_status(p)
        if until is None and (p.folder / "report.json").is_file():
            _print_report(json.loads((p.folder / "report.json").read_text()))
        return
    options = {"until": until, "from": start, "force": force}
    run = launch.prepare(p, stages, options, detached=detach)
    if detach:
        pid = launch.detach(p, run)
        out.print(f"started run {run.id} (pid {pid}): {' → '.join(stages)}")
        out.print(f"follow it with `bsf logs {run.id} -f`; stop it with `bsf cancel {run.id}`")
        return
    from .console import RichEvents

    stop = StopRequest()
    previous = signal.getsignal(signal.SIGTERM)
    stop.install()  # SIGTERM (bsf cancel) stops at the next batch or epoch boundary
    err.print(f"run {run.id}: {' → '.join(stages)}", markup=False)
    try:
        with RichEvents(err) as display:
            state, error = runner.execute(
                run, p, stages, force=force, start=start, display=display, stop=stop
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    if state == "cancelled":
        err.print(f"cancelled: {error}; finished work is kept, `bsf run {p.folder}` continues")
        raise typer.Exit(EXIT_INTERRUPTED)
    if state != "done":
        err.print(f"error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE)
    _print_status(p)
    if "report" in stages:
        _print_report(json.loads((p.folder / "report.json").read_text()))


@app.command()
@guarded
def status(
    project: ProjectArg,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Each stage: done, stale, partial, missing, running, failed or cancelled."""
    p = _open(project)
    if as_json:
        from .runs.status import project_status

        out.print_json(json.dumps(project_status(p)))
        return
    _print_status(p)


def _print_status(p) -> None:
    from .runs.status import project_status

    info = project_status(p)
    table = Table(title=f"{p.name} ({p.folder})", title_justify="left")
    for column in ("stage", "state", "made", "took", "key metric", "note"):
        table.add_column(column)
    for name, s in info["stages"].items():
        note = "; ".join(s["reasons"]) or s.get("error") or ""
        if s.get("run") and s["state"] in ("running", "failed", "lost", "cancelled"):
            note = f"run {s['run']}" + (f": {note}" if note else "")
        table.add_row(
            name,
            f"[{STATE_STYLE.get(s['state'], '')}]{s['state']}[/]",
            when(s["created"]),
            duration(s["seconds"]),
            s["metric"] or "",
            note,
        )
    out.print(table)


@app.command()
@guarded
def ps(
    folder: Annotated[str, typer.Argument(help="projects folder (or one project)")] = "projects",
    every: Annotated[bool, typer.Option("--all", help="also finished runs")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Runs across projects: live ones (and, with --all, finished ones too)."""
    from .runs import runner, store

    runs = [runner.summary(r) for r in store.all_runs(Path(folder))]
    if not every:
        runs = [r for r in runs if r["state"] in ("running", "queued", "lost")] or runs[-5:]
    if as_json:
        out.print_json(json.dumps(runs))
        return
    if not runs:
        out.print(f"no runs under {folder}")
        return
    table = Table(title_justify="left")
    table.add_column("run", no_wrap=True)
    for column in ("project", "state", "stage", "started", "took"):
        table.add_column(column)
    for r in runs:
        table.add_row(
            r["id"],
            Path(r["project"]).name,
            f"[{STATE_STYLE.get(r['state'], '')}]{r['state']}[/]",
            _stage_of(r),
            when(r["started"]),
            duration(r["seconds"]),
        )
    out.print(table)


@app.command()
@guarded
def logs(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="run id (or prefix) or folder")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing")] = False,
    folder: Annotated[str, typer.Option(help="projects folder to look in")] = "projects",
) -> None:
    """A run's events as text; -f follows them until the run ends."""
    from .runs import store

    run = store.find(run_ref, Path(folder))
    offset = 0
    while True:
        # the state is read before the events: a run that ended meanwhile has all its
        # lines on disk by then, so the read below is its last
        state = store.read(run.folder).state if follow else None
        events, offset = store.read_events(run.events_path, offset)
        for event in events:
            line = format_event(event)
            if line:
                out.print(line, markup=False, highlight=False)
            if event.get("kind") == "end":
                return
        if not follow:
            return
        if state not in ("running", "queued"):
            if state == "lost":
                err.print(f"run {run.id} is lost: its process ended without an end event")
            return
        time.sleep(0.3)


def format_event(event: dict[str, Any]) -> str | None:
    """One line of text for an event (None for those not worth a line)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", 0)))
    stage = event.get("stage") or "-"
    kind = event.get("kind")
    if kind == "progress":
        total = event.get("total")
        share = f"{event.get('done')}/{total}" if total else str(event.get("done"))
        extra = " ".join(
            f"{k}={v}"
            for k, v in event.items()
            if k not in ("time", "stage", "kind", "task", "done", "total", "unit")
        )
        text = f"{event.get('task')} {share} {event.get('unit', '')} {extra}".rstrip()
    elif kind == "metric":
        text = f"{event.get('name')} = {event.get('value')}"
    elif kind == "log":
        text = str(event.get("message", ""))
    elif kind == "artifact":
        text = f"wrote {event.get('path')}"
    elif kind == "stage":
        text = f"stage {event.get('state')}" + (
            f" ({event['seconds']:.1f} s)" if event.get("seconds") is not None else ""
        )
    elif kind == "start":
        text = "start: " + " → ".join(event.get("stages", []))
    elif kind == "end":
        text = f"end: {event.get('state')}" + (f" — {event['error']}" if event.get("error") else "")
    else:
        return None
    return f"{stamp} {stage:<13} {kind:<8} {text}"


@app.command()
@guarded
def cancel(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="run id (or prefix) or folder")],
    wait: Annotated[float, typer.Option(help="seconds to wait for it to stop")] = 30.0,
    folder: Annotated[str, typer.Option(help="projects folder to look in")] = "projects",
) -> None:
    """Stop a run: SIGTERM; the stage ends at its next batch or epoch boundary, keeping
    what it finished."""
    from .runs import launch, store

    run = store.find(run_ref, Path(folder))
    state = launch.cancel(run, wait)
    if state in ("running", "queued"):
        out.print(f"run {run.id}: SIGTERM sent; still stopping after {wait:g} s")
    else:
        out.print(f"run {run.id}: {state}")


def _stage_of(summary: dict[str, Any]) -> str:
    stage, stages = summary["stage"], summary["stages"]
    if not stage:
        return ""
    return f"{stage} ({stages.index(stage) + 1}/{len(stages)})" if stage in stages else stage


__all__ = ["cancel", "logs", "ps", "run_command", "status"]
