"""Runs: launch the pipeline or one stage (detached), watch progress and the log, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.scrollbar import ScrollTo, ScrollUp
from textual.widget import Widget
from textual.widgets import DataTable, Label, Log, ProgressBar, Static

from bsf_engine import display, stages, views
from bsf_engine.display import styled_state
from bsf_engine.errors import BsfError
from bsf_engine.runs import store
from bsf_engine.states import RunState, StageState

from .. import format as fmt
from .tables import Table

RUNS_POLL = 1.0
EVENTS_POLL = 0.3


RUN_COLUMNS = ("run", "state", "stage", "started", "took")
SHORT = {stage.name: stage.short for stage in stages.STAGES}  # the plan in one line


@dataclass
class TaskProgress:
    """One bar. `amount` is `done` with the share of the unit in progress inside it
    (views.StageProgress): rate, ETA and the bar go by it."""

    stage: str
    task: str
    done: int
    total: int | None
    unit: str
    first_time: float
    first_amount: float
    time: float
    amount: float = 0.0

    def rate(self) -> float | None:
        span = self.time - self.first_time
        return (self.amount - self.first_amount) / span if span > 0 else None

    def eta(self) -> float | None:
        rate = self.rate()
        if not rate or self.total is None:
            return None
        return max(self.total - self.amount, 0) / rate


def task_text(task: TaskProgress, state: RunState) -> str:
    """A progress bar's label: rate and ETA while its run is live; where it stopped once
    the run was cancelled, failed or lost (a run that ended has no ETA)."""
    share = display.progress_share(task.task, task.done, task.total, task.unit)
    unfinished = task.total is None or task.done < task.total
    if not state.live:
        if unfinished and state != RunState.DONE:
            return f"{task.stage} · {task.task} {state} at {share}"
        return f"{task.stage} · {task.task} {share}"
    text = f"{task.stage} · {task.task} {share}"
    rate, eta = task.rate(), task.eta()
    if rate:
        text += f"  {rate:.1f} {task.unit}/s"
    if eta is not None and task.total and unfinished:
        text += f"  ETA {fmt.duration(eta)}"
    return text


class FollowLog(Log):
    """A log that follows new lines (Toolong's tail mode): on until the user scrolls up,
    back on at End (or `f`). Layout changes (progress bars coming and going) never stop
    it: only the user's own scrolling does."""

    def write_lines(self, lines, scroll_end: bool | None = None) -> FollowLog:
        super().write_lines(lines, scroll_end=False)
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        return self

    def follow(self) -> None:
        self.auto_scroll = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _stop_following(self) -> None:
        if self.max_scroll_y > 0:
            self.auto_scroll = False

    def on_resize(self) -> None:
        if self.auto_scroll:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    # what the user does to scroll up stops following; End resumes it
    def action_scroll_up(self) -> None:
        self._stop_following()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._stop_following()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._stop_following()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.follow()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._stop_following()
        super()._on_mouse_scroll_up(event)

    def _on_scroll_up(self, event: ScrollUp) -> None:
        self._stop_following()
        super()._on_scroll_up(event)

    def _on_scroll_to(self, message: ScrollTo) -> None:  # the scroll bar, dragged
        if message.y is not None and message.y < self.max_scroll_y:
            self._stop_following()
        super()._on_scroll_to(message)


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

    class RunEnded(Message):
        """A run this pane watched go on has ended: what it wrote may show elsewhere."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.live_runs: set[str] = set()
        self.run_rows: dict[str, tuple] = {}
        self.selected: str | None = None
        self.thinner = views.ProgressThinner()  # per selected run
        self.event_offset = 0
        self.tasks: dict[str, TaskProgress] = {}
        self.nested: dict[str, views.StageProgress] = {}

    def compose(self) -> ComposeResult:
        yield Table(id="run-list", cursor_type="row")
        yield Static(id="run-info")
        yield Vertical(id="progress")
        yield FollowLog(id="run-log", highlight=False, auto_scroll=True)

    def on_mount(self) -> None:
        table = self.query_one("#run-list", DataTable)
        # no "stages" column: the plan is in the line under the list (80×24 has no room)
        for column in RUN_COLUMNS:
            table.add_column(column, key=column)
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
        # newest first: the first row added is the one the cursor starts on, so a reopened
        # project shows its newest run, not the oldest
        for run in runs:
            run_id = run.id
            row = (
                run_id,
                styled_state(run.state),
                run.progress,  # `simulate-test 5/6`
                fmt.clock(run.started_at),
                fmt.duration(run.seconds),
            )
            if run_id not in self.run_rows:
                table.add_row(*row, key=run_id)
            elif self.run_rows[run_id] != row:
                for column, value in zip(RUN_COLUMNS, row, strict=True):
                    # a cell keeps its first width unless told: `running` → `cancelled`
                    table.update_cell(run_id, column, value, update_width=True)
            self.run_rows[run_id] = row
        if runs and list(self.run_rows) != sorted(self.run_rows, reverse=True):
            table.sort("run", reverse=True)  # newest on top
            self.run_rows = dict(sorted(self.run_rows.items(), reverse=True))
        if not runs:
            self.query_one("#run-info", Static).update(
                "No runs yet. [b]r[/b] runs the pipeline (what is missing or stale), "
                "[b]s[/b] one stage — detached: they go on if you quit or lose SSH."
            )
        live_now = {r.id for r in runs if r.state.live}
        if self.live_runs - live_now:
            self.post_message(self.RunEnded())
        self.live_runs = live_now
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
        self.thinner = views.ProgressThinner()
        self.tasks, self.nested = {}, {}
        log = self.query_one("#run-log", FollowLog)
        log.clear()
        log.follow()  # a run just selected (or launched) is followed from its start
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
        log = self.query_one("#run-log", FollowLog)
        # progress thinned as `bsf logs` thins it: the bars above show every step
        kept = [event for event in message.events if self.thinner.keep(event)]
        lines = [line for line in map(views.format_event, kept) if line]
        if lines:
            log.write_lines(lines)
        for event in message.events:
            if event.get("kind") == "progress":
                self._progress(event)
            elif event.get("kind") == "stage" and event.get("state") == StageState.RUNNING:
                self.tasks, self.nested = {}, {}
                self.query_one("#progress", Vertical).remove_children()
        self._info(message.run)
        self._draw_progress(message.run.state)

    def _progress(self, event: dict[str, Any]) -> None:
        stage, name = event.get("stage") or "", event.get("task") or ""
        key = f"{stage}:{name}"
        old = self.tasks.get(key)
        now, done = float(event.get("time", 0)), int(event.get("done") or 0)
        nested = self.nested.setdefault(stage, views.StageProgress(stage))
        nested.update(name, done, event.get("total"))
        if old is None or done < old.done:
            amount = nested.amount(name)
            old = TaskProgress(stage, name, done, None, "", now, amount, now, amount)
        old.done, old.total, old.unit, old.time = (
            done,
            event.get("total"),
            event.get("unit", ""),
            now,
        )
        self.tasks[key] = old
        for task in self.tasks.values():  # this one, and the tasks it runs inside
            if task.stage == stage:
                amount = nested.amount(task.task)
                if amount != task.amount:
                    task.amount, task.time = amount, now

    def _draw_progress(self, state: RunState) -> None:
        box = self.query_one("#progress", Vertical)
        for key, task in self.tasks.items():
            ident = "p-" + "".join(c if c.isalnum() else "-" for c in key)
            text = task_text(task, state)
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
                    total=task.total, progress=task.amount
                )

    def _info(self, run: views.RunRow) -> None:
        text = f"run [b]{run.id}[/b]  {styled_state(run.state)}"
        if run.detached:
            text += f"  (detached, pid {run.pid})"
        if run.ranks > 1:
            text += f"  ({run.ranks} ranks under torchrun)"
        if run.stages:
            where = f"stage {run.progress} of " if run.progress else "stages "
            text += "\n" + where + "→".join(SHORT.get(name, name) for name in run.stages)
        failed = run.state in (RunState.FAILED, RunState.LOST)
        if failed or (run.state == RunState.CANCELLED and run.error):
            error = run.error or "its process ended without an end event"
            text += f"\n[red]{error}[/red]"
        self.query_one("#run-info", Static).update(text)

    @property
    def following(self) -> bool:
        return self.query_one("#run-log", FollowLog).auto_scroll

    def action_follow(self) -> None:
        self.query_one("#run-log", FollowLog).follow()

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
