"""α-tuning speed and memory on synthetic spikes, against the reference procedure.

    python benchmarks/tune.py [--samples 10000] [--timesteps 3000] [--classes 10]
                              [--baseline-samples 500]

Writes a synthetic tune split (benchmarks/synthetic_spikes.py; realistic rates,
latencies and confusions), then times, each in a fresh process (peak RSS from
VmHWM):
  exact       bsf's exact numerics, grid search and empirical Bayes together
  reference   bsf's reproduction of the authors' procedure
  baseline    a step-by-step transcription of that procedure (tests/authors.py:
              float32 spikes and α grid, 50-step blocks, scipy's beta), run on the first
              --baseline-samples samples and scaled linearly to the full size
and checks that bsf's reference numerics give exactly the baseline's α curves
on that subset.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_spikes import cached_split, child_result, peak_rss_mb  # noqa: E402


def baseline(folder: Path, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference procedure, transcribed step by step (the slow oracle the tests use:
    tests/authors.py, with its float32 arrays, 50-step blocks and per-file means; its α
    grid is theirs, 0 … 100)."""
    from bsf_engine.spikes import open_spikes
    from tests.authors import GRID, alpha_search_batches

    if not np.array_equal(alphas, GRID):
        raise SystemExit("the baseline is the authors' procedure: 101 α (0 … 100) only")
    source = open_spikes(folder)
    batches = [
        (b.labels, b.head("final").astype(np.float32), b.head("ic6").astype(np.float32))
        for b in source
    ]
    grid, _ = alpha_search_batches(batches, source.timesteps, "grid")
    emp, _ = alpha_search_batches(batches, source.timesteps, "emp")
    return grid, emp


def child(mode: str, folder: Path, alphas_count: int) -> None:
    from bsf_engine.spikes import open_spikes
    from bsf_engine.tune import TuneSettings, tune_source

    alphas = np.arange(float(alphas_count))
    began = time.perf_counter()
    if mode == "baseline":
        grid, emp = baseline(folder, alphas)
    else:
        result = tune_source(open_spikes(folder), TuneSettings(alphas, mode))
        grid, emp = result["alpha_grid"], result["alpha_emp"]
    seconds = time.perf_counter() - began
    np.savez(folder.parent / f"{folder.name}-{mode}.npz", grid=grid, emp=emp)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def run(mode: str, folder: Path, alphas: int) -> dict:
    return child_result(__file__, "--child", mode, str(folder), str(alphas))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--timesteps", type=int, default=3000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--alphas", type=int, default=101)
    parser.add_argument("--baseline-samples", type=int, default=500)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), int(args.child[2]))
        return
    full = cached_split(args.samples, args.timesteps, args.classes)
    subset = cached_split(args.baseline_samples, args.timesteps, args.classes)
    data = full.parent
    size = (
        f"{args.samples} samples × T = {args.timesteps} × {args.classes} classes × {args.alphas} α"
    )
    print(f"## α tuning, {size}")
    exact = run("exact", full, args.alphas)
    print(
        f"exact numerics (grid + empirical Bayes): {exact['seconds']:.1f} s, "
        f"peak RSS {exact['peak_rss_mb']:.0f} MB"
    )
    reference = run("reference", full, args.alphas)
    print(
        f"reference numerics (grid + empirical Bayes): {reference['seconds']:.1f} s, "
        f"peak RSS {reference['peak_rss_mb']:.0f} MB"
    )
    base = run("baseline", subset, args.alphas)
    ours_subset = run("reference", subset, args.alphas)
    scale = args.samples / args.baseline_samples
    print(
        f"baseline (direct numpy + scipy) on {args.baseline_samples} samples: "
        f"{base['seconds']:.1f} s → {base['seconds'] * scale:.0f} s scaled to {args.samples}"
    )
    print(
        f"ratio baseline / reference numerics: {base['seconds'] * scale / reference['seconds']:.1f}"
    )
    with (
        np.load(data / f"{subset.name}-baseline.npz") as b,
        np.load(data / f"{subset.name}-reference.npz") as o,
    ):
        same_grid = np.array_equal(b["grid"], o["grid"])
        same_emp = np.array_equal(b["emp"], o["emp"])
    print(
        f"α curves equal to the baseline on the subset: grid {same_grid}, empirical Bayes "
        f"{same_emp} (bsf reference numerics there: {ours_subset['seconds']:.1f} s)"
    )


if __name__ == "__main__":
    main()
