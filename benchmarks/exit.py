"""Early-exit sweep speed and memory on synthetic spikes, against the report's pass.

    python benchmarks/exit.py [--samples 10000] [--timesteps 3000] [--classes 10]
                              [--rounds 3]

Writes a synthetic split (benchmarks/synthetic_spikes.py: realistic rates, latencies
and confusions; batches of 500; kept in benchmarks/.tune-data, which benchmarks/tune.py
shares), then times, each in a fresh process on one thread
(bsf's policy for exit and report), interleaved over rounds:
  exit     every stopping policy at every threshold (stopping.tally_split + sweeps):
           what `bsf exit` does per split
  report   the report's pass over the same spikes (accuracy of four methods at every
           step): the baseline, a pass that reads and fuses the same batches
and prints the medians, peak RSS (VmHWM) and their ratio. `bsf exit` runs the sweep
on the tune and the test split: twice the exit line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_spikes import cached_split, child_result, peak_rss_mb  # noqa: E402


def child(mode: str, folder: Path) -> None:
    import torch

    from bsf_engine import report, stopping
    from bsf_engine.spikes import open_spikes
    from bsf_engine.states import EnergyModel

    torch.set_num_threads(1)
    source = open_spikes(folder)
    steps = np.arange(1, source.timesteps + 1, dtype=np.float64)
    alpha = np.minimum(steps / 10, 40.0)  # a plausible α(t): rising, then flat
    began = time.perf_counter()
    if mode == "exit":
        tally = stopping.tally_split(source, "ic6", alpha, 12.0)
        curves = {
            EnergyModel.SPIKESIM: {
                stopping.Predictor.FINAL: steps * 1e-9,
                stopping.Predictor.BSF: steps * 1.1e-9,
            }
        }
        stopping.sweeps(tally, curves)
    else:
        report.accuracy_curves(source, alpha, alpha, "ic6")
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def measure(mode: str, folder: Path) -> dict:
    return child_result(__file__, "--child", mode, "--folder", str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--timesteps", type=int, default=3000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.folder))
        return
    began = time.perf_counter()
    folder = cached_split(args.samples, args.timesteps, args.classes)
    print(
        f"synthetic split: {args.samples} samples × T = {args.timesteps} × "
        f"{args.classes} classes (benchmarks/.tune-data; ready in "
        f"{time.perf_counter() - began:.0f} s)"
    )
    results: dict[str, list[dict]] = {"exit": [], "report": []}
    for _ in range(args.rounds):
        for mode in results:
            results[mode].append(measure(mode, folder))
    median = {}
    for mode, runs in results.items():
        seconds = [r["seconds"] for r in runs]
        median[mode] = statistics.median(seconds)
        rss = max(r["peak_rss_mb"] for r in runs)
        print(
            f"{mode:7s} {median[mode]:7.2f} s (range {min(seconds):.2f}-{max(seconds):.2f}), "
            f"peak RSS {rss:.0f} MB"
        )
    print(f"ratio exit / report pass: {median['exit'] / median['report']:.2f}")
    print(f"bsf exit on a tune and a test split of this size: about {2 * median['exit']:.0f} s")


if __name__ == "__main__":
    main()
