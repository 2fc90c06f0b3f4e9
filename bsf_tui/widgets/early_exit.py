"""Early exit: every stopping policy's operating point (θ chosen on tune, read on test),
the Pareto curves on test (accuracy against energy per image, log x) and the exit-step
histogram of one policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from bsf_engine import layout, views
from bsf_engine.states import ExitPolicy

from .plotting import SizedPlot, log_ticks, log_x, timestep_ticks
from .retarget import Retargetable, retarget_bindings
from .tables import Table

POLICIES = tuple(ExitPolicy)
COLORS = {
    ExitPolicy.FIXED_FINAL: "white",
    ExitPolicy.FIXED_BSF: "cyan",
    ExitPolicy.CONFIDENCE: "yellow",
    ExitPolicy.ENTROPY: "magenta",
    ExitPolicy.POSTERIOR: "green",
    ExitPolicy.ORACLE: "gray",
}
COLUMNS = {"policy": 11, "θ": 11, "acc.": 7, "steps": 14, "energy": 9, "Δ BSF": 7}


class ExitPane(Retargetable, Widget, can_focus=True):
    BINDINGS = [
        Binding("p", "policy(1)", "Policy", tooltip="next policy", id="exit.policy"),
        Binding("P", "policy(-1)", "Policy back", show=False, tooltip="previous", id="exit.back"),
        # the model key is left out of the footer: with `p` there it would cut `? Help`
        *retarget_bindings("exit", show_model=False),
    ]

    shows = (layout.EXIT_JSON, layout.EXIT_NPZ)  # reloaded when these change

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.view: views.ExitView | None = None
        self.policy: str = ExitPolicy.POSTERIOR
        self.model: str | None = None
        self.fraction: float | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="exit-info")
        yield Table(id="exit-table", cursor_type="row", zebra_stripes=False)
        with Horizontal(id="exit-plots"):
            yield PlotextPlot(id="exit-pareto")
            yield SizedPlot(id="exit-histogram")

    def on_mount(self) -> None:
        table = self.query_one("#exit-table", DataTable)
        table.can_focus = False  # the pane's keys choose the policy
        for column, width in COLUMNS.items():
            table.add_column(column, key=column, width=width)
        self.load()

    @work(thread=True, exclusive=True, group="exit", exit_on_error=False)
    def load(self) -> None:
        view = views.exit_view(self.folder, self.fraction, self.model)
        self.app.call_from_thread(self._apply, view)

    def _apply(self, view: views.ExitView | None) -> None:
        self.view = view
        info = self.query_one("#exit-info", Static)
        table = self.query_one("#exit-table", DataTable)
        table.display = view is not None
        self.query_one("#exit-plots").display = view is not None
        if view is None:
            table.clear()
            info.update("No early-exit results yet: run the exit stage (Runs tab, or `bsf exit`).")
            return
        self.model, self.fraction = view.model, view.target_fraction
        info.update(
            f"[b]{view.model_label}[/b] energy per image · θ chosen on tune for "
            f"{100 * view.target:.2f}% ({100 * view.target_fraction:.0f}% of the ANN) · "
            f"Δ vs fixed-t BSF   [dim]p policy, +/− target, m model[/dim]"
            + (f"\n[yellow]{view.note}[/yellow]" if view.note else "")
        )
        for row in views.exit_rows(view):
            cells = (row.threshold, row.accuracy, row.steps, row.energy, row.vs_fixed_bsf)
            if row.policy not in table.rows:
                table.add_row(row.policy, *cells, key=row.policy)
                continue
            for column, value in zip(list(COLUMNS)[1:], cells):
                table.update_cell(row.policy, column, value)
        self.draw()

    def draw(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#exit-table", DataTable)
        table.move_cursor(row=POLICIES.index(ExitPolicy(self.policy)))
        self._pareto(view)
        self._histogram(view)

    def _pareto(self, view: views.ExitView) -> None:
        plot = self.query_one("#exit-pareto", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        spans = []
        for name in view.test:
            energy, y = view.curve(name, 200)
            x = energy * 1e6
            positive = x > 0
            if not positive.any():
                continue
            spans += [x[positive].min(), x[positive].max()]
            chosen = name == self.policy
            plt.plot(
                log_x(x[positive]).tolist(),
                y[positive].tolist(),
                color=COLORS[ExitPolicy(name)] if chosen else "gray",
                marker="braille" if chosen else "dot",
            )
        point = view.points[self.policy]
        if point.test["energy_J"]:
            plt.scatter(
                [float(log_x(np.array([point.test["energy_J"] * 1e6]))[0])],
                [point.test["accuracy"]],
                color="white",
                marker="x",
            )
        plt.hline(view.target, "red")
        if spans:
            log_ticks(plt, min(spans), max(spans))
        plt.title(f"test: accuracy vs {view.model_label} µJ (log)")
        plot.refresh()

    def _histogram(self, view: views.ExitView) -> None:
        plot = self.query_one("#exit-histogram", SizedPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plot.sized = None
        counts = view.histogram(self.policy)
        label = str(self.policy)  # the short name: a label cut the title at 80 columns
        if counts is None:
            plt.title(f"{label}: no θ reaches the target on tune")
            plot.refresh()
            return
        edges = view.bin_edges
        plt.bar((edges[:-1] + 1).tolist(), counts.tolist(), color=COLORS[ExitPolicy(self.policy)])
        top = int(counts.max())
        plt.yticks(sorted({round(top * i / 4) for i in range(5)}))
        # whole-step ticks for the width the plot has when it draws (plotext's own
        # choice for bars moved with the order things were drawn in)
        plot.sized = lambda plt, width, _: timestep_ticks(plt, view.timesteps, width)
        point = view.points[self.policy].test
        plt.title(f"{label}: exit steps (mean {point['mean_steps']:.0f})")
        plot.refresh()

    def action_policy(self, step: int) -> None:
        index = POLICIES.index(ExitPolicy(self.policy))
        self.policy = POLICIES[(index + step) % len(POLICIES)]
        self.draw()
