"""Synthetic IC/final spike trains with realistic statistics, written as a bsf split.

Each sample has a label; the final head's label neuron fires regularly (IF-like:
floor(r·t + φ) increments) at a rate drawn from U(0.15, 0.6) after a latency of
~18 steps; other neurons fire at low rates (mostly 0–0.05), and 20% of samples
have a "confuser" class at a rate close to the label's. The IC fires earlier
(latency ~8) and is noisier: its confuser wins for 15% of the samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def regular_trains(
    rates: np.ndarray, latency: np.ndarray, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """bool [T, B, K]: IF-like spike trains with the given rates, silent before `latency`."""
    phase = rng.random(rates.shape)
    t = np.arange(1, steps + 1, dtype=np.float64)[:, None, None]
    active = np.clip(t - latency[None, :, None], 0, None)
    counts = np.floor(rates[None] * active + phase[None]) - np.floor(phase[None])
    spikes = np.diff(counts, axis=0, prepend=0) > 0
    jitter = rng.random(spikes.shape) < 0.02  # a little irregularity
    return spikes ^ (jitter & (active > 0))


def head_rates(
    labels: np.ndarray, classes: int, label_rate, confuse_p: float, rng: np.random.Generator
) -> np.ndarray:
    batch = len(labels)
    rates = rng.exponential(0.015, (batch, classes)).clip(0, 0.1)
    rates[np.arange(batch), labels] = label_rate
    confused = rng.random(batch) < confuse_p
    other = (labels + rng.integers(1, classes, batch)) % classes
    rates[confused, other[confused]] = label_rate[confused] * rng.uniform(0.8, 1.15, confused.sum())
    return rates


def write_split(
    folder: Path, samples: int, steps: int, classes: int = 10, batch: int = 500, seed: int = 0
) -> None:
    import json

    from bsf_engine.layout import MANIFEST
    from bsf_engine.spikes.store import encode_batch, sha256_bytes

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    entries = []
    for index, start in enumerate(range(0, samples, batch)):
        size = min(batch, samples - start)
        labels = rng.integers(0, classes, size)
        final_rate = head_rates(labels, classes, rng.uniform(0.15, 0.6, size), 0.2, rng)
        ic_rate = head_rates(labels, classes, rng.uniform(0.1, 0.4, size), 0.3, rng)
        final = regular_trains(final_rate, rng.normal(18, 3, size).clip(5), steps, rng)
        ic = regular_trains(ic_rate, rng.normal(8, 2, size).clip(2), steps, rng)
        data = encode_batch(
            labels,
            np.arange(start, start + size),
            {"ic6": ic, "final": final},
            np.zeros((steps, 0)),
            steps,
        )
        name = f"batch_{index:05d}.npz"
        (folder / name).write_bytes(data)
        entries.append(
            {
                "index": index,
                "file": name,
                "samples": size,
                "first": start,
                "sha256": sha256_bytes(data),
                "labels": labels.tolist(),
            }
        )
    manifest = {
        "format": "bsf-spikes",
        "version": 1,
        "timesteps": steps,
        "num_classes": classes,
        "heads": ["ic6", "final"],
        "batches": entries,
        "complete": True,
        "samples": samples,
        "batch_size": batch,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest))


DATA = ROOT / "benchmarks" / ".tune-data"  # git-ignored; splits are kept for the next run


def cached_split(samples: int, steps: int, classes: int = 10) -> Path:
    """A synthetic split of this size under benchmarks/.tune-data, written on first use."""
    from bsf_engine.layout import MANIFEST

    folder = DATA / f"s{samples}-t{steps}-k{classes}"
    if not (folder / MANIFEST).is_file():
        write_split(folder, samples, steps, classes)
    return folder


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: its own, not a parent's it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_result(script: str, *args: str) -> dict:
    """Run `python SCRIPT ARGS` in a fresh process; the JSON of its last stdout line."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
