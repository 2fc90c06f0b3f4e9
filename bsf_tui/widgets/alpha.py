"""α(t): grid search and empirical Bayes, raw and approximated, on one plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Static

from bsf_engine import layout, views

from .plotting import SizedPlot, evenly, log_ticks, timestep_ticks

MOVE_T = Binding.Group("Move t")  # one footer entry for ← and →


class AlphaPane(Widget, can_focus=True):
    BINDINGS = [
        Binding("l", "toggle_log", "Log t", id="alpha.log"),
        Binding("left", "move(-1)", "t −1", group=MOVE_T, id="alpha.left"),
        Binding("right", "move(1)", "t +1", group=MOVE_T, id="alpha.right"),
        Binding("shift+left", "move(-100)", "t −100", show=False, id="alpha.left100"),
        Binding("shift+right", "move(100)", "t +100", show=False, id="alpha.right100"),
    ]

    shows = (layout.ALPHA_NPZ, layout.ALPHA_JSON)  # reloaded when these change

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.curves: views.AlphaCurves | None = None
        self.log_x = False
        self.t = 0

    def compose(self) -> ComposeResult:
        yield Static(id="alpha-info")
        yield SizedPlot(id="alpha-plot")

    def on_mount(self) -> None:
        self.query_one("#alpha-plot", SizedPlot).can_focus = False
        self.load()

    @work(thread=True, exclusive=True, group="alpha", exit_on_error=False)
    def load(self) -> None:
        curves = views.alpha_curves(self.folder)
        self.app.call_from_thread(self._apply, curves)

    def _apply(self, curves: views.AlphaCurves | None) -> None:
        first = self.curves is None
        self.curves = curves
        if curves is not None:  # t stays where it was on a reload, within the new curves
            last = len(curves.grid) - 1
            self.t = last if first else min(self.t, last)
        self.draw()

    def draw(self) -> None:
        info = self.query_one("#alpha-info", Static)
        plot = self.query_one("#alpha-plot", SizedPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if self.curves is None:
            info.update("No α yet: run the tune stage (Runs tab, or `bsf run`).")
            plot.refresh()
            return
        c = self.curves
        steps = np.arange(1, len(c.grid) + 1)
        index = evenly(len(steps), 400)
        x = (np.log10(steps[index]) if self.log_x else steps[index]).tolist()
        plt.plot(x, c.grid[index].tolist(), label="grid (raw)", color="cyan", marker="dot")
        plt.plot(x, c.grid_approx[index].tolist(), label="grid (approx)", color="blue")
        plt.plot(x, c.emp[index].tolist(), label="emp. Bayes (raw)", color="magenta", marker="dot")
        plt.plot(x, c.emp_approx[index].tolist(), label="emp. Bayes (approx)", color="red")
        plt.vline(float(np.log10(self.t + 1)) if self.log_x else self.t + 1, "gray")
        if self.log_x:
            log_ticks(plt, 1, len(steps))
            plot.sized = None
        else:  # whole timesteps 1…T, as many ticks as the width holds
            plot.sized = lambda plt, width, _: timestep_ticks(plt, len(steps), width)
        plt.xlabel("timestep t" + (" (log)" if self.log_x else ""))
        plt.ylabel("α")
        plt.title(f"α(t) — {c.numerics} numerics, IC head {c.ic_head}")
        t = self.t
        info.update(
            f"t = [b]{t + 1}[/b]  α_grid {c.grid[t]:g} (approx {c.grid_approx[t]:.2f})  "
            f"α_emp {c.emp[t]:g} (approx {c.emp_approx[t]:.2f})  "
            f"tune accuracy at α_grid {100 * c.accuracy_grid[t]:.2f}%   "
            f"[dim]←/→ move t, l log-x[/dim]"
        )
        plot.refresh()

    def action_toggle_log(self) -> None:
        self.log_x = not self.log_x
        self.draw()

    def action_move(self, step: int) -> None:
        if self.curves is None:
            return
        self.t = int(np.clip(self.t + step, 0, len(self.curves.grid) - 1))
        self.draw()
