"""What `bsf inspect` shows: a summary of a spike source and a view of one sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError
from .source import SpikeSource


def summarize(source: SpikeSource) -> dict[str, Any]:
    labels = source.labels()
    classes = source.num_classes
    summary: dict[str, Any] = {
        "kind": source.kind,
        "folder": str(source.folder),
        "timesteps": source.timesteps,
        "heads": list(source.heads),
        "num_classes": classes,
        "class_names": list(getattr(source, "class_names", []) or []),
        "batches": source.num_batches,
        "samples": int(labels.shape[0]),
        "label_counts": np.bincount(labels, minlength=classes).tolist() if labels.size else [],
    }
    manifest = getattr(source, "manifest", None)
    if manifest is not None:
        from .store import broken_batches

        broken = [str(e.get("file")) for e in broken_batches(source.folder, manifest)]
        summary["complete"] = bool(manifest.get("complete")) and not broken
        summary["broken_batches"] = broken
        if broken:
            summary["problem"] = _broken_hint(source.folder, manifest, broken)
        summary["planned_samples"] = manifest.get("samples")
        summary["bytes"] = sum(e.get("bytes", 0) for e in manifest["batches"])
        summary["settings"] = {**manifest.get("identity", {}), **manifest.get("settings", {})}
        pops = manifest.get("populations", [])
        done = summary["samples"]
        if pops and done:
            totals = np.sum([e["population_spikes"] for e in manifest["batches"]], axis=0)
            summary["firing_rates"] = {
                p["name"]: float(total) / (p["neurons"] * done * source.timesteps)
                for p, total in zip(pops, totals)
            }
    return summary


def _broken_hint(folder, manifest: dict[str, Any], broken: list[str]) -> str:
    """Which batch files a manifest lists but are gone or truncated, and what redoes them."""
    names = ", ".join(broken[:3]) + (f" and {len(broken) - 3} more" if len(broken) > 3 else "")
    split = manifest.get("identity", {}).get("split", folder.name)
    project = folder.parent.parent
    return (
        f"{names} missing or truncated; `bsf simulate {project} --split {split}` (or "
        f"`bsf run {project}`) simulates {'it' if len(broken) == 1 else 'them'} again"
    )


@dataclass
class HeadTrace:
    name: str
    spikes: np.ndarray  # bool [T, K]
    cumulative: np.ndarray  # int32 [T, K], spikes in steps 0..t
    prediction: np.ndarray  # int [T], argmax of cumulative counts, -1 before any spike

    @property
    def final_prediction(self) -> int:
        return int(self.prediction[-1])

    def settled_at(self, label: int) -> int | None:
        """First step from which the running prediction stays equal to `label` (None: never)."""
        wrong = np.nonzero(self.prediction != label)[0]
        if wrong.size == 0:
            return 0
        last_wrong = int(wrong[-1])
        return None if last_wrong == len(self.prediction) - 1 else last_wrong + 1


def running_prediction(cumulative: np.ndarray) -> np.ndarray:
    """argmax over classes of cumulative counts [T, ..., K]; -1 while every count is 0."""
    prediction = cumulative.argmax(axis=-1)
    return np.where(cumulative.max(axis=-1) > 0, prediction, -1)


def sample_view(
    source: SpikeSource, batch_index: int, sample: int
) -> tuple[int, list[HeadTrace], int]:
    """(label, one trace per head, position of the sample in its split or -1)."""
    batch = source.batch(batch_index)
    if not 0 <= sample < batch.size:
        raise DataError(
            f"--sample {sample}: batch {batch_index} has {batch.size} samples (0-{batch.size - 1})"
        )
    traces = []
    for name in batch.heads:
        spikes = batch.head(name)[:, sample, :]
        cumulative = np.cumsum(spikes, axis=0, dtype=np.int32)
        traces.append(HeadTrace(name, spikes, cumulative, running_prediction(cumulative)))
    position = int(batch.indices[sample]) if batch.indices is not None else -1
    return int(batch.labels[sample]), traces, position


def accuracy_over_time(
    source: SpikeSource, head: str, points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """(steps, accuracy of the running prediction of `head` at those steps) over all batches."""
    steps = np.unique(np.linspace(1, source.timesteps, min(points, source.timesteps)).astype(int))
    correct = np.zeros(steps.shape, dtype=np.int64)
    total = 0
    for batch in source:
        cumulative = batch.cumulative(head)[steps - 1]  # [S, B, K]
        correct += (running_prediction(cumulative) == batch.labels[None, :]).sum(axis=1)
        total += batch.size
    return steps, correct / max(total, 1)
