"""Plot helpers: a log x-axis drawn on log10 values with our own tick labels (plotext's
own log scale re-applies the log when a figure is built twice), and index thinning."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from textual_plotext import PlotextPlot

from bsf_engine import display


def log_x(values: np.ndarray) -> np.ndarray:
    return np.log10(np.asarray(values, dtype=np.float64))


def log_ticks(plt, lowest: float, highest: float) -> None:
    """Ticks at 1, 2, 5 × 10^k between two positive values, labelled in plain numbers."""
    if not (lowest > 0 and highest > lowest):
        return
    first, last = math.floor(math.log10(lowest)), math.ceil(math.log10(highest))
    ticks, labels = [], []
    for power in range(first, last + 1):
        for step in (1, 2, 5) if last - first <= 3 else (1,):
            value = step * 10.0**power
            if lowest <= value <= highest:
                ticks.append(math.log10(value))
                labels.append(f"{value:g}")
    if ticks:
        plt.xticks(ticks, labels)


def evenly(n: int, most: int) -> np.ndarray:
    """At most `most` indices of 0 … n−1, evenly spaced (all when n is small)."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(int))


def log_evenly(n: int, most: int) -> np.ndarray:
    """At most `most` indices of 0 … n−1, evenly spaced on a log axis."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.geomspace(1, n, most).round().astype(int) - 1)


def timestep_ticks(plt, steps: int, width: int) -> None:
    """x from timestep 1 to T with whole-number ticks, about one per 12 columns."""
    plt.xlim(1, max(steps, 2))
    plt.xticks(display.timestep_ticks(steps, width))


def class_rows(plt, classes: int, rows: int) -> int:
    """y rows for classes 0 … K−1, one tick per text row: a row per class when the plot
    is tall enough, else `per_row` classes share a row, labelled `0-1`. Returns per_row:
    plot class k at y = k // per_row. (Ticks that fall on one row would make plotext
    pick either label.)"""
    per_row = max(1, math.ceil(classes / max(rows, 1)))
    shown = math.ceil(classes / per_row)
    plt.ylim(-0.5, shown - 0.5)
    labels = []
    for r in range(shown):
        low, high = r * per_row, min(classes, (r + 1) * per_row) - 1
        labels.append(str(low) if low == high else f"{low}-{high}")
    plt.yticks(list(range(shown)), labels)
    return per_row


class SizedPlot(PlotextPlot):
    """A plot whose ticks depend on its size: `sized(plt, width, height)` runs each time
    it draws, when the size is known (it is not yet when the data arrives)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sized: Callable[[object, int, int], None] | None = None

    def render(self):
        if self.sized is not None:
            self.sized(self.plt, self.size.width, self.size.height)
        return super().render()
