"""A row-cursor DataTable whose Home/End go to the first/last row."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class RowTable(DataTable):
    """DataTable binds Home/End to sideways scrolling, which in a table of rows only cuts
    the first column; here they move the cursor to the first and last row."""

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]
