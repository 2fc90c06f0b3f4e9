"""A fast fake stage for the TUI tests: a detached run reporting a few steps of progress.

    python fake_worker.py STEPS FAIL RUN_FOLDER

Honours SIGTERM like a real stage (stops at its next step, ends `cancelled`); with
FAIL = 1 it fails half-way with an error, like a stage that crashed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bsf_engine.errors import Interrupted
from bsf_engine.runs import lock, process, store
from bsf_engine.runs.sink import JsonlEvents, StopRequest


def main(steps: int, fail: bool, folder: str) -> int:
    run = store.read(Path(folder))
    stop = StopRequest()
    stop.install()
    record = JsonlEvents(run.events_path, stop)
    record.stage = "train"
    run.update(
        state="running",
        pid=os.getpid(),
        pgid=os.getpgid(0),
        proc_start=process.start_ticks(os.getpid()),
        started_at=time.time(),
        stage="train",
    )
    record.write("start", stages=["train"])
    record.write("stage", state="running")
    state, error = "done", None
    try:
        for step in range(1, steps + 1):
            time.sleep(0.15)
            record.checkpoint()
            record.progress("epoch", step, steps, "epoch", loss=round(1.0 / step, 3))
            record.log(f"epoch {step} done")
            if fail and step == steps // 2:
                raise RuntimeError(f"loss is NaN at epoch {step}")
    except Interrupted as exc:
        state, error = "cancelled", str(exc)
    except RuntimeError as exc:
        state, error = "failed", f"unexpected RuntimeError: {exc}"
    record.write("end", state=state, error=error)
    run.update(state=state, error=error, ended_at=time.time())
    lock.release(run.project, run.id)
    return 0 if state == "done" else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]))
