"""Runs: launch the pipeline or one stage (detached), watch progress and the log, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Label, Log, ProgressBar, Static

from bsf_engine import views
from bsf_engine.display import styled_state
from bsf_engine.errors import BsfError
from bsf_engine.runs import store
from bsf_engine.states import RunState, StageState

from .. import format as fmt

RUNS_POLL = 1.0
EVENTS_POLL = 0.3


@dataclass
class TaskProgress:
    stage: str
    task: str
    done: int
    total: int | None
    unit: str
    first_time: float
    first_done: int
    time: float

    def rate(self) -> float | None:
        span = self.time - self.first_time
        return (self.done - self.first_done) / span if span > 0 else None

    def eta(self) -> float | None:
        rate = self.rate()
        if not rate or self.total is None:
            return None
        return max(self.total - self.done, 0) / rate


class RunsPane(Widget):
    BINDINGS = [
        Binding("r", "launch", "Run", tooltip="run the pipeline", id="runs.launch"),
        Binding("s", "launch_stage", "Stage", tooltip="run one stage", id="runs.stage"),
        Binding("x", "cancel", "Cancel", tooltip="cancel the run (asks)", id="runs.cancel"),
        Binding("f", "follow", "Follow", show=False, tooltip="follow the log", id="runs.follow"),
        Binding("end", "follow", "Follow", show=False, tooltip="follow the log", id="runs.end"),
    ]

    class EventsRead(Message):
        def __init__(self, run_id: str, events: list[dict[str, Any]], run: views.RunRow) -> None:
            super().__init__()
            self.run_id, self.events, self.run = run_id, events, run

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.run_rows: dict[str, tuple] = {}
        self.selected: str | None = None
        self.event_offset = 0
        self.tasks: dict[str, TaskProgress] = {}
        self.following = True

    def compose(self) -> ComposeResult:
        yield DataTable(id="run-list", cursor_type="row")
        yield Static(id="run-info")
        yield Vertical(id="progress")
        yield Log(id="run-log", highlight=False, auto_scroll=True)

    def on_mount(self) -> None:
        table = self.query_one("#run-list", DataTable)
        for column in ("run", "state", "stage", "started", "took", "stages"):
            table.add_column(column, key=column)
        self.watch(self.query_one("#run-log", Log), "scroll_y", self._scrolled, init=False)
        self.poll_runs()
        self.set_interval(RUNS_POLL, self.poll_runs)
        self.set_interval(EVENTS_POLL, self.poll_events)

    # the run list --------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="runs-list", exit_on_error=False)
    def poll_runs(self) -> None:
        runs = views.project_runs(self.folder)
        self.app.call_from_thread(self._apply_runs, runs)

    def _apply_runs(self, runs: list[views.RunRow]) -> None:
        table = self.query_one("#run-list", DataTable)
        for run in reversed(runs):  # oldest first: newest on top
            run_id = run.id
            row = (
                run_id,
                styled_state(run.state),
                run.stage or "",
                fmt.clock(run.started_at),
                fmt.duration(run.seconds),
                " → ".join(run.stages),
            )
            if run_id not in self.run_rows:
                table.add_row(*row, key=run_id)
            elif self.run_rows[run_id] != row:
                for column, value in zip(
                    ("run", "state", "stage", "started", "took", "stages"), row
                ):
                    # a cell keeps its first width unless told: `running` → `cancelled`
                    table.update_cell(run_id, column, value, update_width=True)
            self.run_rows[run_id] = row
        if runs and list(self.run_rows) != sorted(self.run_rows, reverse=True):
            table.sort("run", reverse=True)  # newest on top
        if not runs:
            self.query_one("#run-info", Static).update(
                "No runs yet. [b]r[/b] runs the pipeline (what is missing or stale), "
                "[b]s[/b] one stage — detached: they go on if you quit or lose SSH."
            )
        live = next((r for r in runs if r.state.live), None)
        if self.selected is None and runs:
            self.select((live or runs[0]).id)
        elif live is not None and self.selected != live.id and self._is_new(live.id):
            self.select(live.id)  # a run started elsewhere (or just now): attach to it

    def _is_new(self, run_id: str) -> bool:
        return self.selected is None or run_id > self.selected

    @on(DataTable.RowHighlighted, "#run-list")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value and event.row_key.value != self.selected:
            self.select(event.row_key.value)

    def select(self, run_id: str) -> None:
        self.selected = run_id
        self.event_offset = 0
        self.tasks = {}
        self.following = True
        log = self.query_one("#run-log", Log)
        log.clear()
        log.auto_scroll = True
        self.query_one("#progress", Vertical).remove_children()
        self.query_one("#run-info", Static).update(f"run [b]{run_id}[/b]")
        self.poll_events()

    # its events ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="runs-events", exit_on_error=False)
    def poll_events(self) -> None:
        run_id = self.selected
        if run_id is None:
            return
        folder = store.run_folder(self.folder, run_id)
        events, offset = store.read_events(folder / store.EVENTS, self.event_offset)
        try:
            run = views.run_row(store.read(folder))
        except BsfError:
            return
        if run_id == self.selected:
            self.event_offset = offset
            self.post_message(self.EventsRead(run_id, events, run))

    @on(EventsRead)
    def _apply_events(self, message: EventsRead) -> None:
        if message.run_id != self.selected:
            return
        log = self.query_one("#run-log", Log)
        lines = [line for line in map(views.format_event, message.events) if line]
        if lines:
            log.write_lines(lines)
        for event in message.events:
            if event.get("kind") == "progress":
                self._progress(event)
            elif event.get("kind") == "stage" and event.get("state") == StageState.RUNNING:
                self.tasks = {}
                self.query_one("#progress", Vertical).remove_children()
        self._info(message.run)
        self._draw_progress()

    def _progress(self, event: dict[str, Any]) -> None:
        key = f"{event.get('stage')}:{event.get('task')}"
        old = self.tasks.get(key)
        now, done = float(event.get("time", 0)), int(event.get("done") or 0)
        if old is None or done < old.done:
            old = TaskProgress(
                event.get("stage") or "", event.get("task") or "", done, None, "", now, done, now
            )
        old.done, old.total, old.unit, old.time = (
            done,
            event.get("total"),
            event.get("unit", ""),
            now,
        )
        self.tasks[key] = old

    def _draw_progress(self) -> None:
        box = self.query_one("#progress", Vertical)
        for key, task in self.tasks.items():
            ident = "p-" + "".join(c if c.isalnum() else "-" for c in key)
            rate, eta = task.rate(), task.eta()
            text = f"{task.stage} · {task.task} {task.done}/{task.total or '?'} {task.unit}"
            if rate:
                text += f"  {rate:.1f} {task.unit}/s"
            if eta is not None and task.total and task.done < task.total:
                text += f"  ETA {fmt.duration(eta)}"
            found = box.query(f"#{ident}")
            if not found:
                box.mount(
                    Vertical(
                        Label(text, classes="task-label"),
                        ProgressBar(total=task.total, show_eta=False, id=f"{ident}-bar"),
                        id=ident,
                        classes="task",
                    )
                )
            else:
                found.first().query_one(Label).update(text)
                self.query_one(f"#{ident}-bar", ProgressBar).update(
                    total=task.total, progress=task.done
                )

    def _info(self, run: views.RunRow) -> None:
        text = f"run [b]{run.id}[/b]  {styled_state(run.state)}"
        if run.stage:
            text += f"  stage {run.stage}"
        if run.detached:
            text += f"  (detached, pid {run.pid})"
        failed = run.state in (RunState.FAILED, RunState.LOST)
        if failed or (run.state == RunState.CANCELLED and run.error):
            error = run.error or "its process ended without an end event"
            text += f"\n[red]{error}[/red]"
        self.query_one("#run-info", Static).update(text)

    # follow mode: scrolling up pauses, End resumes ---------------------------------------
    def _scrolled(self, _: float) -> None:
        log = self.query_one("#run-log", Log)
        at_bottom = log.scroll_y >= log.max_scroll_y - 1
        if log.auto_scroll and not at_bottom:
            log.auto_scroll = False  # the user scrolled up to read: stop following
            self.following = False
        elif not log.auto_scroll and at_bottom:
            log.auto_scroll = True  # back at the end (End, or scrolled down): follow again
            self.following = True

    def action_follow(self) -> None:
        log = self.query_one("#run-log", Log)
        log.auto_scroll = True
        self.following = True
        log.scroll_end(animate=False)

    # actions ---------------------------------------------------------------------------
    def action_launch(self, start: str | None = None, until: str | None = None) -> None:
        try:
            run_id = self.app.launcher.launch(self.folder, start, until)
        except BsfError as exc:
            self.notify(exc.problems[0], severity="error", title="not started")
            return
        self.notify(f"started run {run_id}", title=self.folder.name)
        self.selected = None
        self.poll_runs()

    def action_launch_stage(self) -> None:
        from ..dialogs import ChooseStage

        def chosen(stage: str | None) -> None:
            if stage:
                self.action_launch(stage, stage)

        self.app.push_screen(ChooseStage(), chosen)

    def action_cancel(self) -> None:
        from ..dialogs import Confirm

        run_id = self.selected
        if run_id is None:
            return
        run = store.read(store.run_folder(self.folder, run_id))
        if not run.state.live:
            self.notify(f"run {run_id} is {run.state}; nothing to cancel", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                try:
                    state = self.app.launcher.cancel(run.folder)
                except BsfError as exc:
                    self.notify(exc.problems[0], severity="error")
                    return
                self.notify(f"run {run_id}: SIGTERM sent ({state})", title="cancel")

        self.app.push_screen(
            Confirm(f"Cancel run {run_id}? Its stage stops at the next batch or epoch."), answer
        )
