"""Stage `tune`: α(t) for every step from the tune split's spikes (never the test split).

Writes alpha.npz (per-step curves: raw and piecewise-linear α for grid search and
empirical Bayes, tune accuracy and evidence at the chosen α, the full
correct-count and evidence tables) and alpha.json (summary, numerics, stamp).
Works on a project (spikes/tune) or on a folder of the reference scripts'
tuning spikes (outputs then go to <folder>/bsf/).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import alpha as search
from . import atomic, budget
from .config.schema import FusionSection
from .errors import DataError
from .events import Events
from .layout import Layout
from .spikes import SpikeSource, open_project_split, open_spikes
from .spikes.split_counts import SplitCounts
from .stages import TUNE
from .states import Numerics

TIME_BLOCK = 64  # steps per block of cumulative counts (memory ∝ block · samples · classes)


@dataclass
class TuneSettings:
    alphas: np.ndarray
    numerics: str
    knots: list[int] | None = None
    ic: str | None = None  # which IC head (default: the first)


def alpha_grid(fusion_cfg) -> np.ndarray:
    count = round((fusion_cfg.alpha_max - fusion_cfg.alpha_min) / fusion_cfg.alpha_step) + 1
    return fusion_cfg.alpha_min + fusion_cfg.alpha_step * np.arange(count)


def tune_source(
    source: SpikeSource, settings: TuneSettings, events: Events | None = None
) -> dict[str, Any]:
    """α(t) curves from any spike source (bsf split folder or reference tuning folder)."""
    events = events or Events()
    timesteps = source.timesteps
    ic = settings.ic or next(h for h in source.heads if h != "final")
    if ic not in source.heads or "final" not in source.heads:
        raise DataError(
            f"{source.folder}: needs heads 'final' and {ic!r} (has {', '.join(source.heads)})"
        )
    alphas = torch.as_tensor(settings.alphas, dtype=torch.float64)
    count = len(alphas)
    correct = np.zeros((timesteps, count), dtype=np.int64)
    evidence = np.zeros((timesteps, count))
    began = time.perf_counter()
    events.progress("load", 0, source.num_batches, "batch")
    counts = SplitCounts(
        source,
        ("final", ic),
        lambda done: events.progress("load", done, source.num_batches, "batch"),
    )
    samples, batches = counts.samples, counts.num_groups
    labels, groups = torch.from_numpy(counts.labels), torch.from_numpy(counts.groups)
    reference = settings.numerics == Numerics.REFERENCE
    tables = None if reference else search.EvidenceTables(alphas, timesteps)
    # reference: per file and step, the argmax α of the grid and the float32 mean of the
    # per-entry empirical-Bayes argmaxes (averaged over files at the end)
    file_grid = np.zeros((batches, timesteps), dtype=np.float32)
    file_emp = np.zeros((batches, timesteps), dtype=np.float32)
    bounds = np.searchsorted(counts.groups, np.arange(batches + 1))
    alphas32 = np.asarray(settings.alphas, dtype=np.float32)
    events.progress("step", 0, timesteps, "step")
    for start, m_np, k_np in counts.blocks(TIME_BLOCK):
        stop = start + m_np.shape[0]
        m, k, n = torch.from_numpy(m_np), torch.from_numpy(k_np), torch.arange(start + 1, stop + 1)
        if reference:
            per_file = search.grid_correct(
                m, k, n, labels, alphas, settings.numerics, groups, batches
            )
            correct[start:stop] = per_file.sum(dim=0).numpy()
            file_grid[:, start:stop] = alphas32[per_file.argmax(dim=-1).numpy()]
            choice = search.reference_emp_choice(m_np, k_np, n.numpy(), settings.alphas)
            file_emp[:, start:stop] = search.reference_file_means(settings.alphas, choice, bounds)
        else:
            correct[start:stop] = search.grid_correct(m, k, n, labels, alphas).numpy()
            evidence[start:stop] = search.evidence_sums(m_np, k_np, n, alphas, tables).numpy()
        events.progress("step", stop, timesteps, "step")
        events.checkpoint()
    knots = settings.knots or search.knots_for(timesteps)
    steps = np.arange(timesteps)
    grid_index = correct.argmax(axis=1)  # first maximum: the smallest α
    if settings.numerics == Numerics.EXACT:
        raw_grid = settings.alphas[grid_index]
        emp_index = evidence.argmax(axis=1)
        raw_emp = settings.alphas[emp_index]
        accuracy_emp = correct[steps, emp_index] / samples
        evidence_emp = evidence[steps, emp_index]
    else:
        order = getattr(source, "listing_order", range(batches))
        raw_grid = search.reference_average(file_grid, order)
        raw_emp = search.reference_average(file_emp, order)
        accuracy_emp = np.full(timesteps, np.nan)
        evidence_emp = np.full(timesteps, np.nan)
    numerics = settings.numerics
    return {
        "alphas": np.asarray(settings.alphas, dtype=np.float64),
        "alpha_grid": raw_grid.astype(np.float64),
        "alpha_emp": raw_emp.astype(np.float64),
        "alpha_grid_approx": search.approximate(raw_grid.astype(np.float64), knots, numerics),
        "alpha_emp_approx": search.approximate(raw_emp.astype(np.float64), knots, numerics),
        "knots": np.asarray(knots, dtype=np.int64),
        "accuracy_grid": correct[steps, grid_index] / samples,
        "accuracy_emp": accuracy_emp,
        "accuracy_final": correct[:, 0] / samples
        if settings.alphas[0] == 0
        else np.full(timesteps, np.nan),
        "evidence_emp": evidence_emp,
        "correct": correct,
        "evidence": evidence if settings.numerics == Numerics.EXACT else np.zeros((0, count)),
        "meta": {
            "numerics": settings.numerics,
            "ic_head": ic,
            "timesteps": timesteps,
            "samples": samples,
            "batches": batches,
            "seconds": round(time.perf_counter() - began, 2),
        },
    }


def write_results(
    paths: Layout,
    result: dict[str, Any],
    extra: dict[str, Any],
    files: tuple[Path, Path] | None = None,
) -> dict[str, Any]:
    """Write alpha.npz and alpha.json (or the (npz, json) `files` of a variant)."""
    arrays = {k: v for k, v in result.items() if k != "meta"}
    from .spikes.codec import npz_bytes

    npz_path, json_path = files or (paths.alpha_npz, paths.alpha_json)
    atomic.write_bytes(npz_path, npz_bytes(arrays))
    meta = result["meta"]
    last = meta["timesteps"] - 1
    summary = {
        **extra,
        **meta,
        "alpha_range": [float(result["alphas"][0]), float(result["alphas"][-1])],
        "alpha_count": len(result["alphas"]),
        "knots": result["knots"].tolist(),
        "at_T": {
            "alpha_grid": float(result["alpha_grid"][last]),
            "alpha_emp": float(result["alpha_emp"][last]),
            "accuracy_grid": float(result["accuracy_grid"][last]),
        },
    }
    atomic.write_json(json_path, summary)
    return summary


def run(
    project,
    events: Events | None = None,
    *,
    numerics: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Tune α(t) on the project's tune spikes; returns what alpha.json holds.

    With numerics other than project.toml's the result is a variant: written to
    `alpha-<numerics>.npz/json` (its `variant` and `files` say so), which a report asked
    for with those numerics reads, and alpha.npz is left as it was. Tuning has no partial
    result: it always recomputes (`force` is accepted, as by every stage, and changes
    nothing).
    """
    events = events or Events()
    cfg = project.config.fusion
    numerics = check_numerics(numerics or cfg.numerics)
    paths = project.layout
    source = open_project_split(paths, "tune")
    budget.check_tuning(source, budget.grid_count(cfg), numerics, TIME_BLOCK)
    settings = TuneSettings(alpha_grid(cfg), numerics, cfg.knots)
    result = tune_source(source, settings, events)
    extra: dict[str, Any] = {
        "stamp": TUNE.stamp(project.config),
        "inputs": TUNE.input_digests(paths),
    }
    files = (paths.alpha_npz, paths.alpha_json)
    if numerics != cfg.numerics:
        extra["variant"] = str(numerics)
        files = paths.alpha_variant(str(numerics))
    summary = write_results(paths, result, extra, files)
    summary["files"] = [str(path) for path in files]
    variant = " variant" if numerics != cfg.numerics else ""
    events.artifact(str(files[0]), f"alpha{variant}")
    events.artifact(str(files[1]), f"alpha-summary{variant}")
    return summary


def check_numerics(numerics: str) -> Numerics:
    try:
        return Numerics(numerics)
    except ValueError:
        raise DataError(f"numerics {numerics!r}: choose exact or reference") from None


def run_reference(
    path: Path,
    events: Events | None = None,
    *,
    numerics: str = Numerics.REFERENCE,
    alphas: np.ndarray | None = None,
) -> dict[str, Any]:
    """Tune on a reference run folder's tuning spikes; outputs go to <path>/bsf/."""
    source = open_spikes(path)
    if source.kind != "reference-tune":
        raise DataError(
            f"{path}: not a folder of the reference's tuning spikes (train/labels_<i>.npz)"
        )
    if alphas is None:
        alphas = alpha_grid(FusionSection())
    budget.check_tuning(source, len(alphas), numerics, TIME_BLOCK)
    settings = TuneSettings(alphas, check_numerics(numerics))
    result = tune_source(source, settings, events)
    out = Layout(Path(path)).reference_output
    out.folder.mkdir(exist_ok=True)
    return write_results(out, result, {"source": str(source.folder)})
