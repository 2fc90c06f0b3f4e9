"""Stage `exit`: per-sample early exit, every stopping policy side by side on the same spikes.

For each policy of `bsf_engine.stopping` (fixed t with the final head or the fusion, the
SEENN-I confidence and DT-SNN entropy rules on the final head, the BSF posterior rule,
and the oracle bound) a sweep of its threshold over the tune split and over the test
split: accuracy, mean / median / 95th-percentile exit step and energy per image. The
threshold is chosen on tune (the cheapest reaching the target: [fusion] target × the
ANN's final-head test accuracy, as in the report) and applied to test.

Energy per image: SpikeSim is the exit step × the per-step energy of what the policy
reads (features + final head, or + the IC head for the fusion's policies); SyOPs (where
the spike files record per-layer counts) uses each split's per-step mean counts over its
samples, so a sample's energy is the split's mean cumulative energy up to its exit step
(bsf does not record per-sample counts).

Writes exit.npz (every sweep, both splits) and exit.json (the operating points, the
settings and the stamp).
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import atomic, layout, stopping
from .config.schema import EnergySection
from .events import Events
from .models.spec import ModelSpec
from .report import alpha_files, energy_curves
from .spikes import open_project_split
from .spikes.codec import npz_bytes
from .stages import EXIT
from .states import EnergyModel, Method, Numerics
from .stopping import Predictor

SPLITS = ("tune", "test")
# the report's curve each read-out pays for
PAYS = {Predictor.FINAL: Method.FINAL, Predictor.BSF: Method.BSF_GRID}


def split_energy(
    spec: ModelSpec,
    energy_cfg: EnergySection,
    tally: stopping.SplitTally,
    numerics: str,
) -> stopping.EnergyCurves:
    """Cumulative energy per image after t = 1 … T for each read-out, by energy model
    (SyOPs only where the split recorded per-layer counts)."""
    out: stopping.EnergyCurves = {}
    mean_counts = None if tally.counts is None else tally.counts / tally.samples
    for model in EnergyModel:
        if model == EnergyModel.SYOPS and mean_counts is None:
            continue
        curves = energy_curves(spec, model, energy_cfg, tally.timesteps, mean_counts, numerics)
        out[model] = {predictor: curves[method] for predictor, method in PAYS.items()}
    return out


def npz_key(split: str, policy: str, field: str) -> str:
    return f"{split}/{policy}/{field}"


def sweep_arrays(sweeps: dict[str, dict[str, stopping.Sweep]], edges: np.ndarray) -> dict:
    arrays: dict[str, np.ndarray] = {"bin_edges": edges}
    for split, by_policy in sweeps.items():
        for name, sweep in by_policy.items():
            for field, values in sweep.arrays().items():
                arrays[npz_key(split, name, field)] = values
    return arrays


def read_sweeps(
    arrays: dict[str, np.ndarray], samples: dict[str, int]
) -> dict[str, dict[str, stopping.Sweep]]:
    """exit.npz's arrays back as sweeps, by split and policy."""
    out: dict[str, dict[str, stopping.Sweep]] = {}
    for split in SPLITS:
        out[split] = {}
        for policy in stopping.POLICIES:
            prefix = f"{split}/{policy.name}/"
            fields = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            out[split][policy.name] = stopping.Sweep.from_arrays(
                policy.name, fields, samples[split]
            )
    return out


def run(project, events: Events | None = None, *, force: bool = False) -> dict[str, Any]:
    """Sweep every stopping policy on both splits; writes exit.npz and exit.json.

    Like the report it has no partial result: it is always computed afresh (`force` is
    accepted, as by every stage, and changes nothing)."""
    events = events or Events()
    cfg = project.config
    began = time.perf_counter()
    paths = project.layout
    numerics = Numerics(cfg.fusion.numerics)
    sources = {split: open_project_split(paths, split) for split in SPLITS}
    alpha_npz, alpha_json = alpha_files(paths, numerics, cfg.fusion.numerics)
    alpha = layout.read_npz(alpha_npz, "run `bsf tune` first", "rerun `bsf tune`")
    tuned = layout.read_json(alpha_json, redo="rerun `bsf tune`")
    curve = alpha[f"alpha_{cfg.exit.alpha}_approx"]
    snn = layout.read_json(paths.snn_json, redo="rerun `bsf convert --force`")
    spec = ModelSpec.from_dict(snn["spec"])
    scale = float(snn.get("scales", {}).get("heads.final", 1.0))
    tallies, energy = {}, {}
    for split in SPLITS:  # tune first: the thresholds are chosen on it
        tallies[split] = stopping.tally_split(
            sources[split],
            tuned["ic_head"],
            curve,
            scale / cfg.exit.temperature,
            numerics,
            events,
            task=f"{split} batch",
        )
        energy[split] = split_energy(spec, cfg.energy, tallies[split], numerics)
    settings = {
        "ic_head": tuned["ic_head"],
        "numerics": str(numerics),
        "alpha": cfg.exit.alpha,
        "alpha_file": alpha_npz.name,
        "temperature": cfg.exit.temperature,
        "logit_scale": scale,
    }
    result = write_results(project, tallies, energy, settings, time.perf_counter() - began)
    events.artifact(str(paths.exit_npz), "exit sweeps")
    events.artifact(str(paths.exit_json), "exit")
    return result


def write_results(
    project,
    tallies: dict[str, stopping.SplitTally],
    energy: dict[str, stopping.EnergyCurves],
    settings: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    """From each split's tally and energy curves: the sweeps (exit.npz) and the operating
    points for project.toml's target and energy model (exit.json, with `settings`)."""
    cfg = project.config
    paths = project.layout
    model = EnergyModel(cfg.energy.model)
    ann = layout.read_json(paths.ann_json, redo="rerun `bsf train --force`")
    target = cfg.fusion.target * ann["final_test_accuracy"]
    sweeps = {split: stopping.sweeps(tallies[split], energy[split]) for split in SPLITS}
    points = stopping.operating_points(sweeps["tune"], sweeps["test"], target, model)
    edges = stopping.bin_edges(tallies["test"].timesteps)
    atomic.write_bytes(paths.exit_npz, npz_bytes(sweep_arrays(sweeps, edges)))
    result = {
        "timesteps": tallies["test"].timesteps,
        "samples": {split: tallies[split].samples for split in SPLITS},
        **settings,
        "energy_model": str(model),
        "energy_models": sorted(sweeps["test"][stopping.FIXED_FINAL].energy),
        "target_fraction": cfg.fusion.target,
        "ann_accuracy": ann["final_test_accuracy"],
        "target": target,
        "policies": {name: point.as_dict() for name, point in points.items()},
        "stamp": EXIT.stamp(cfg),
        "inputs": EXIT.input_digests(paths),
        "seconds": round(seconds, 2),
    }
    atomic.write_json(paths.exit_json, result)
    return result


def write_csv(
    points: dict[str, stopping.OperatingPoint],
    sweeps: dict[str, dict[str, stopping.Sweep]],
    model: str,
    folder: Path,
) -> list[Path]:
    """exit.csv (one row per policy: its operating point) and exit_sweeps.csv (every
    policy at every threshold on both splits: the Pareto curves) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    fields = ("accuracy", "mean_steps", "median_steps", "p95_steps", "energy_J")
    rows = [
        [
            "policy",
            "threshold",
            "chosen_on",
            *(f"test_{f}" for f in fields),
            "tune_accuracy",
            "reduction_vs_fixed_bsf_pct",
            "reduction_vs_final_pct",
        ]
    ]
    for name, point in points.items():
        rows.append(
            [
                name,
                point.threshold,
                point.chosen_on,
                *(point.test[f] for f in fields),
                point.tune["accuracy"],
                point.reduction_vs_fixed_bsf_pct,
                point.reduction_vs_final_pct,
            ]
        )
    curves = [["split", "policy", "threshold", *fields[:-1], f"energy_J_{model}"]]
    for split, by_policy in sweeps.items():
        for name, sweep in by_policy.items():
            for index, threshold in enumerate(sweep.thresholds):
                curves.append(
                    [
                        split,
                        name,
                        float(threshold),
                        *(float(getattr(sweep, f)[index]) for f in fields[:-1]),
                        float(sweep.energy[model][index]),
                    ]
                )
    written = []
    for name, table in (("exit.csv", rows), ("exit_sweeps.csv", curves)):
        path = folder / name
        text = io.StringIO()
        csv.writer(text).writerows(["" if v is None else v for v in row] for row in table)
        atomic.write_bytes(path, text.getvalue().encode())
        written.append(path)
    return written
