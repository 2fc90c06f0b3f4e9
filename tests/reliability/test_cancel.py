"""SIGTERM (bsf cancel) in each stage: cancelled, finished work intact, rerun completes."""

from __future__ import annotations

import pytest

from bsf_engine.errors import EXIT_INTERRUPTED
from bsf_engine.runs import launch, store
from bsf_engine.stages import NAMES as STAGES

from .conftest import bsf, snapshot, start, wait_for_stage


@pytest.mark.parametrize("stage", STAGES)
def test_cancel_stops_at_a_boundary_and_keeps_finished_work(baseline, fresh, stage) -> None:
    _, expected, _ = baseline
    folder = fresh(stage)
    before = STAGES[: STAGES.index(stage)]
    proc = start("run", folder)
    run = wait_for_stage(folder, stage, proc)
    if stage == "train":  # through the command once; in-process (quicker) for the rest
        cancel = bsf("cancel", run.name, "--folder", folder.parent)
        assert cancel.returncode == 0, cancel.stderr
        assert cancel.stdout.strip() == f"run {run.name}: cancelled"
    else:
        assert launch.cancel(store.read(run), wait=60) == "cancelled"
    proc.wait(60)
    assert proc.returncode == EXIT_INTERRUPTED
    assert "cancelled (SIGTERM); finished work is kept" in proc.stderr.read()
    record = store.read(run)
    assert record.state == "cancelled" and record.meta["error"] == "cancelled (SIGTERM)"
    events, _ = store.read_events(run / "events.jsonl")
    assert events[-1]["kind"] == "end" and events[-1]["state"] == "cancelled"
    assert not (folder / ".bsf.lock").exists()
    # what was finished before the cancel is untouched
    assert snapshot(folder, before) == snapshot(baseline[0], before)
    again = bsf("run", folder)
    assert again.returncode == 0, again.stderr
    assert snapshot(folder) == expected
