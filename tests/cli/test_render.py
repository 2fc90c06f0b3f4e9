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
