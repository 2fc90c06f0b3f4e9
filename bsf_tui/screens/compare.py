"""Two or more projects side by side: headline numbers and energy–accuracy curves."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual_plotext import PlotextPlot

from bsf_engine import display, views

from ..format import energy, percent
from ..widgets.plotting import log_ticks, log_x
from ..widgets.tables import RowTable

COLORS = ["cyan", "magenta", "yellow", "green", "red", "blue", "white"]


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="compare.back")]

    def __init__(self, folders: list[Path]) -> None:
        super().__init__()
        self.folders = folders

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="compare-note")  # which energy model costed the energies
        yield RowTable(id="compare-table", cursor_type="row")
        yield PlotextPlot(id="compare-plot")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "bsf · compare"
        table = self.query_one(RowTable)
        for column in (
            "project",
            "ANN acc",
            "final t",  # steps to the target; short so that AUC fits in 80 columns
            "BSF t",
            "energy (BSF)",
            "reduction",
            "AUC",
        ):
            table.add_column(column)
        self.load()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def load(self) -> None:
        shown = [(f, views.energy_view(f), views.project_row(f)) for f in self.folders]
        self.app.call_from_thread(self._apply, shown)

    def _apply(self, shown) -> None:
        table = self.query_one(RowTable)
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        spans: list[float] = []
        for i, (folder, view, row) in enumerate(shown):
            if view is None:
                table.add_row(
                    folder.name, percent(row.ann_accuracy), "—", "—", "—", "no report yet", ""
                )
                continue
            final, grid = view.methods["final"], view.methods["bsf_grid"]
            table.add_row(
                folder.name,
                percent(row.ann_accuracy),
                str(final["steps_to_target"] or "—"),
                str(grid["steps_to_target"] or "—"),
                energy(grid["energy_to_target_J"]),
                "—" if grid["reduction_pct"] is None else f"{grid['reduction_pct']:.2f}%",
                "—" if grid["auc_increase_pct"] is None else f"{grid['auc_increase_pct']:+.2f}%",
            )
            color = COLORS[i % len(COLORS)]
            for method, marker in (("final", "dot"), ("bsf_grid", "hd")):
                x = view.energy[method] * 1e6
                keep = x > 0
                if keep.any():
                    spans += [x[keep].min(), x[keep].max()]
                plt.plot(
                    log_x(x[keep]).tolist(),
                    view.accuracy[method][keep].tolist(),
                    color=color,
                    marker=marker,
                    label=f"{folder.name} {views.METHOD_LABELS[method]} ({view.model_label})",
                )
        models = {f.name: v.model for f, v, _ in shown if v is not None}
        # the table has no room for a model column at 80×24: the line above it names the
        # model, or warns that the projects' models differ
        mixed = views.mixed_models_note(models)
        labels = sorted({display.energy_model(m) for m in models.values()})
        note = Text(mixed, style="yellow") if mixed else Text(f"energy model: {', '.join(labels)}")
        self.query_one("#compare-note", Static).update(note)
        if spans:
            log_ticks(plt, min(spans), max(spans))
        plt.xlabel(" or ".join(labels) + " energy (µJ, log)" if labels else "energy (µJ, log)")
        plt.ylabel("accuracy")
        plt.title("final only (dots) and BSF grid (bold) per project")
        plot.refresh()
