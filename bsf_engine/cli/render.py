"""Rich rendering for the CLI: progress bars from stage events, result tables, the
status table and the report (table and plot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from .. import views
from ..display import STATE_STYLE, duration, energy_model, number, when
from ..events import Events
from ..states import Method
from ..views import StageProgress
from .app import STATE

if TYPE_CHECKING:
    from rich.progress import TaskID


class RichEvents(Events):
    """Shows progress events as live bars and logs as lines (on stderr; debug lines,
    such as the CPU threads a stage runs on, only with --debug). A bar is named
    `stage · task` and belongs to one stage: the next stage's task of the same name
    (simulate-test's batches after simulate-tune's) gets a bar of its own."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (  # (only the stages' commands draw bars)
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<24}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self.stage: str | None = None
        self.tasks: dict[tuple[str | None, str], TaskID] = {}
        self.done: dict[tuple[str | None, str], int] = {}
        self.nested: dict[str | None, StageProgress] = {}

        self.started = False

    def __enter__(self) -> RichEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bars.stop()

    def begin(self, stage: str) -> None:
        self.stage = stage

    def label(self, task: str) -> str:
        return task if self.stage is None else f"{self.stage} · {task}"

    def progress(self, task: str, done: int, total: int | None, unit: str, **info: Any) -> None:
        text = "  ".join(f"{k}={number(v)}" for k, v in info.items())
        if not self.started:  # the live display starts with the first bar, not before
            self.bars.start()
            self.started = True
        key = (self.stage, task)
        if key not in self.tasks:
            self.tasks[key] = self.bars.add_task(self.label(task), total=total, info=text)
        task_id = self.tasks[key]
        nested = self.nested.setdefault(self.stage, StageProgress(self.stage))
        nested.update(task, done, total)
        if done < self.done.get(key, 0):
            self.bars.reset(task_id, total=total, completed=nested.amount(task), info=text)
        else:
            self.bars.update(task_id, total=total, completed=nested.amount(task), info=text)
        self.done[key] = done
        for outer in nested.order[: nested.order.index(task)] if task in nested.order else ():
            if (self.stage, outer) in self.tasks:  # its bar (and rich's ETA) moves with this
                self.bars.update(self.tasks[self.stage, outer], completed=nested.amount(outer))

    def log(self, message: str, level: str = "info") -> None:
        if level == "debug" and not STATE["debug"]:  # (the run's log keeps them)
            return
        style = {"warning": "yellow", "error": "red"}.get(level, "dim")
        self.bars.console.print(f"[{style}]{message}[/]", highlight=False)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def accuracy_table(title: str, columns: dict[str, dict[str, float]]) -> Table:
    """Heads as rows, one column per named accuracy dict."""
    table = Table(title=title, title_justify="left")
    table.add_column("head")
    for name in columns:
        table.add_column(name, justify="right")
    heads = next(iter(columns.values())).keys() if columns else []
    for head in heads:
        table.add_row(head, *(percent(col.get(head)) for col in columns.values()))
    return table


def status_table(status: dict[str, Any]) -> Table:
    """`bsf status`: a project's stages (a `runs.status.project_status` result). Cells
    never wrap and it fits 80 columns: notes, which can be long, are lines under it
    (plain text: a note such as `[fusion] changed since` is not markup)."""
    from rich.text import Text

    from ..views import stage_rows

    rows = stage_rows(status)
    notes = [f"{row.name}: {row.note}" for row in rows if row.note]
    table = Table(
        title=f"{status['project']} ({status['folder']})",
        title_justify="left",
        caption=Text("\n".join(notes)) if notes else None,
        caption_justify="left",
    )
    for column in ("stage", "state", "made", "took", "key metric"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            row.name,
            f"[{STATE_STYLE.get(row.state, '')}]{row.state}[/]",
            when(row.created),
            duration(row.seconds),
            row.metric,
        )
    return table


def report_table(result: dict[str, Any]) -> Table:
    table = Table(
        title=f"test split: {result['samples']} samples, T = {result['timesteps']}, "
        f"{energy_model(result.get('energy_model'))} energy; target {100 * result['target']:.2f}% "
        f"({100 * result['target_fraction']:g}% of {result['target_basis']})",
        title_justify="left",
        caption=_report_caption(result),
        caption_justify="left",
    )
    for column in (
        "method",
        "acc. at T",
        "steps to target",
        "energy to target",
        "reduction",
        "AUC change",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")

    def fmt(value, unit="", scale=1.0, digits=2):
        return "—" if value is None else f"{value * scale:.{digits}f}{unit}"

    for method in Method:
        row = result["methods"][method]
        table.add_row(
            method.label,
            fmt(row["accuracy_at_T"], "%", 100),
            "—" if row["steps_to_target"] is None else str(row["steps_to_target"]),
            fmt(row["energy_to_target_J"], " µJ", 1e6, 3),
            fmt(row["reduction_pct"], "%"),
            fmt(row["auc_increase_pct"], "%"),
        )
    return table


def _report_caption(result: dict[str, Any]) -> str | None:
    """Which numerics fused the curves, and the α files (older reports have neither)."""
    if "numerics" not in result:
        return None
    files = result.get("alpha_files") or {}
    if len(set(files.values())) == 1:
        alpha = f"; α from {next(iter(files.values()))}"
    else:
        alpha = "".join(f"; α_{kind} from {name}" for kind, name in files.items())
    return f"{result['numerics']} numerics{alpha}"


def report_plot(result: dict[str, Any], width: int, color: bool) -> str:
    import numpy as np

    from . import plots  # numpy and plotext load when a plot is drawn, not for `bsf -h`

    curves = result["curves"]
    series = {}
    for method in Method:
        energy = np.asarray(curves["energy_J"][method]) * 1e6
        accuracy = np.asarray(curves["accuracy"][method])
        keep = np.unique(np.geomspace(1, len(energy), 300).astype(int) - 1)
        series[method.label] = (energy[keep], accuracy[keep])
    return plots.curves(
        f"accuracy against {energy_model(result.get('energy_model'))} energy (µJ, log scale)",
        series,
        max(40, min(width, 140)),
        18,
        ylabel="accuracy",
        hline=result["target"],
        xlog=True,
        color=color,
    )


def print_report(console: Console, result: dict[str, Any]) -> None:
    """The report's table and its accuracy-against-energy plot."""
    console.print(report_table(result))
    print(report_plot(result, console.width, console.is_terminal))


def exit_title(view) -> str:
    samples = view.record["samples"]
    return (
        f"early exit on the test split ({samples['test']} samples, T = {view.timesteps}): θ "
        f"chosen on the tune split ({samples['tune']} samples) as the cheapest reaching "
        f"{100 * view.target:.2f}% ({100 * view.target_fraction:g}% of the ANN)"
    )


def exit_caption(view) -> str:
    record = view.record
    return (
        f"steps: mean / median / 95th percentile exit step; energy: {view.model_label}, per "
        "image; Δ: energy against fixed-t BSF and fixed-t final only (− spends less); "
        f"{record['numerics']} numerics, α_{record['alpha']}, softmax temperature "
        f"{record['temperature']:g}; the oracle is a bound (its θ read on test)"
        + (f". {view.note}" if view.note else "")
    )


def exit_table(view) -> Table:
    """The early-exit table: each policy's θ (chosen on tune) and what it gives on test."""
    from rich import box

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for column in ("policy", "θ", "acc.", "steps", "energy", "Δ BSF", "Δ final"):
        table.add_column(
            column, justify="left" if column in ("policy", "θ") else "right", no_wrap=True
        )
    for row in views.exit_rows(view):
        table.add_row(
            row.policy,
            row.threshold,
            row.accuracy,
            row.steps,
            row.energy,
            row.vs_fixed_bsf,
            row.vs_final,
        )
    return table


def exit_test_read(view) -> str:
    """Each policy's energy when θ is read off the test curve (the paper's way for fixed
    t): optimistic, but free of the tune split's calibration error."""
    parts = [f"{name} {energy}" for name, energy in views.exit_test_reads(view)]
    return (
        f"read on the test curves instead (the paper's way; optimistic), "
        f"{view.model_label} per image to {100 * view.target:.2f}%: " + ", ".join(parts)
    )


def exit_plots(view, policy: str, width: int, color: bool) -> str:
    """The Pareto curves on test (accuracy against mean energy per image, log x) and the
    exit-step histogram of `policy` at its chosen θ."""
    from ..states import ExitPolicy
    from . import plots

    series = {}
    for name in view.test:
        energy, accuracy = view.curve(name, 300)
        series[ExitPolicy(name).label] = (energy * 1e6, accuracy)
    pareto = plots.curves(
        f"test accuracy against {view.model_label} energy per image (µJ, log scale)",
        series,
        max(40, min(width, 140)),
        18,
        ylabel="accuracy",
        hline=view.target,
        xlog=True,
        color=color,
    )
    counts = view.histogram(policy)
    label = ExitPolicy(policy).label
    if counts is None:
        return pareto + f"\n{label}: no θ reaches the target on the tune split"
    point = view.points[policy]
    hist = plots.histogram(
        f"exit steps of {label} on test at its θ (mean {point.test['mean_steps']:.1f}, "
        f"median {point.test['median_steps']:.0f}, p95 {point.test['p95_steps']:.0f})",
        counts,
        view.bin_edges,
        max(40, min(width, 140)),
    )
    return pareto + "\n\n" + hist


def print_exit(console: Console, view, policy: str = "posterior", plots: bool = True) -> None:
    """The early-exit table with its title and notes; with `plots`, the Pareto curves and
    `policy`'s exit-step histogram under it."""
    console.print(exit_title(view), highlight=False, markup=False)
    console.print(exit_table(view))
    console.print(exit_caption(view), highlight=False, markup=False)
    console.print(exit_test_read(view), highlight=False, markup=False)
    if not plots:
        return
    print(exit_plots(view, policy, console.width, console.is_terminal))


def rank_events(console: Console):
    """Progress bars on `console` for rank 0 (or the one process); under torchrun the
    other ranks show nothing (rank 0 speaks for the run)."""
    import contextlib

    from ..distributed import world

    return RichEvents(console) if world().leader else contextlib.nullcontext(Events())
