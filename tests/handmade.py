"""A finished project made from set values, not computed: every artifact of every stage,
stamped as done, with numbers chosen so that nothing a screen shows depends on the CPU,
its thread count or the order of a float sum.

Spikes come from a seeded PCG64 stream compared with fixed rates (the same bits on every
machine); accuracies are multiples of 1/256 and energies multiples of 2⁻²⁶ J, so curves,
AUCs and sums are exact in float64; the α curves are integers. Used by the TUI snapshots.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np

from bsf_engine import __version__, early_exit, report, stages, stopping
from bsf_engine.alpha import approximate, knots_for
from bsf_engine.layout import Layout
from bsf_engine.models.spec import ModelSpec
from bsf_engine.project import Project
from bsf_engine.snn.network import spec_populations
from bsf_engine.spikes.codec import npz_bytes
from bsf_engine.spikes.store import FORMAT, VERSION, batch_filename, encode_batch, sha256_bytes
from bsf_engine.states import EnergyModel
from bsf_engine.versioning import file_digest

from .conftest import TINY_DIGITS

PROJECT = TINY_DIGITS.replace("epochs = 3", "epochs = 4") + (
    "\n[simulate]\ntimesteps = 48\nbatch_size = 120\noutput_delay = true\n"
)
CREATED = "2026-01-01T12:00:00+00:00"
TIMESTEPS = 48
CLASSES = 10
BATCH = 128
SAMPLES = 256  # per split: accuracies are multiples of 1/256
ANN_ACCURACY = 248 / 256


def _stamp(stage: stages.Stage, project: Project) -> dict[str, str]:
    return {
        "stage": stage.command,
        "config_hash": stage.config_hash(project.config),
        "bsf_version": __version__,
        "code_version": f"{__version__}+handmade",
        "created": CREATED,
    }


def _checkpoint(spec: dict) -> bytes:
    """A stand-in for a torch.save file: its zip layout and pickled header (the spec), no
    weights, the same bytes every time (what `bsf status` checks without torch)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("archive/data.pkl", date_time=(2026, 1, 1, 12, 0, 0))
        header = {"spec": spec, "state_dict": {}, "handmade": True}
        archive.writestr(info, pickle.dumps(header, protocol=2))
    return buffer.getvalue()


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def _spec(project: Project) -> ModelSpec:
    c = project.config
    return ModelSpec(c.model.arch, 1, 8, CLASSES, tuple(c.ics), c.model.width, False)


def _spike_batch(rng: np.random.Generator, labels: np.ndarray, confused: np.ndarray):
    """Final and IC spikes [T, B, K]: the label's neuron fires most, except for the
    confused samples, whose final head prefers a wrong class."""
    size = labels.shape[0]
    wrong = (labels + 3) % CLASSES
    final_rate = np.full((size, CLASSES), 0.04)
    final_rate[np.arange(size), labels] = np.where(confused, 0.16, 0.45)
    final_rate[np.arange(size), wrong] = np.where(confused, 0.30, 0.04)
    ic_rate = np.full((size, CLASSES), 0.08)
    ic_rate[np.arange(size), labels] = 0.30
    final = rng.random((TIMESTEPS, size, CLASSES)) < final_rate
    ic = rng.random((TIMESTEPS, size, CLASSES)) < ic_rate
    return final, ic


def _simulation(project: Project, split: str, spec: ModelSpec, snn_digest: str) -> None:
    paths = project.layout
    folder = paths.spikes(split)
    folder.mkdir(parents=True)
    pops = spec_populations(spec)
    rng = np.random.default_rng(7 if split == "tune" else 11)
    ic = spec.head_names[0]
    entries = []
    for index, first in enumerate(range(0, SAMPLES, BATCH)):
        labels = rng.integers(0, CLASSES, BATCH)
        confused = rng.random(BATCH) < 0.1
        final, ic_spikes = _spike_batch(rng, labels, confused)
        counts = rng.integers(0, 50, (TIMESTEPS, len(pops)))
        indices = np.arange(first, first + BATCH)
        heads = {ic: ic_spikes, "final": final}
        payload = encode_batch(labels, indices, heads, counts, TIMESTEPS)
        (folder / batch_filename(index)).write_bytes(payload)
        entries.append(
            {
                "index": index,
                "file": batch_filename(index),
                "first": first,
                "samples": BATCH,
                "sha256": sha256_bytes(payload),
                "bytes": len(payload),
                "labels": labels.tolist(),
                "population_spikes": counts.sum(axis=0).tolist(),
                "seconds": 2.0,
                "device": "cpu",
            }
        )
    stamp = _stamp(stages.simulation(split), project)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "identity": {
            "split": split,
            "timesteps": TIMESTEPS,
            "batch_size": BATCH,
            "samples": SAMPLES,
            "dtype": "float32",
            "output_delay": project.config.simulate.output_delay,
            "init_mem": 0.0,
            "snn": snn_digest,
            "split_digest": "handmade",
        },
        "timesteps": TIMESTEPS,
        "num_classes": CLASSES,
        "classes": [str(k) for k in range(CLASSES)],
        "heads": list(spec.head_names),
        "populations": [
            {"name": p.name, "shape": list(p.shape), "neurons": p.neurons} for p in pops
        ],
        "samples": SAMPLES,
        "batch_size": BATCH,
        "settings": {"chunk": 16, "sub_batch": 64, "device": "cpu"},
        "batches": entries,
        "complete": True,
        "stamp": {**stamp, "finished": CREATED},
    }
    _write(paths.manifest(split), manifest)


def _saturating(t: np.ndarray, low: int, high: int, half: float, cap: int) -> np.ndarray:
    """Accuracies in whole samples of 256, rising from `low` towards `high` (half way at
    t = `half`) and held at `cap`: rational arithmetic only."""
    counts = np.minimum(np.floor(low + (high - low) * t / (t + half)), cap)
    return counts / 256


def _alpha(project: Project, spec: ModelSpec) -> None:
    paths = project.layout
    t = np.arange(1, TIMESTEPS + 1, dtype=np.float64)
    grid = np.minimum(np.floor(t / 4), 9.0)
    emp = np.minimum(np.floor(t / 3) + 1, 14.0)
    knots = knots_for(TIMESTEPS)
    accuracy = _saturating(t, 36, 290, 3.5, 251)
    arrays = {
        "alphas": np.arange(101, dtype=np.float64),
        "alpha_grid": grid,
        "alpha_emp": emp,
        "alpha_grid_approx": approximate(grid, knots),
        "alpha_emp_approx": approximate(emp, knots),
        "knots": np.asarray(knots, dtype=np.int64),
        "accuracy_grid": accuracy,
        "accuracy_emp": accuracy,
        "accuracy_final": _saturating(t, 20, 280, 5.0, 250),
        "evidence_emp": -t * 64,
    }
    paths.alpha_npz.write_bytes(npz_bytes(arrays))
    _write(
        paths.alpha_json,
        {
            "stamp": _stamp(stages.TUNE, project),
            "inputs": stages.TUNE.input_digests(paths),
            "numerics": "exact",
            "ic_head": spec.head_names[0],
            "timesteps": TIMESTEPS,
            "samples": SAMPLES,
            "batches": SAMPLES // BATCH,
            "seconds": 0.5,
            "alpha_range": [0.0, 100.0],
            "alpha_count": 101,
            "knots": knots,
            "at_T": {
                "alpha_grid": float(grid[-1]),
                "alpha_emp": float(emp[-1]),
                "accuracy_grid": float(accuracy[-1]),
            },
        },
    )


def _report(project: Project, spec: ModelSpec) -> None:
    paths = project.layout
    t = np.arange(1, TIMESTEPS + 1, dtype=np.float64)
    accuracy = {
        "final": _saturating(t, 20, 280, 5.0, 250),
        "ic": _saturating(t, 30, 232, 2.0, 228),
        "bsf_grid": _saturating(t, 36, 290, 3.5, 251),
        "bsf_emp": _saturating(t, 30, 285, 4.2, 250),
    }
    step = 2.0**-20  # J per step of the final-only path
    energy = {
        "final": t * step,
        "ic": t * step / 2,
        "bsf_grid": t * (step + 2.0**-26),
        "bsf_emp": t * (step + 2.0**-26),
    }
    fraction = project.config.fusion.target
    target = fraction * ANN_ACCURACY
    with np.load(paths.alpha_npz) as alpha:
        grid, emp = alpha["alpha_grid_approx"], alpha["alpha_emp_approx"]
    result = {
        "split": "test",
        "samples": SAMPLES,
        "timesteps": TIMESTEPS,
        "ic_head": spec.head_names[0],
        "energy_model": project.config.energy.model,
        "target_fraction": fraction,
        "ann_accuracy": ANN_ACCURACY,
        "target_basis": "ANN final-head test accuracy",
        "target": target,
        "methods": report.headline(accuracy, energy, target),
        "curves": {
            "accuracy": {k: v.tolist() for k, v in accuracy.items()},
            "energy_J": {k: v.tolist() for k, v in energy.items()},
            "alpha_grid": grid.tolist(),
            "alpha_emp": emp.tolist(),
        },
        "stamp": _stamp(stages.REPORT, project),
        "inputs": stages.REPORT.input_digests(paths),
        "seconds": 0.75,
    }
    _write(paths.report_json, result)


def make_finished_project(folder: Path, toml: str = PROJECT) -> Path:
    """A project at `folder` (created, with `toml` as its project.toml) with every stage's
    artifacts, all done."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.toml").write_text(toml)
    project = Project.open(folder)
    paths: Layout = project.layout
    spec = _spec(project)
    paths.ann_pt.write_bytes(_checkpoint({**spec.to_dict(), "batchnorm": True}))
    accuracy = {"val": {spec.head_names[0]: 0.875, "final": 0.9609375}}
    accuracy["test"] = {spec.head_names[0]: 0.859375, "final": ANN_ACCURACY}
    _write(
        paths.ann_json,
        {
            "stamp": _stamp(stages.TRAIN, project),
            "spec": {**spec.to_dict(), "batchnorm": True},
            "heads": list(spec.head_names),
            "classes": [str(k) for k in range(CLASSES)],
            "split": {"seed": 0, "sizes": {"train": 1150, "tune": 288, "test": 359}},
            "accuracy": accuracy,
            "final_test_accuracy": ANN_ACCURACY,
            "epochs": project.config.train.epochs,
            "device": "cpu",
            "train_seconds": 4.25,
            "history": [],
        },
    )
    _write(paths.split_json, {"dataset": "digits", "seed": 0, "digest": "handmade"})
    paths.snn_pt.write_bytes(_checkpoint(spec.to_dict()))
    _write(
        paths.snn_json,
        {
            "stamp": _stamp(stages.CONVERT, project),
            "inputs": stages.CONVERT.input_digests(paths),
            "spec": spec.to_dict(),
            "heads": list(spec.head_names),
            "percentile": project.config.convert.percentile,
            "calibration": {"split": "train", "samples": 100},
            "scales": {},
            "silent_layers": [],
            "accuracy_split": "tune",
            "accuracy": {"original": accuracy["val"]},
            "max_relative_logit_error": 4e-07,
            "convert_seconds": 0.25,
        },
    )
    snn_digest = file_digest(paths.snn_pt)
    for split in ("tune", "test"):
        _simulation(project, split, spec, snn_digest)
    _alpha(project, spec)
    _report(project, spec)
    _exit(project)
    return folder


def _exit_tally(split: str, timesteps: int) -> stopping.SplitTally:
    """Set exit-step histograms and right counts for every policy: whole samples of 256,
    exits spread over three steps around a centre that moves with θ (tune a little
    better than test)."""
    better = 3 if split == "tune" else 0
    tally = stopping.SplitTally(timesteps, SAMPLES)
    t = np.arange(1, timesteps + 1, dtype=np.float64)
    # right samples = a + b · (step index of most exits): the posterior rule gets there first
    slopes = {"confidence": (60, 16), "entropy": (56, 16), "posterior": (100, 18)}
    for policy in stopping.POLICIES:
        grid = policy.grid(timesteps)
        tally.thresholds[policy.name] = grid
        if policy.kind == stopping.Kind.FIXED:
            low, high, half, cap = (
                (20, 280, 5.0, 250) if "final" in policy.name else (36, 290, 3.5, 251)
            )
            tally.right[policy.name] = np.round(_saturating(t, low + better, high, half, cap) * 256)
            continue
        if policy.kind != stopping.Kind.SCORE:
            continue
        count = len(grid)
        centre = 1 + (np.arange(count) * 36) // (count - 1)  # step index of most exits
        exits = np.zeros((count, timesteps), dtype=np.int64)
        rows = np.arange(count)
        exits[rows, centre] += 128
        exits[rows, np.minimum(centre + 4, timesteps - 1)] += 96
        exits[rows, np.minimum(centre + 12, timesteps - 1)] += 32
        tally.exits[policy.name] = exits
        base, slope = slopes[policy.name]
        tally.right[policy.name] = np.minimum(base + better + slope * centre, 250).astype(np.int64)
    first = np.zeros(timesteps + 1, dtype=np.int64)
    first[2:20] = 14  # first right at steps 3 … 20 (252 of 256)
    first[timesteps] = SAMPLES - first[:timesteps].sum()  # never right
    tally.first_right = first
    return tally


def _exit(project: Project) -> None:
    step = 2.0**-20  # J per step, as in the report
    t = np.arange(1, TIMESTEPS + 1, dtype=np.float64)
    curves = {
        EnergyModel.SPIKESIM: {
            stopping.Predictor.FINAL: t * step,
            stopping.Predictor.BSF: t * (step + 2.0**-26),
        },
        EnergyModel.SYOPS: {
            stopping.Predictor.FINAL: t * step / 2,
            stopping.Predictor.BSF: t * (step + 2.0**-25) / 2,
        },
    }
    tallies = {split: _exit_tally(split, TIMESTEPS) for split in ("tune", "test")}
    settings = {
        "ic_head": _spec(project).head_names[0],
        "numerics": "exact",
        "alpha": "grid",
        "alpha_file": "alpha.npz",
        "temperature": 1.0,
        "logit_scale": 8.0,
    }
    energy = {split: curves for split in tallies}
    record = early_exit.write_results(project, tallies, energy, settings, 0.5)
    record["stamp"] = _stamp(stages.EXIT, project)
    _write(project.layout.exit_json, record)
