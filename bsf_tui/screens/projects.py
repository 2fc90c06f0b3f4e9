"""The projects under a folder: stage badges and headline numbers, updated in place."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from bsf_engine import display, stages, views
from bsf_engine.layout import Layout, find_projects
from bsf_engine.states import StageState

from ..format import LEGEND, badge, legend, percent
from ..widgets.tables import RowTable

POLL_SECONDS = 2.0


class ProjectsScreen(Screen):
    """Every project with per-stage badges; rows are updated by key, never rebuilt."""

    BINDINGS = [
        # footer descriptions are short so that every shown key fits in 80 columns;
        # the tooltip is what `?` help says
        Binding("enter", "open", "Open", tooltip="open the project", id="projects.open"),
        Binding("n", "new", "New", tooltip="new project", id="projects.new"),
        Binding("space", "mark", "Mark", tooltip="mark for compare", id="projects.mark"),
        Binding("c", "compare", "Compare", tooltip="compare marked", id="projects.compare"),
        Binding(
            "r",
            "refresh",
            "Refresh",
            show=False,
            tooltip=f"refresh now (also every {POLL_SECONDS:g} s)",
            id="projects.refresh",
        ),
        Binding("o", "open_spikes", "Spikes", tooltip="spikes of any folder", id="projects.spikes"),
    ]

    def __init__(self, projects_dir: Path) -> None:
        super().__init__()
        self.projects_dir = Path(projects_dir)
        self.marked: set[str] = set()
        self.rows: dict[str, views.ProjectRow] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="projects-title")
        yield RowTable(id="projects", cursor_type="row", zebra_stripes=True)
        # the highlighted project's run or error: a run id (20 characters) or an error has
        # no room as a column at 80×24
        yield Static(id="project-info")
        order = "→".join(stage.short for stage in stages.STAGES)
        yield Static(f"stages {order}\n{legend(LEGEND)}", id="legend")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(" ", key="mark", width=1)
        table.add_column("project", key="name")
        # one column of badges in stage order, not a column per stage: with a paper-length
        # name (cifar100-resnet18) per-stage columns put the energy past column 80
        table.add_column("stages", key="stages")
        table.add_column("ANN acc", key="ann")
        table.add_column("BSF energy", key="reduction")  # its change at the target
        self.query_one("#projects-title", Static).update(f"[b]Projects[/b] in {self.projects_dir}")
        self.refresh_rows()
        self.set_interval(POLL_SECONDS, self.refresh_rows)
        table.focus()

    @work(thread=True, exclusive=True, group="projects-scan", exit_on_error=False)
    def refresh_rows(self) -> None:
        rows = [views.project_row(folder) for folder in find_projects(self.projects_dir)]
        self.app.call_from_thread(self._apply, rows)

    def _apply(self, rows: list[views.ProjectRow]) -> None:
        table = self.query_one(DataTable)
        seen = set()
        added = False
        with self.app.batch_update():
            for row in rows:
                key = str(row.folder)
                seen.add(key)
                cells = self._cells(row)
                if key not in self.rows:
                    table.add_row(*cells.values(), key=key)
                    added = True
                else:
                    for column, value in cells.items():
                        if self._cells(self.rows[key])[column] != value:
                            table.update_cell(key, column, value, update_width=True)
                self.rows[key] = row
            for key in list(self.rows):
                if key not in seen:
                    table.remove_row(key)
                    del self.rows[key]
            if added:  # a new project goes where its name sorts, not at the end
                table.sort("name")
        self._show_info()
        if not rows:
            self.query_one("#projects-title", Static).update(
                f"[b]Projects[/b] in {self.projects_dir}: none yet — press [b]n[/b] to create one"
            )

    def _cells(self, row: views.ProjectRow) -> dict[str, str]:
        cells = {"mark": "✓" if str(row.folder) in self.marked else "", "name": row.name}
        cells["stages"] = " ".join(
            badge(row.states[stage]) if stage in row.states else "?" for stage in stages.NAMES
        )
        cells["ann"] = percent(row.ann_accuracy)
        cells["reduction"] = display.energy_change(row.reduction, row.energy_model, noun=False)
        return cells

    @on(DataTable.RowHighlighted)
    def _show_info(self) -> None:
        row = self._current()
        info = self.query_one("#project-info", Static)
        if row is None:
            info.update("")
        elif row.error is not None:
            info.update(Text(f"{row.name}: {row.error}", style="red"))
        elif row.running is not None:
            info.update(
                Text.assemble(
                    ("▶ ", "bold cyan"),
                    f"{row.name}: run {row.running} is running — ",
                    ("enter", "bold"),
                    " then ",
                    ("2", "bold"),
                    " watches it",
                )
            )
        else:
            done = sum(state == StageState.DONE for state in row.states.values())
            info.update(f"{row.name}: {done} of {len(stages.NAMES)} stages done")

    def _current(self) -> views.ProjectRow | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key)

    @on(DataTable.RowSelected)
    def action_open(self) -> None:
        row = self._current()
        if row is not None and row.error is None:
            self.app.open_project(row.folder)
        elif row is not None:
            self.notify(row.error, severity="error", title=row.name)

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        key = str(row.folder)
        self.marked ^= {key}
        self.query_one(DataTable).update_cell(key, "mark", "✓" if key in self.marked else "")

    def action_compare(self) -> None:
        from .compare import CompareScreen

        folders = [Path(k) for k in sorted(self.marked)]
        if len(folders) < 2:
            self.notify("mark two or more projects with space first", severity="warning")
            return
        self.app.push_screen(CompareScreen(folders))

    def action_new(self) -> None:
        from .new_project import NewProjectScreen

        def created(folder: Path | None) -> None:
            if folder is not None:
                self.notify(f"created {Layout(folder).config}", title="new project")
                self.refresh_rows()

        self.app.push_screen(NewProjectScreen(self.projects_dir), created)

    def action_open_spikes(self) -> None:
        from .open_spikes import AskFolder, SpikesScreen

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self.app.push_screen(SpikesScreen(folder))

        self.app.push_screen(AskFolder(), chosen)

    def action_refresh(self) -> None:
        self.refresh_rows()
