"""Two `bsf run` at once: exactly one runs. A detached run outlives its launcher."""

from __future__ import annotations

import json
import time

from bsf_engine.stages import NAMES as STAGES

from .conftest import bsf, snapshot, start


def test_two_concurrent_runs_exactly_one_runs(baseline, fresh) -> None:
    folder = fresh("simulate-tune")
    first, second = start("run", folder), start("run", folder)
    codes = sorted([first.wait(300), second.wait(300)])
    assert codes == [0, 2]
    loser = first if first.returncode == 2 else second
    message = loser.stderr.read()
    assert message.startswith(f"error: {folder}: run ") and "is running (pid" in message
    assert snapshot(folder) == baseline[1]


def test_a_detached_run_outlives_its_launcher(baseline, fresh) -> None:
    folder = fresh("convert")
    launched = bsf("run", folder, "--detach")  # returns at once; the run goes on
    assert launched.returncode == 0, launched.stderr
    assert launched.stdout.startswith("started run ")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        info = json.loads(bsf("status", folder, "--json").stdout)
        if info["running"] is None:
            break
        assert info["stages"]["train"]["state"] == "done"
        time.sleep(1)
    states = {name: s["state"] for name, s in info["stages"].items()}
    assert states == {name: "done" for name in STAGES}
    runs = json.loads(bsf("ps", folder, "--all", "--json").stdout)
    assert [r["state"] for r in runs] == ["done"] and runs[0]["detached"]
    assert snapshot(folder) == baseline[1]
