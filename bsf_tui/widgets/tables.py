"""DataTables for the TUI: every table redraws after its columns were measured, and a
row-cursor table whose Home/End go to the first/last row."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import DataTable


class Table(DataTable):
    """A DataTable that never shows rows drawn for narrower columns.

    DataTable measures the cells of new rows and updated cells when its message queue
    runs empty, and widens the columns then; its cache of drawn lines is keyed by its
    update count, which that measuring leaves alone (Textual 8.2). A frame drawn between
    an `add_row` and the measuring stays cached with the old widths: cut cells
    (`SpikeSim -`, three of seven stage badges) until something else changes — seen in
    the projects list on a busy machine. After measuring, this one counts an update."""

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            self._update_count += 1
            self.refresh()


class RowTable(Table):
    """DataTable binds Home/End to sideways scrolling, which in a table of rows only cuts
    the first column; here they move the cursor to the first and last row."""

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]
