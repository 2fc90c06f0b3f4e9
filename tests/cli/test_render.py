"""The CLI's Rich output: progress bars named by stage and task."""

from __future__ import annotations

import io

from rich.console import Console

from bsf_engine.cli.render import RichEvents
from bsf_engine.runs.sink import JsonlEvents, TeeEvents


def test_each_stage_gets_its_own_named_bars(tmp_path) -> None:
    console = Console(width=100, file=io.StringIO(), force_terminal=False)
    with RichEvents(console) as bars:
        record = JsonlEvents(tmp_path / "events.jsonl")
        events = TeeEvents(record, bars)
        events.begin("simulate-tune")
        events.progress("batch", 3, 3, "batch", rate=1234.5678)
        events.begin("simulate-test")
        events.progress("batch", 1, 3, "batch")
        shown = {task.description: task.completed for task in bars.bars.tasks}
    assert shown == {"simulate-tune · batch": 3, "simulate-test · batch": 1}
    assert record.stage == "simulate-test"  # the run's log is told the stage too
    assert bars.bars.tasks[0].fields["info"] == "rate=1235"


def test_an_outer_bar_moves_with_the_task_inside_it() -> None:
    """`train · epoch` counts the share of the epoch its batches have done, so rich has
    a rate (and an ETA) from the first batches of a long first epoch."""
    console = Console(width=100, file=io.StringIO(), force_terminal=False)
    with RichEvents(console) as bars:
        bars.begin("train")
        bars.progress("epoch", 0, 20, "epoch")
        bars.progress("batch", 10, 40, "batch")
        epoch, batch = bars.bars.tasks
        assert (epoch.completed, batch.completed) == (0.25, 10)
        bars.progress("batch", 40, 40, "batch")
        bars.progress("epoch", 1, 20, "epoch")
        assert epoch.completed == 1  # the finished epoch's batches are not counted twice
        bars.progress("batch", 4, 40, "batch")
        assert (epoch.completed, batch.completed) == (1.1, 4)
        bars.begin("tune")  # a stage whose tasks run one after the other: counts as reported
        bars.progress("load", 2, 4, "batch")
        bars.progress("step", 10, 100, "step")
        assert [t.completed for t in bars.bars.tasks[2:]] == [2, 10]
