"""Overview: the config (highlighted) and the stage table."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from rich.syntax import Syntax
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from bsf_engine import views
from bsf_engine.display import styled_state
from bsf_engine.layout import Layout
from bsf_engine.project import Project
from bsf_engine.runs.status import project_status

from .. import format as fmt
from .tables import Table

POLL_SECONDS = 2.0
# the longest values: `simulate-test`, `cancelled`, `12-02 19:35`, `59.9 min`,
# `α_grid(T) 58, α_emp(T) 1` and `SpikeSim +31% vs fixed t` (`SpikeSim energy -7.4%` is
# shorter); key metric and note are free text and grow with what arrives
COLUMNS = {"stage": 13, "state": 9, "made": 11, "took": 8, "key metric": 24, "note": None}


class OverviewPane(Widget):
    BINDINGS = [
        Binding("e", "edit", "Edit", tooltip="edit project.toml in $EDITOR", id="overview.edit"),
        Binding("a", "all", "All keys", tooltip="config: all keys / keys set", id="overview.all"),
    ]

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.shown: dict[str, tuple] = {}
        self.text = ""
        self.every_key = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="overview-body"):
            yield Table(id="stages", cursor_type="row")
            with VerticalScroll(id="config-box"):
                yield Static(id="config")

    def on_mount(self) -> None:
        table = self.query_one("#stages", DataTable)
        # fixed widths: the table draws right away, whatever arrives first
        for column, width in COLUMNS.items():
            table.add_column(column, key=column, width=width)
        self.load()
        self.set_interval(POLL_SECONDS, self.load)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load(self) -> None:
        project = Project.open(self.folder)
        text = project.layout.config.read_text(encoding="utf-8")
        rows = views.stage_rows(project_status(project))
        self.app.call_from_thread(self._apply, text, rows)

    def _apply(self, text: str, rows: list[views.StageRow]) -> None:
        if text != self.text:
            self.text = text
            self._show_config()
        table = self.query_one("#stages", DataTable)
        for stage in rows:
            name = stage.name
            row = (
                styled_state(stage.state),
                fmt.when(stage.created),
                fmt.duration(stage.seconds),
                stage.metric,
                stage.note,
            )
            if name not in self.shown:
                table.add_row(name, *row, key=name)  # rows come in stage order
            elif self.shown[name] != row:
                for column, value in zip(("state", "made", "took", "key metric", "note"), row):
                    table.update_cell(name, column, value, update_width=True)
            self.shown[name] = row

    def _show_config(self) -> None:
        text = self.text if self.every_key else _set_keys(self.text)
        box = self.query_one("#config-box")
        box.border_title = "project.toml" + ("" if self.every_key else " (keys set; a: all)")
        self.query_one("#config", Static).update(
            Syntax(text, "toml", theme="ansi_dark", word_wrap=True, background_color="default")
        )

    def action_all(self) -> None:
        self.every_key = not self.every_key
        self._show_config()

    def action_edit(self) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify("set $EDITOR to edit project.toml from here", severity="warning")
            return
        path = Layout(self.folder).config
        with self.app.suspend():
            subprocess.call([*editor.split(), str(path)])
        self.load()
        self.notify(f"{path.name} saved; stale stages show in the table", title="config")


def _set_keys(text: str) -> str:
    """The section headers and the keys the file sets (not the commented defaults)."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and lines:
            lines.append("")
        lines.append(line)
    return "\n".join(lines) + "\n"
