"""The size-dependent ticks of the TUI's plots."""

from __future__ import annotations

from bsf_tui.widgets.plotting import class_rows, timestep_ticks


class Recorder:
    """Stands in for a plotext figure: keeps what was set."""

    def ylim(self, low, high) -> None:
        self.ylim_ = (low, high)

    def xlim(self, low, high) -> None:
        self.xlim_ = (low, high)

    def yticks(self, ticks, labels=None) -> None:
        self.yticks_ = (ticks, labels)

    def xticks(self, ticks, labels=None) -> None:
        self.xticks_ = ticks


def test_a_tall_raster_has_one_labelled_row_per_class() -> None:
    plt = Recorder()
    assert class_rows(plt, 10, 15) == 1
    assert plt.yticks_ == (list(range(10)), [str(k) for k in range(10)])
    assert plt.ylim_ == (-0.5, 9.5)


def test_a_short_raster_labels_the_classes_each_row_holds() -> None:
    plt = Recorder()
    assert class_rows(plt, 10, 5) == 2  # 80×24: five rows for ten classes
    assert plt.yticks_ == ([0, 1, 2, 3, 4], ["0-1", "2-3", "4-5", "6-7", "8-9"])
    assert class_rows(plt, 10, 4) == 3
    assert plt.yticks_ == ([0, 1, 2, 3], ["0-2", "3-5", "6-8", "9"])
    assert plt.ylim_ == (-0.5, 3.5)


def test_timestep_ticks_are_whole_steps_from_1_to_t() -> None:
    plt = Recorder()
    timestep_ticks(plt, 500, 40)
    assert plt.xlim_ == (1, 500) and plt.xticks_ == [1, 250, 500]
    timestep_ticks(plt, 48, 140)
    assert plt.xticks_[0] == 1 and plt.xticks_[-1] == 48
    assert all(isinstance(t, int) for t in plt.xticks_)
