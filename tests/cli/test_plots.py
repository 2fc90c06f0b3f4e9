"""Terminal plots: a spike raster with one labelled row per class, legends under plots."""

from __future__ import annotations

import numpy as np

from bsf_engine.cli import plots


def test_the_raster_has_one_row_per_class_holding_that_class_spikes() -> None:
    steps, classes = 40, 10
    spikes = np.zeros((steps, classes), dtype=np.uint8)
    for k in range(classes):
        spikes[k * 4 : k * 4 + 2, k] = 1  # class k fires at steps 4k+1 and 4k+2 (1-based)
    text = plots.spike_raster("spikes", spikes, label=2, width=80, color=False)
    again = plots.spike_raster("spikes", spikes, label=2, width=80, color=False)
    assert text == again  # deterministic
    rows = [line for line in text.splitlines() if "│" in line and not line.startswith(" " * 3)]
    assert [row.split("│")[0].strip() for row in rows] == [str(k) for k in range(classes)]
    for k, row in enumerate(rows):
        cells = row.split("│")[1]
        assert len(cells) == steps  # one column a step when the width allows
        assert [i + 1 for i, c in enumerate(cells) if c == "•"] == [4 * k + 1, 4 * k + 2]
    assert rows[2].endswith("◀ label") and not rows[3].endswith("◀ label")
    assert text.splitlines()[-2].split() == ["1", str(steps)]  # x: timestep 1…T


def test_legends_sit_under_plots_with_integer_timestep_ticks() -> None:
    cumulative = np.cumsum(np.eye(10, dtype=np.int64)[np.arange(50) % 3], axis=0)
    text = plots.cumulative_counts("counts", cumulative, 1, 70, 12, color=False)
    lines = text.splitlines()
    assert lines[-1].startswith("y: spikes so far") and "1 (label)" in lines[-1]
    assert not any("(label)" in line for line in lines[:-1])  # not inside the plot
    ticks = lines[-4].split()
    assert ticks[0] == "1" and ticks[-1] == "50" and all(t.isdigit() for t in ticks)
    series = {"a": (np.arange(1, 51), np.linspace(0, 1, 50))}
    chart = plots.curves("acc", series, 70, 12, "accuracy", color=False, timesteps=50)
    assert chart.splitlines()[-1] == "y: accuracy   • a"
