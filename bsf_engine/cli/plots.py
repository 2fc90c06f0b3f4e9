"""Terminal plots (plotext), built as strings so any console can print them."""

from __future__ import annotations

import re

import numpy as np
import plotext as plt

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


def spike_raster(
    title: str,
    spikes: np.ndarray,
    label: int | None,
    width: int,
    height: int,
    color: bool = True,
) -> str:
    """Output spikes [T, K] as dots at (t, class); the label's row is marked."""
    _start(width, height)
    times, classes = np.nonzero(spikes)
    if times.size:
        plt.scatter((times + 1).tolist(), classes.tolist(), marker="dot", color="cyan")
    if label is not None:
        plt.hline(label, "green")
    plt.xlim(0, spikes.shape[0] + 1)
    plt.ylim(-0.5, spikes.shape[1] - 0.5)
    if spikes.shape[1] <= 20:
        plt.yticks(list(range(spikes.shape[1])))
    plt.xlabel("timestep")
    return _finish(title, color)


def cumulative_counts(
    title: str,
    cumulative: np.ndarray,
    label: int | None,
    width: int,
    height: int,
    names: list[str] | None = None,
    color: bool = True,
) -> str:
    """Cumulative spike count per class over time: the five busiest classes and the label."""
    _start(width, height)
    index = _downsample(cumulative.shape[0], width)
    steps = (index + 1).tolist()
    order = list(np.argsort(-cumulative[-1], kind="stable")[:5])
    if label is not None and label not in order:
        order.append(label)
    for k in order:
        name = names[k] if names and k < len(names) else str(k)
        suffix = " (label)" if k == label else ""
        marker = "hd" if k == label else "dot"
        plt.plot(steps, cumulative[index, k].tolist(), label=name + suffix, marker=marker)
    plt.xlabel("timestep")
    return _finish(title, color)


def curves(
    title: str,
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    width: int,
    height: int,
    ylabel: str = "",
    hline: float | None = None,
    xlog: bool = False,
    color: bool = True,
) -> str:
    _start(width, height)
    # without colour, lines differ by their marker
    markers = ["hd"] * len(series) if color else ["•", "o", "+", "x", "*", "#"]
    for (name, (x, y)), marker in zip(series.items(), markers):
        plt.plot(np.asarray(x).tolist(), np.asarray(y).tolist(), label=name, marker=marker)
    if hline is not None:
        plt.hline(hline, "red")
    if xlog:
        plt.xscale("log")
    plt.ylabel(ylabel)
    return _finish(title, color)
