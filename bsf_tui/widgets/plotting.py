"""Plot helpers: a log x-axis drawn on log10 values with our own tick labels (plotext's
own log scale re-applies the log when a figure is built twice), and index thinning."""

from __future__ import annotations

import math

import numpy as np


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
