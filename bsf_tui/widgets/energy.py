"""Energy–accuracy: the four methods against energy (log x), the target, the headline."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from bsf_engine import layout, views

from ..format import energy, percent
from .plotting import log_evenly, log_ticks, log_x
from .retarget import Retargetable, retarget_bindings
from .tables import Table

COLORS = {"final": "white", "ic": "yellow", "bsf_grid": "cyan", "bsf_emp": "magenta"}
HEADLINE = {
    "method": 10,
    "acc. at T": 9,
    "steps": 5,
    "energy to target": 16,
    "reduction": 9,
    "AUC": 8,
}


class EnergyPane(Retargetable, Widget, can_focus=True):
    BINDINGS = retarget_bindings("energy")

    shows = (layout.REPORT_JSON, layout.SNN_JSON)  # reloaded when these change

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.view: views.EnergyView | None = None
        self.model: str | None = None
        self.fraction: float | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="energy-info")
        yield Table(id="headline", cursor_type="none")
        yield PlotextPlot(id="energy-plot")

    def on_mount(self) -> None:
        table = self.query_one("#headline", DataTable)
        for column, width in HEADLINE.items():
            table.add_column(column, key=column, width=width)
        self.load()

    @work(thread=True, exclusive=True, group="energy", exit_on_error=False)
    def load(self) -> None:
        view = views.energy_view(self.folder, self.model, self.fraction)
        self.app.call_from_thread(self._apply, view)

    def _apply(self, view: views.EnergyView | None) -> None:
        self.view = view
        info = self.query_one("#energy-info", Static)
        plot = self.query_one("#energy-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if view is None:
            self.query_one("#headline", DataTable).clear()
            info.update("No report yet: run the report stage (Runs tab, or `bsf run`).")
            plot.refresh()
            return
        self.model, self.fraction = view.model, view.target_fraction
        info.update(
            f"[b]{view.model_label}[/b] energy · target {100 * view.target:.2f}% "
            f"({100 * view.target_fraction:.0f}% of the ANN)   "
            f"[dim]m model, +/− target[/dim]"
            + (f"\n[yellow]{view.note}[/yellow]" if view.note else "")
        )
        table = self.query_one("#headline", DataTable)
        for method, row in view.methods.items():
            reduction = row["reduction_pct"]
            auc = row["auc_increase_pct"]
            cells = (
                percent(row["accuracy_at_T"]),
                "—" if row["steps_to_target"] is None else str(row["steps_to_target"]),
                energy(row["energy_to_target_J"]),
                "—" if reduction is None else f"{reduction:.2f}%",
                "—" if auc is None else f"{auc:+.2f}%",
            )
            if method not in table.rows:
                table.add_row(views.METHOD_LABELS[method], *cells, key=method)
                continue
            for column, value in zip(
                ("acc. at T", "steps", "energy to target", "reduction", "AUC"), cells
            ):
                table.update_cell(method, column, value)
        spans = []
        for method, label in views.METHOD_LABELS.items():
            x = view.energy[method] * 1e6
            y = view.accuracy[method]
            index = log_evenly(len(x), 300)
            keep = x[index] > 0
            xs = x[index][keep]
            if xs.size:
                spans += [xs.min(), xs.max()]
            plt.plot(log_x(xs).tolist(), y[index][keep].tolist(), label=label, color=COLORS[method])
        plt.hline(view.target, "green")
        if spans:
            log_ticks(plt, min(spans), max(spans))
        plt.xlabel(f"{view.model_label} energy (µJ, log)")
        plt.ylabel("accuracy")
        plot.refresh()
