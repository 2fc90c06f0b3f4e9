"""The Runs pane's progress bars: rates and ETAs from a run's progress events."""

from __future__ import annotations

from pathlib import Path

from bsf_engine.states import RunState
from bsf_tui.widgets.runs import RunsPane, task_text


def progress(stage: str, task: str, done: int, total: int, time: float) -> dict:
    return {
        "kind": "progress",
        "stage": stage,
        "task": task,
        "done": done,
        "total": total,
        "unit": task,
        "time": time,
    }


def test_a_long_first_epoch_has_an_eta_from_its_first_batches() -> None:
    """20 epochs of 100 batches, one batch a second: after 50 s the epoch bar reads
    0.5 epochs done and 1950 s to go, where counting whole epochs gave no ETA for the
    first 100 s (half an hour on a CPU with VGG11 at full width)."""
    pane = RunsPane(Path("."))
    pane._progress(progress("train", "epoch", 0, 20, 1000.0))
    for batch in range(1, 51):
        pane._progress(progress("train", "batch", batch, 100, 1000.0 + batch))
    epoch = pane.tasks["train:epoch"]
    assert (epoch.done, epoch.amount) == (0, 0.5)
    assert epoch.eta() == 1950.0
    text = task_text(epoch, RunState.RUNNING)
    assert text.startswith("train · epoch 0/20") and "ETA 32.5 min" in text
    # the next epoch: its first batch report starts the batch bar over, the epoch bar not
    pane._progress(progress("train", "batch", 100, 100, 1100.0))
    pane._progress(progress("train", "epoch", 1, 20, 1101.0))
    pane._progress(progress("train", "batch", 10, 100, 1111.0))
    assert pane.tasks["train:epoch"].amount == 1.1
    assert pane.tasks["train:batch"].done == 10
