"""Spikes: one sample's output spikes per head, cumulative counts, the BSF posterior mean
per class over time, and the running prediction against the label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widget import Widget
from textual.widgets import Static

from bsf_engine import layout, views

from .plotting import SizedPlot, class_rows, timestep_ticks

# plotext drops a title wider than its plot less 4 columns: at 80 columns each of the four
# plots is 40 wide, so every title here is at most 36 characters

SAMPLE = Binding.Group("Sample", compact=True)  # one footer entry, `jk Sample`


class SpikesPane(Widget, can_focus=True):
    BINDINGS = [
        Binding("t", "split", "Split", tooltip="tune/test split", id="spikes.split"),
        Binding("j", "sample(1)", "Next sample", group=SAMPLE, id="spikes.next"),
        Binding("k", "sample(-1)", "Previous sample", group=SAMPLE, id="spikes.prev"),
        Binding("w", "wrong", "Wrong", tooltip="next misclassified", id="spikes.wrong"),
        Binding("b", "batch(1)", "Batch", tooltip="next batch", id="spikes.batch"),
        Binding("B", "batch(-1)", "Prev batch", show=False, id="spikes.batch.prev"),
    ]

    # reloaded when these change (a split folder that is no project has no such files)
    shows = (layout.manifest_key("tune"), layout.manifest_key("test"), layout.ALPHA_NPZ)

    def __init__(self, folder: Path, split: str = "test") -> None:
        super().__init__()
        self.folder = folder
        self.split = split
        self.batch_index = 0
        self.index = 0
        self.sample: views.SampleView | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="spikes-info")
        with Grid(id="spike-grid"):
            yield SizedPlot(id="raster-final")
            yield SizedPlot(id="raster-ic")
            yield SizedPlot(id="counts")
            yield SizedPlot(id="posterior")

    def on_mount(self) -> None:
        for plot in self.query(SizedPlot):
            plot.can_focus = False
        self.load()

    @work(thread=True, exclusive=True, group="spikes", exit_on_error=False)
    def load(self) -> None:
        sample = views.spike_sample(self.folder, self.split, self.batch_index, self.index)
        self.app.call_from_thread(self._apply, sample)

    def _apply(self, sample: views.SampleView | None) -> None:
        self.sample = sample
        info = self.query_one("#spikes-info", Static)
        plots = {p.id: p for p in self.query(SizedPlot)}
        for plot in plots.values():
            plot.plt.clear_data()
            plot.plt.clear_figure()
            plot.sized = None
        if sample is None:
            info.update(f"No {self.split} spikes yet: run simulate-{self.split}.")
            for plot in plots.values():
                plot.refresh()
            return
        self.batch_index, self.index = sample.batch, sample.sample
        steps = sample.timesteps
        final = sample.predicted
        says = str(final) if final >= 0 else "nothing (no spike)"
        verdict = "[green]right[/green]" if final == sample.label else "[red]wrong[/red]"
        info.update(
            f"{sample.split} · "
            f"{views.sample_place(sample.batch, sample.sample, sample.batches, sample.batch_size)}"
            f" · label [b]{sample.label}[/b] · "
            f"{'BSF' if sample.prediction is not None else 'final'} says {says} "
            f"at T ({verdict}) · "
            f"{len(sample.misclassified)} wrong in this batch   "
            "[dim]j/k sample, w next wrong, b batch, t split[/dim]"
        )
        traces = sample.traces
        ic = sample.ic_head
        self._raster(plots["raster-final"], "final head", traces["final"].spikes, sample.label)
        if ic is not None:
            self._raster(plots["raster-ic"], f"IC ({ic})", traces[ic].spikes, sample.label)
        counts = traces["final"].cumulative
        plt = plots["counts"].plt
        x = np.arange(1, steps + 1)
        for k in _busiest(counts[-1], sample.label):
            plt.plot(
                x.tolist(),
                counts[:, k].tolist(),
                label=f"{k}" + (" (label)" if k == sample.label else ""),
            )
        plots["counts"].sized = lambda plt, width, _: timestep_ticks(plt, steps, width)
        plt.title("final head: cumulative spikes")
        plt = plots["posterior"].plt
        if sample.posterior is not None:
            for k in _busiest(sample.posterior[-1], sample.label):
                plt.plot(
                    x.tolist(),
                    sample.posterior[:, k].tolist(),
                    label=f"{k}" + (" (label)" if k == sample.label else ""),
                )
            right = sample.prediction == sample.label
            # right/wrong at each step as a row of dots under the curves: at the top they
            # ran under the legend
            top = float(sample.posterior.max())
            plt.scatter(
                x.tolist(),
                [-0.08 * top] * len(x),
                marker="dot",
                color=["green" if r else "red" for r in right],
            )
            plt.ylim(-0.1 * top, top * 1.02)
            ticks = [0.0, top / 2, top]  # none below 0: that row holds the dots
            plt.yticks(ticks, [f"{v:.2f}" for v in ticks])
            plots["posterior"].sized = lambda plt, width, _: timestep_ticks(plt, steps, width)
            plt.title("BSF posterior, grid α; green: right")
        else:
            plt.title("BSF posterior: tune α first")
        for plot in plots.values():
            plot.refresh()

    def _raster(self, plot: SizedPlot, title: str, spikes: np.ndarray, label: int) -> None:
        times, fired = np.nonzero(spikes)
        steps, classes = spikes.shape

        def sized(plt, width: int, height: int) -> None:
            # rows depend on the plot's height, known only when it draws: the data too
            plt.clear_data()
            # the plot's own rows: its height less the frame, the x ticks and the title
            per_row = class_rows(plt, classes, height - 4)
            if times.size:
                rows = (fired // per_row).tolist()
                plt.scatter((times + 1).tolist(), rows, marker="dot", color="cyan")
            plt.hline(label // per_row, "green")
            timestep_ticks(plt, steps, width)  # the same x as the curves below
            # a title fits 36 columns (a plot's width at 80×24)
            if per_row > 1:
                plt.title(f"{title} spikes, {per_row} classes/row")
            else:
                plt.title(f"{title} spikes (label: green)")

        plot.sized = sized

    def action_split(self) -> None:
        if not layout.is_project(self.folder):
            self.notify(
                "this folder holds one set of spikes; open another with o on the projects screen",
                severity="warning",
                title="no other split",
            )
            return
        self.split = "tune" if self.split == "test" else "test"
        self.batch_index = self.index = 0
        self.load()

    def action_sample(self, step: int) -> None:
        if self.sample is None:
            return
        self.index = (self.index + step) % self.sample.batch_size
        self.load()

    def action_batch(self, step: int) -> None:
        if self.sample is None:
            return
        self.batch_index = (self.batch_index + step) % self.sample.batches
        self.index = 0
        self.load()

    def action_wrong(self) -> None:
        if self.sample is None or not self.sample.misclassified:
            self.notify("no misclassified sample in this batch", severity="information")
            return
        later = [i for i in self.sample.misclassified if i > self.index]
        self.index = (later or self.sample.misclassified)[0]
        self.load()


def _busiest(values: np.ndarray, label: int, count: int = 4) -> list[int]:
    order = [int(k) for k in np.argsort(-values, kind="stable")[:count]]
    return order if label in order else [*order[: count - 1], label]
