"""benchmarks/simulate.py --device runs end to end (here on the CPU, at a tiny size), so
the one run a lent GPU gets (benchmarks/gpu_check.sh) does not die on a slip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_device_mode_runs_and_reports(tmp_path: Path) -> None:
    report = tmp_path / "speed.json"
    variants = "ours,ours-bf16,ours-bf16+graph,step-oracle,sj-multi-bf16,ann-bf16"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "simulate.py"),
            *("--device", "cpu", "--nets", "vgg19", "--batches", "2", "--timesteps", "3"),
            *("--rounds", "1", "--oracle-steps", "2", "--variants", variants),
            *("--json", str(report)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(report.read_text())
    (run,) = data["speed"]["vgg19"]
    assert {"ours", "ours-bf16", "step-oracle", "ann-bf16"} <= set(run["median"])
    assert "cuda_graph needs a CUDA device" in run["not_measured"]["ours-bf16+graph"]
    assert "sj-multi-bf16" in run["not_measured"]  # its float32 membrane needs CUDA Triton
    assert "ours vs step-oracle (float32, first 2 steps)" in run["spikes"]
    assert set(data["extrapolation"]["minutes"]) == {"ours", "ours-bf16"}
    assert "best of ours" in proc.stdout
    assert "GPU memory peak" in proc.stdout and "CUDA only" in proc.stdout
