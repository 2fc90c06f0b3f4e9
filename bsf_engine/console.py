"""Rich rendering for the CLI: progress bars from stage events, and result tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .events import Events

LABELS = {
    "epoch": "epochs",
    "batch": "  batches",
    "calibrate": "calibration",
    "timestep": "  timesteps",
}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class RichEvents(Events):
    """Shows progress events as live bars and logs as lines (on stderr)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<12}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.done: dict[str, int] = {}

        self.started = False

    def __enter__(self) -> RichEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.bars.stop()

    def progress(self, task: str, done: int, total: int | None, unit: str, **info: Any) -> None:
        text = "  ".join(f"{k}={_fmt(v)}" for k, v in info.items())
        if not self.started:  # the live display starts with the first bar, not before
            self.bars.start()
            self.started = True
        if task not in self.tasks:
            self.tasks[task] = self.bars.add_task(LABELS.get(task, task), total=total, info=text)
        task_id = self.tasks[task]
        if done < self.done.get(task, 0):
            self.bars.reset(task_id, total=total, completed=done, info=text)
        else:
            self.bars.update(task_id, total=total, completed=done, info=text)
        self.done[task] = done

    def log(self, message: str, level: str = "info") -> None:
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
