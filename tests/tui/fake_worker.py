"""A fast fake stage for the TUI tests: a detached run reporting a few steps of progress.

    python fake_worker.py STEPS FAIL [STAGES [FILES]] RUN_FOLDER

Honours SIGTERM like a real stage (stops at its next step, ends `cancelled`); with
FAIL = 1 it fails half-way with an error, like a stage that crashed. STAGES (comma
separated, default `train`) are run one after the other, STEPS each; the files of the
folder FILES are copied into the project as the last stage ends, as artifacts.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from bsf_engine.errors import Interrupted
from bsf_engine.runs import lock, process, store
from bsf_engine.runs.sink import JsonlEvents, StopRequest


def main(steps: int, fail: bool, folder: str, stages: list[str], files: str | None) -> int:
    run = store.read(Path(folder))
    stop = StopRequest()
    stop.install()
    record = JsonlEvents(run.events_path, stop)
    record.stage = stages[0]
    run.update(
        state="running",
        pid=os.getpid(),
        pgid=os.getpgid(0),
        proc_start=process.start_ticks(os.getpid()),
        started_at=time.time(),
        stage=stages[0],
    )
    record.write("start", stages=stages)
    state, error = "done", None
    try:
        for stage in stages:
            record.stage = stage
            run.update(stage=stage)
            record.write("stage", state="running")
            for step in range(1, steps + 1):
                time.sleep(0.15)
                record.checkpoint()
                record.progress("epoch", step, steps, "epoch", loss=round(1.0 / step, 3))
                record.log(f"{stage}: epoch {step} done")
                if fail and step == steps // 2:
                    raise RuntimeError(f"loss is NaN at epoch {step}")
            if stage == stages[-1] and files:
                for path in sorted(Path(files).iterdir()):
                    shutil.copy2(path, run.project / path.name)
                    record.artifact(str(run.project / path.name), path.name)
            record.write("stage", state="done")
    except Interrupted as exc:
        state, error = "cancelled", str(exc)
    except RuntimeError as exc:
        state, error = "failed", f"unexpected RuntimeError: {exc}"
    record.write("end", state=state, error=error)
    run.update(state=state, error=error, ended_at=time.time())
    lock.release(run.project, run.id)
    return 0 if state == "done" else 1


if __name__ == "__main__":
    extra = sys.argv[3:-1]
    sys.exit(
        main(
            int(sys.argv[1]),
            sys.argv[2] == "1",
            sys.argv[-1],
            extra[0].split(",") if extra else ["train"],
            extra[1] if len(extra) > 1 else None,
        )
    )
