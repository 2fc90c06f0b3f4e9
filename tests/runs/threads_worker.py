"""A detached run's real worker (bsf_engine.runs.worker) whose tune stage only records
the CPU threads it ran on and the OpenMP wait policy of its process, in the run folder's
threads.json; tests/runs/test_launch.py starts it.

    python threads_worker.py RUN_FOLDER
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from bsf_engine import tune
from bsf_engine.runs import worker


def record(project, events=None, *, force: bool = False, **options) -> dict:
    seen = {"threads": torch.get_num_threads(), "wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    (Path(sys.argv[1]) / "threads.json").write_text(json.dumps(seen))
    return {}


if __name__ == "__main__":
    tune.run = record
    sys.exit(worker.main(sys.argv[1]))
