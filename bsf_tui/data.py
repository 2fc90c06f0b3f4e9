"""What the screens show, read from the engine (called in thread workers; no Textual)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bsf_engine.errors import BsfError
from bsf_engine.project import Project
from bsf_engine.runs import lock, store

METHOD_LABELS = {
    "final": "final only",
    "ic": "IC only",
    "bsf_grid": "BSF grid",
    "bsf_emp": "BSF emp",
}


@dataclass
class ProjectRow:
    """One line of the projects table."""

    name: str
    folder: Path
    states: dict[str, str] = field(default_factory=dict)
    ann_accuracy: float | None = None
    reduction: float | None = None
    running: str | None = None
    error: str | None = None


def find_projects(projects_dir: Path) -> list[Path]:
    projects_dir = Path(projects_dir)
    if (projects_dir / "project.toml").is_file():
        return [projects_dir]
    if not projects_dir.is_dir():
        return []
    return sorted(p for p in projects_dir.iterdir() if (p / "project.toml").is_file())


def project_row(folder: Path) -> ProjectRow:
    row = ProjectRow(folder.name, folder)
    try:
        project = Project.open(folder)
        status = stage_states(project)
    except BsfError as exc:
        row.error = exc.problems[0]
        return row
    row.states = {name: s["state"] for name, s in status["stages"].items()}
    row.running = status["running"]
    ann = _json(folder / "ann.json")
    if ann:
        row.ann_accuracy = ann.get("final_test_accuracy")
    report = _json(folder / "report.json")
    if report:
        row.reduction = report.get("methods", {}).get("bsf_grid", {}).get("reduction_pct")
    return row


def stage_states(project: Project) -> dict[str, Any]:
    """The stage table (as `bsf status --json` gives it)."""
    from bsf_engine.runs.status import project_status

    return project_status(project)


def project_runs(folder: Path) -> list[store.Run]:
    """A project's runs, newest first."""
    return list(reversed(store.project_runs(folder)))


def live_run(folder: Path) -> str | None:
    holder = lock.holder(folder)
    return holder.get("run") if holder else None


def _json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# α ----------------------------------------------------------------------------------
@dataclass
class AlphaCurves:
    grid: np.ndarray
    emp: np.ndarray
    grid_approx: np.ndarray
    emp_approx: np.ndarray
    knots: np.ndarray
    accuracy_grid: np.ndarray
    numerics: str
    ic_head: str


def alpha_curves(folder: Path) -> AlphaCurves | None:
    meta = _json(folder / "alpha.json")
    try:
        with np.load(folder / "alpha.npz") as z:
            arrays = {key: z[key] for key in z.files}
    except (OSError, ValueError):
        return None
    return AlphaCurves(
        arrays["alpha_grid"],
        arrays["alpha_emp"],
        arrays["alpha_grid_approx"],
        arrays["alpha_emp_approx"],
        arrays["knots"],
        arrays["accuracy_grid"],
        (meta or {}).get("numerics", "?"),
        (meta or {}).get("ic_head", "?"),
    )


# energy–accuracy ----------------------------------------------------------------------
@dataclass
class EnergyView:
    accuracy: dict[str, np.ndarray]
    energy: dict[str, np.ndarray]  # J, cumulative
    target: float
    target_fraction: float
    model: str
    methods: dict[str, dict[str, Any]]
    note: str = ""


def energy_view(folder: Path, model: str | None = None, fraction: float | None = None):
    """report.json's curves, with the target (and, where it can, the energy model)
    switched without touching the spikes: SpikeSim needs only the layer shapes."""
    from bsf_engine import report as report_stage
    from bsf_engine.models.spec import ModelSpec

    report = _json(folder / "report.json")
    if report is None:
        return None
    accuracy = {k: np.asarray(v) for k, v in report["curves"]["accuracy"].items()}
    energy = {k: np.asarray(v) for k, v in report["curves"]["energy_J"].items()}
    note = ""
    model = model or report["energy_model"]
    if model != report["energy_model"]:
        if model == "spikesim":
            project = Project.open(folder)
            spec = ModelSpec.from_dict(json.loads((folder / "snn.json").read_text())["spec"])
            energy = report_stage.energy_curves(
                spec, "spikesim", project.config.energy, len(accuracy["final"]), None
            )
        else:
            model = report["energy_model"]
            note = "SyOPs needs per-layer spike counts: run `bsf report --energy syops`"
    fraction = fraction if fraction is not None else report["target_fraction"]
    basis = report.get("ann_accuracy") or float(accuracy["final"][-1])
    target = fraction * basis
    methods = report_stage.headline(accuracy, energy, target)
    return EnergyView(accuracy, energy, target, fraction, model, methods, note)


# spikes -------------------------------------------------------------------------------
@dataclass
class SpikeSample:
    split: str
    batch: int
    sample: int
    batches: int
    batch_size: int
    label: int
    heads: dict[str, np.ndarray]  # bool [T, K] per head
    posterior: np.ndarray | None  # [T, K] BSF posterior mean (grid α), if tuned
    prediction: np.ndarray | None  # [T] BSF prediction
    final_prediction: np.ndarray  # [T] final head's running argmax
    misclassified: list[int]  # samples of this batch BSF gets wrong at T


def spike_sample(folder: Path, split: str, batch: int, sample: int) -> SpikeSample | None:
    """One sample of a simulated split (a project's spikes/<split>, or a reference folder)."""
    import torch

    from bsf_engine import fusion
    from bsf_engine.spikes import open_spikes

    project = (folder / "project.toml").is_file()
    path = folder / "spikes" / split if project else folder
    if not path.exists():
        return None
    source = open_spikes(path)
    split = split if project else source.kind
    if source.num_batches == 0:
        return None
    batch = max(0, min(batch, source.num_batches - 1))
    data = source.batch(batch)
    sample = max(0, min(sample, data.size - 1))
    heads = {name: data.head(name)[:, sample, :] for name in data.heads}
    m = torch.from_numpy(data.cumulative("final").astype(np.int64))
    ic_name = next((h for h in data.heads if h != "final"), None)
    alpha = alpha_curves(folder) if (folder / "project.toml").is_file() else None
    steps = torch.arange(1, source.timesteps + 1, dtype=torch.float64)
    posterior = prediction = None
    labels = torch.from_numpy(np.asarray(data.labels))
    wrong: list[int] = []
    if ic_name is not None and alpha is not None and len(alpha.grid_approx) == source.timesteps:
        k = torch.from_numpy(data.cumulative(ic_name).astype(np.int64))
        a = torch.as_tensor(alpha.grid_approx, dtype=torch.float64).view(-1, 1)
        posterior = fusion.posterior_mean(a, m[:, sample], k[:, sample], steps).numpy()
        prediction = posterior.argmax(-1)
        last = fusion.posterior_mean(float(alpha.grid_approx[-1]), m[-1], k[-1], float(steps[-1]))
        wrong = (last.argmax(-1) != labels).nonzero(as_tuple=True)[0].tolist()
    else:
        wrong = (m[-1].argmax(-1) != labels).nonzero(as_tuple=True)[0].tolist()
    return SpikeSample(
        split,
        batch,
        sample,
        source.num_batches,
        data.size,
        int(data.labels[sample]),
        heads,
        posterior,
        prediction,
        m[:, sample].argmax(-1).numpy(),
        wrong,
    )
