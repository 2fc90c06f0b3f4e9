"""Terminal plots (plotext), built as strings so any console can print them."""

from __future__ import annotations

import re

import numpy as np
import plotext as plt

from ..display import timestep_ticks

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _start(width: int, height: int) -> None:
    plt.clear_figure()
    plt.theme("clear")  # no background: readable on dark and light terminals
    plt.plotsize(width, height)


def _finish(title: str, color: bool) -> str:
    plt.title(title)
    text = plt.build()
    return text if color else ANSI.sub("", text)


def _downsample(n: int, width: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, max(2, min(n, width * 2))).astype(int))


MARKERS = ["•", "o", "+", "x", "*", "#"]  # lines differ by marker, with colour or not


def _legend(names: list[str], ylabel: str = "") -> str:
    """The legend as a line under the plot, where it covers no data."""
    keys = "   ".join(f"{marker} {name}" for marker, name in zip(MARKERS, names))
    return (f"y: {ylabel}   " if ylabel else "") + keys


def _integer_xticks(last: int, width: int) -> None:
    """Ticks on whole timesteps 1…T (about one per 12 columns)."""
    plt.xticks(timestep_ticks(last, width))


def spike_raster(
    title: str,
    spikes: np.ndarray,
    label: int | None,
    width: int,
    height: int = 0,
    color: bool = True,
) -> str:
    """Output spikes [T, K] drawn as text: exactly one row per class, labelled with the
    class (the label's row marked `◀ label`), time 1…T across, a dot where the class
    fired in that column's steps. Deterministic: no plot library places the rows.
    (`height` is unused: the rows are the classes.)"""
    steps, classes = spikes.shape
    margin = len(str(classes - 1)) + 3  # "  9 │"
    columns = max(10, min(width - margin - 10, steps))
    edges = np.linspace(0, steps, columns + 1).round().astype(int)
    lines = [title]
    for k in range(classes):
        row = "".join(
            "•" if spikes[edges[c] : max(edges[c + 1], edges[c] + 1), k].any() else " "
            for c in range(columns)
        )
        mark = " ◀ label" if k == label else ""
        text = f"{k:>{margin - 3}} │{row}│{mark}"
        if color and k == label:
            text = f"\x1b[32m{text}\x1b[0m"
        lines.append(text)
    axis = " " * (margin - 2) + "└" + "─" * columns + "┘"
    ticks = " " * (margin - 1) + "1".ljust(columns - len(str(steps))) + str(steps)
    lines += [axis, ticks, " " * (margin - 1) + "timestep".center(columns)]
    return "\n".join(lines)


def cumulative_counts(
    title: str,
    cumulative: np.ndarray,
    label: int | None,
    width: int,
    height: int,
    names: list[str] | None = None,
    color: bool = True,
) -> str:
    """Cumulative spike count per class over time 1…T: the five busiest classes and the
    label, told apart by marker; the legend is a line under the plot."""
    _start(width, height)
    index = _downsample(cumulative.shape[0], width)
    steps = (index + 1).tolist()
    order = list(np.argsort(-cumulative[-1], kind="stable")[:5])
    if label is not None and label not in order:
        order.append(label)
    legend = []
    for k, marker in zip(order, MARKERS):
        name = names[k] if names and k < len(names) else str(k)
        legend.append(name + (" (label)" if k == label else ""))
        plt.plot(steps, cumulative[index, k].tolist(), marker=marker)
    plt.xlim(1, cumulative.shape[0])
    _integer_xticks(cumulative.shape[0], width)
    top = int(cumulative[-1].max()) if cumulative.size else 0
    plt.yticks(sorted({round(float(v)) for v in np.linspace(0, max(top, 1), 5)}))
    plt.xlabel("timestep")
    return _finish(title, color) + "\n" + _legend(legend, "spikes so far")


def curves(
    title: str,
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    width: int,
    height: int,
    ylabel: str = "",
    hline: float | None = None,
    xlog: bool = False,
    color: bool = True,
    xlabel: str = "",
    timesteps: int | None = None,
) -> str:
    """Lines told apart by marker, the legend and the y label in a line under the plot
    (inside it the legend covered data); with `timesteps`, x is the timestep 1…T."""
    _start(width, height)
    for (x, y), marker in zip(series.values(), MARKERS):
        plt.plot(np.asarray(x).tolist(), np.asarray(y).tolist(), marker=marker)
    if hline is not None:
        plt.hline(hline, "red")
    if xlog:
        plt.xscale("log")
    if timesteps is not None:  # x is the timestep 1…T: whole ticks
        plt.xlim(1, timesteps)
        _integer_xticks(timesteps, width)
    if xlabel:
        plt.xlabel(xlabel)
    return _finish(title, color) + "\n" + _legend(list(series), ylabel)


BLOCKS = " ▁▂▃▄▅▆▇█"


def histogram(
    title: str, counts: np.ndarray, edges: np.ndarray, width: int, height: int = 8
) -> str:
    """Counts per bin of steps as columns of block characters, `height` rows tall (bin b
    holds steps edges[b]+1 … edges[b+1]); the axis names the first and last step.
    Deterministic text: no plot library places anything."""
    counts = np.asarray(counts, dtype=np.float64)
    bins = len(counts)
    repeat = max(1, min(4, (width - 10) // max(bins, 1)))  # columns per bin
    peak = counts.max() if counts.size and counts.max() > 0 else 1.0
    eighths = np.round(counts / peak * height * 8).astype(int)
    label = len(f"{int(peak)}")
    lines = [title]
    for row in range(height, 0, -1):
        floor = (row - 1) * 8
        cells = "".join(BLOCKS[int(np.clip(e - floor, 0, 8))] * repeat for e in eighths)
        tick = f"{int(peak)}" if row == height else ("0" if row == 1 else "")
        lines.append(f"{tick:>{label}} │{cells}")
    span = bins * repeat
    first, last = str(int(edges[0]) + 1), str(int(edges[-1]))
    lines.append(" " * label + " └" + "─" * span)
    lines.append(" " * (label + 2) + first + last.rjust(max(span - len(first), len(last))))
    lines.append(" " * (label + 2) + "exit step".center(span))
    return "\n".join(lines)
