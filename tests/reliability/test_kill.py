"""kill -9 at random points of each stage, then rerun: the same results as never killed."""

from __future__ import annotations

import random
import time

import pytest

from bsf_engine.runs import store
from bsf_engine.stages import NAMES as STAGES

from .conftest import Reader, bsf, kill_group, snapshot, start, wait_for_stage

LONG = ("train", "simulate-tune", "simulate-test")
# two random points in the long stages, one in the quick ones (CI time)
CASES = [(stage, seed) for stage in STAGES for seed in ((0, 1) if stage in LONG else (0,))]


@pytest.mark.parametrize(("stage", "seed"), CASES)
def test_kill_9_then_rerun_gives_the_uninterrupted_results(baseline, fresh, stage, seed) -> None:
    _, expected, seconds = baseline
    folder = fresh(stage)
    reader = Reader(folder)
    reader.start()
    proc = start("run", folder)
    run = wait_for_stage(folder, stage, proc)
    time.sleep(random.Random(f"{stage}-{seed}").uniform(0, max(seconds.get(stage, 0.5), 0.2)))
    kill_group(proc)
    failures = reader.stop()
    assert reader.passes > 0
    assert failures == [], failures  # no reader ever saw a partial artifact
    state = store.read(run).state
    assert state in ("lost", "done")  # killed mid-run (or it had just finished)
    again = bsf("run", folder)
    assert again.returncode == 0, again.stderr
    assert snapshot(folder) == expected
    assert store.read(run).state in ("lost", "done")
