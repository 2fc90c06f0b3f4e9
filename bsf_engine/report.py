"""Stage `report`: accuracy against time and energy on the test split, for every method.

Methods: final-only (the final head's counts), IC-only (the IC head's counts),
BSF-grid and BSF-emp (the fusion with the piecewise-linear α(t) from `tune`).
Target = fraction × the ANN's final-head test accuracy. For each method: the
first step reaching the target and the energy spent until then, the reduction
against final-only, and the area under accuracy-over-energy up to final-only's
energy-to-target (as % change against final-only).

report.json is the project's report: made with project.toml's energy model, numerics
and target, and recording them. A report asked for with other ones (`bsf report
--energy syops`) is a *variant*: it is returned and kept as `report-<variant>.json`
beside it, and never replaces it.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import atomic, fusion, layout
from .config.schema import EnergySection
from .energy import (
    SpikeSimConstants,
    reference_step_energy,
    spikesim_step_energy,
    syops_model,
)
from .errors import DataError, MissingArtifactError
from .events import Events
from .models.spec import ModelSpec
from .spikes import SpikeSource, open_project_split
from .stages import REPORT
from .states import EnergyModel, Method, Numerics
from .versioning import file_digest

TIME_BLOCK = 128


def accuracy_curves(
    source: SpikeSource,
    alpha_grid: np.ndarray,
    alpha_emp: np.ndarray,
    ic: str,
    events: Events | None = None,
    numerics: str = Numerics.EXACT,
) -> tuple[dict[str, np.ndarray], np.ndarray | None, int]:
    """Per-step accuracy of every method, and mean spikes per sample per population [T, L].

    The fusion uses `numerics`' rule (`fusion.posterior_mean`): with reference numerics,
    the authors' unclipped E and formula (their plot script's curves, to the bit)."""
    events = events or Events()
    timesteps = source.timesteps
    correct = {name: np.zeros(timesteps, dtype=np.int64) for name in Method}
    counts = None
    samples = 0
    steps_all = torch.arange(1, timesteps + 1, dtype=torch.float64)
    grid = torch.as_tensor(alpha_grid, dtype=torch.float64)
    emp = torch.as_tensor(alpha_emp, dtype=torch.float64)
    events.progress("batch", 0, source.num_batches, "batch")
    for index, batch in enumerate(source):
        labels = torch.from_numpy(batch.labels)
        blocks = zip(
            batch.cumulative_blocks("final", TIME_BLOCK), batch.cumulative_blocks(ic, TIME_BLOCK)
        )
        for (start, m_np), (_, k_np) in blocks:
            stop = start + m_np.shape[0]
            m, k = torch.from_numpy(m_np), torch.from_numpy(k_np)
            n = steps_all[start:stop]
            predictions = {
                "final": m.argmax(-1),
                "ic": k.argmax(-1),
                "bsf_grid": fusion.predict(grid[start:stop].view(-1, 1, 1), m, k, n, numerics),
                "bsf_emp": fusion.predict(emp[start:stop].view(-1, 1, 1), m, k, n, numerics),
            }
            for name, predicted in predictions.items():
                correct[name][start:stop] += (predicted == labels).sum(dim=1).numpy()
        if batch.counts is not None:
            counts = batch.counts.astype(np.float64) if counts is None else counts + batch.counts
        samples += batch.size
        events.progress("batch", index + 1, source.num_batches, "batch")
        events.checkpoint()
    if samples == 0:
        raise DataError(f"{source.folder}: no test samples")
    mean_counts = counts / samples if counts is not None else None
    return {name: c / samples for name, c in correct.items()}, mean_counts, samples


def energy_curves(
    spec: ModelSpec,
    model: str,
    energy_cfg: EnergySection,
    timesteps: int,
    mean_counts: np.ndarray | None,
    numerics: str = Numerics.EXACT,
) -> dict[str, np.ndarray]:
    """Cumulative energy (J) after t = 1 … T steps for each method (SpikeSim with
    reference numerics: the authors' rows and sums, `energy.reference_step_energy`)."""
    steps = np.arange(1, timesteps + 1, dtype=np.float64)
    ic_heads = {h for h in spec.head_names if h != "final"}
    if model == EnergyModel.SPIKESIM:
        constants = SpikeSimConstants.from_config(energy_cfg)
        if numerics == Numerics.REFERENCE:
            per_step = reference_step_energy(spec, constants)
        else:
            per_step = spikesim_step_energy(spec, constants)
        return {
            "final": steps * per_step.final_only,
            "ic": steps * per_step.ic_only,
            "bsf_grid": steps * per_step.bsf,
            "bsf_emp": steps * per_step.bsf,
        }
    if mean_counts is None:
        raise DataError(
            "energy model syops needs per-layer spike counts, which only bsf's own "
            "spike files record; use --energy spikesim"
        )
    syops = syops_model(spec, energy_cfg.e_ac_pj, energy_cfg.e_mac_pj)
    final = np.cumsum(syops.step_energy(mean_counts, {"features", "final"}))
    bsf = np.cumsum(syops.step_energy(mean_counts, {"features", "final", *ic_heads}))
    ic_parts = {"features", *ic_heads}  # features past the IC are not needed by the IC …
    ic = np.cumsum(syops.step_energy(mean_counts, ic_parts))  # … but are counted (an upper bound)
    return {"final": final, "ic": ic, "bsf_grid": bsf, "bsf_emp": bsf}


def headline(
    accuracy: dict[str, np.ndarray],
    energy: dict[str, np.ndarray],
    target: float,
    numerics: str = Numerics.EXACT,
) -> dict[str, dict[str, Any]]:
    """Steps and energy to the target, reduction and AUC per method. The AUC starts at
    (0, 0) (exact), or at the first step as the authors' plot script integrates it
    (reference: scipy's trapezoid over the steps up to final-only's energy-to-target)."""
    out: dict[str, dict[str, Any]] = {}
    reached = {}
    for name in Method:
        hits = np.nonzero(accuracy[name] >= target)[0]
        reached[name] = int(hits[0]) if hits.size else None
    final_t = reached["final"]
    final_energy = energy["final"][final_t] if final_t is not None else None
    areas = {}
    for name in Method:
        if final_energy is not None:
            keep = energy[name] <= final_energy
            e, a = energy[name][keep], accuracy[name][keep]
            if numerics == Numerics.REFERENCE:
                from scipy.integrate import trapezoid

                areas[name] = float(trapezoid(a, e))
                continue
            e, a = np.concatenate([[0.0], e]), np.concatenate([[0.0], a])
            areas[name] = float(np.trapezoid(a, e)) if e.size > 1 else 0.0
        else:
            areas[name] = None
    for name in Method:
        t = reached[name]
        spent = float(energy[name][t]) if t is not None else None
        reduction = None
        if spent is not None and final_energy:
            reduction = (final_energy - spent) / final_energy * 100
        increase = None
        if areas[name] is not None and areas["final"]:
            increase = (areas[name] - areas["final"]) / areas["final"] * 100
        out[name] = {
            "accuracy_at_T": float(accuracy[name][-1]),
            "steps_to_target": t + 1 if t is not None else None,
            "energy_to_target_J": spent,
            "reduction_pct": None if reduction is None else float(reduction),
            "auc": areas[name],
            "auc_increase_pct": None if increase is None else float(increase),
        }
    return out


def build_report(
    source: SpikeSource,
    alpha: dict[str, np.ndarray],
    ic: str,
    spec: ModelSpec,
    model: str,
    energy_cfg,
    target_fraction: float,
    ann_accuracy: float | None,
    events: Events | None = None,
    *,
    numerics: str = Numerics.EXACT,
    alpha_files: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The report of `source`'s test spikes fused with `alpha`'s approximated curves;
    `alpha_files` names where each curve came from (recorded in the report)."""
    accuracy, mean_counts, samples = accuracy_curves(
        source, alpha["alpha_grid_approx"], alpha["alpha_emp_approx"], ic, events, numerics
    )
    energy = energy_curves(spec, model, energy_cfg, source.timesteps, mean_counts, numerics)
    reference_accuracy = ann_accuracy if ann_accuracy is not None else float(accuracy["final"][-1])
    target = target_fraction * reference_accuracy
    return {
        "split": "test",
        "samples": samples,
        "timesteps": source.timesteps,
        "ic_head": ic,
        "numerics": str(numerics),
        "alpha_files": alpha_files or {},
        "energy_model": model,
        "target_fraction": target_fraction,
        "ann_accuracy": ann_accuracy,
        "target_basis": "ANN final-head test accuracy"
        if ann_accuracy is not None
        else "final-only SNN accuracy at T (no ANN accuracy given)",
        "target": target,
        "methods": headline(accuracy, energy, target, numerics),
        "curves": {
            "accuracy": {k: v.tolist() for k, v in accuracy.items()},
            "energy_J": {k: v.tolist() for k, v in energy.items()},
            "alpha_grid": np.asarray(alpha["alpha_grid_approx"]).tolist(),
            "alpha_emp": np.asarray(alpha["alpha_emp_approx"]).tolist(),
        },
    }


def write_csv(report: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    curves = report["curves"]
    path = folder / "curves.csv"
    rows = []
    for t in range(report["timesteps"]):
        row = {"t": t + 1}
        for name in Method:
            row[f"acc_{name}"] = curves["accuracy"][name][t]
            row[f"energy_J_{name}"] = curves["energy_J"][name][t]
        row["alpha_grid"] = curves["alpha_grid"][t]
        row["alpha_emp"] = curves["alpha_emp"][t]
        rows.append(row)

    def writer(handle) -> None:
        import io

        text = io.StringIO()
        out = csv.DictWriter(text, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
        handle.write(text.getvalue().encode())

    atomic.write_with(path, writer)
    summary = folder / "summary.csv"

    def summary_writer(handle) -> None:
        import io

        text = io.StringIO()
        out = csv.writer(text)
        fields = [
            "accuracy_at_T",
            "steps_to_target",
            "energy_to_target_J",
            "reduction_pct",
            "auc",
            "auc_increase_pct",
        ]
        out.writerow(["method", *fields])
        for name in Method:
            out.writerow([name, *(report["methods"][name][f] for f in fields)])
        handle.write(text.getvalue().encode())

    atomic.write_with(summary, summary_writer)
    return [path, summary]


def check_energy_model(model: str) -> EnergyModel:
    try:
        return EnergyModel(model)
    except ValueError:
        raise DataError(f"--energy {model}: choose spikesim or syops") from None


def check_target(fraction: float) -> float:
    if not 0 < fraction <= 1:
        raise DataError(f"target {fraction}: must be in (0, 1]")
    return fraction


def variant_name(differences: dict[str, Any]) -> str:
    """The options a report was made with that project.toml does not set (record key →
    value, `REPORT.unlike_config`) as a file-name part: `syops`, `reference-target0.9`."""
    return "-".join(
        f"target{value:g}" if key == "target_fraction" else str(value)
        for key, value in differences.items()
    )


def alpha_files(paths: layout.Layout, numerics: str, configured: str) -> tuple[Path, Path]:
    """The α a report with `numerics` fuses with: the variant tuned with those numerics
    (`bsf tune --numerics`) where they are not project.toml's and it exists, else the
    project's alpha.npz (the report's `alpha_files` records which)."""
    if numerics != configured:
        variant = paths.alpha_variant(str(numerics))
        if all(path.is_file() for path in variant):
            return variant
    return paths.alpha_npz, paths.alpha_json


def run(
    project,
    events: Events | None = None,
    *,
    energy: str | None = None,
    target: float | None = None,
    numerics: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Report on the project's test spikes; writes report.json and returns it.

    Energy model, target and numerics default to project.toml's. Where one given differs,
    the report is a variant (its `variant` names how): written to
    `report-<variant>.json`, leaving report.json as it was. A report has no partial
    result: it is always computed afresh (`force` is accepted, as by every stage, and
    changes nothing).
    """
    from .tune import check_numerics

    events = events or Events()
    cfg = project.config
    began = time.perf_counter()
    model = check_energy_model(energy or cfg.energy.model)
    fraction = check_target(cfg.fusion.target if target is None else target)
    numerics = check_numerics(numerics or cfg.fusion.numerics)
    paths = project.layout
    source = open_project_split(paths, "test")
    alpha_npz, alpha_json = alpha_files(paths, numerics, cfg.fusion.numerics)
    alpha = layout.read_npz(alpha_npz, "run `bsf tune` first", "rerun `bsf tune`")
    meta = layout.read_json(alpha_json, redo="rerun `bsf tune`")
    if len(alpha["alpha_grid_approx"]) != source.timesteps:
        raise MissingArtifactError(
            f"{alpha_npz}: tuned for T = {len(alpha['alpha_grid_approx'])}, "
            f"the test spikes have T = {source.timesteps}; simulate both splits with the same T"
        )
    ann = layout.read_json(paths.ann_json)
    spec = ModelSpec.from_dict(layout.read_json(paths.snn_json)["spec"])
    tuned = f"{alpha_npz.name} ({meta.get('numerics', '?')} numerics)"
    report = build_report(
        source,
        alpha,
        meta["ic_head"],
        spec,
        model,
        cfg.energy,
        fraction,
        ann["final_test_accuracy"],
        events,
        numerics=numerics,
        alpha_files={"grid": tuned, "emp": tuned},
    )
    report["stamp"] = REPORT.stamp(cfg)
    report["inputs"] = REPORT.input_digests(paths)
    if alpha_npz != paths.alpha_npz:  # fused with a tune variant: record its digest instead
        del report["inputs"][layout.ALPHA_NPZ]
        report["inputs"][paths.key(alpha_npz)] = file_digest(alpha_npz)
    report["seconds"] = round(time.perf_counter() - began, 2)  # `bsf status`: took
    made_with = {"energy_model": model, "numerics": numerics, "target_fraction": fraction}
    differences = REPORT.unlike_config(cfg, made_with)
    path = paths.report_json
    if differences:
        report["variant"] = variant_name(differences)
        path = paths.report_variant(report["variant"])
    atomic.write_json(path, report)
    events.artifact(str(path), "report variant" if differences else "report")
    return report
