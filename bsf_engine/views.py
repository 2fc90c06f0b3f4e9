"""Read-models that every face renders: the CLI (Rich) and the TUI (Textual) show the same
stage rows, run rows, event lines, report, α curves and spike samples, made here from
the artifacts and the run store. Nothing here draws; numbers stay numbers (times as
ISO text or epoch seconds) and each face formats them its way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import display, layout
from . import stages as stage_registry
from .display import duration, number
from .errors import BsfError
from .layout import Layout
from .project import Project
from .runs import store
from .runs.status import project_status
from .states import METHOD_LABELS, EnergyModel, Method, Numerics, RunState, StageState, choices

if TYPE_CHECKING:  # numpy loads where arrays are made: listing runs and stages stays light
    import numpy as np

__all__ = [
    "METHOD_LABELS",
    "AlphaCurves",
    "EnergyView",
    "ExitRow",
    "ExitView",
    "Method",
    "ProgressThinner",
    "ProjectRow",
    "RunRow",
    "SampleView",
    "StageRow",
    "alpha_curves",
    "artifact_stamps",
    "energy_view",
    "exit_rows",
    "exit_view",
    "format_event",
    "mixed_models_note",
    "project_row",
    "project_runs",
    "run_row",
    "runs_to_show",
    "sample_place",
    "spike_folder",
    "spike_sample",
    "stage_rows",
]


# stages ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageRow:
    """One stage as `bsf status` and the Overview tab show it."""

    name: str
    state: StageState
    created: str | None
    seconds: float | None
    metric: str
    note: str


# a stage in one of these states names the run that left it so
RUN_NOTED = (StageState.RUNNING, StageState.FAILED, StageState.LOST, StageState.CANCELLED)


def stage_rows(status: dict[str, Any]) -> list[StageRow]:
    """The rows of a `runs.status.project_status` result, in stage order."""
    rows = []
    for name, s in status["stages"].items():
        note = "; ".join(s["reasons"]) or s.get("error") or ""
        if s.get("run") and s["state"] in RUN_NOTED:
            note = f"run {s['run']}" + (f": {note}" if note else "")
        rows.append(
            StageRow(
                name, StageState(s["state"]), s["created"], s["seconds"], s["metric"] or "", note
            )
        )
    return rows


# runs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRow:
    """One run as `bsf ps` and the Runs tab show it."""

    id: str
    project: str
    state: RunState
    stage: str | None
    stages: list[str]
    started: str | None  # ISO time
    started_at: float | None  # epoch seconds
    seconds: float | None
    detached: bool
    error: str | None
    pid: int | None
    host: str | None
    ranks: int = 1  # processes under torchrun (rank 0 holds the record)

    @property
    def progress(self) -> str:
        """`tune 4/6`: the stage it is in, and where that is in its plan."""
        if not self.stage:
            return ""
        if self.stage in self.stages:
            return f"{self.stage} {self.stages.index(self.stage) + 1}/{len(self.stages)}"
        return self.stage

    def to_dict(self) -> dict[str, Any]:
        """What `bsf ps --json` prints."""
        return {
            "id": self.id,
            "project": self.project,
            "state": self.state,
            "stage": self.stage,
            "stages": self.stages,
            "started": self.started,
            "seconds": self.seconds,
            "detached": self.detached,
            "error": self.error,
            "pid": self.pid,
            "host": self.host,
            "ranks": self.ranks,
        }


def run_row(run: store.Run) -> RunRow:
    seconds = run.seconds()
    meta = run.meta
    return RunRow(
        id=run.id,
        project=str(run.project),
        state=run.state,
        stage=meta.get("stage"),
        stages=list(meta.get("stages", [])),
        started=meta.get("started") or meta.get("created"),
        started_at=meta.get("started_at"),
        seconds=None if seconds is None else round(seconds, 1),
        detached=bool(meta.get("detached")),
        error=meta.get("error"),
        pid=meta.get("pid"),
        host=meta.get("host"),
        ranks=int(meta.get("ranks") or 1),
    )


def project_runs(folder: Path) -> list[RunRow]:
    """A project's runs, newest first."""
    return [run_row(run) for run in reversed(store.project_runs(folder))]


SHOWN_WHEN_FINISHED = 5


def runs_to_show(rows: list[RunRow], every: bool) -> tuple[list[RunRow], bool]:
    """`bsf ps`: live (and lost) runs, else the last few finished ones; with `every`, all.
    Also says whether it fell back to finished runs."""
    if every:
        return rows, False
    live = [r for r in rows if r.state.live or r.state == RunState.LOST]
    if live:
        return live, False
    return rows[-SHOWN_WHEN_FINISHED:], bool(rows)


# events ---------------------------------------------------------------------------------
EVENT_FIELDS = ("time", "stage", "kind", "task", "done", "total", "unit")
METRIC_FIELDS = (*EVENT_FIELDS, "name", "value")


def format_event(event: dict[str, Any]) -> str | None:
    """One line of text for an event (None for those not worth a line): time, stage,
    kind, then what happened, with floats rounded by `display.number`."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", 0)))
    stage = event.get("stage") or "-"
    kind = event.get("kind")
    if kind == "progress":
        task = str(event.get("task"))
        share = display.progress_share(
            task, event.get("done"), event.get("total"), event.get("unit", "")
        )
        extra = " ".join(f"{k}={number(v)}" for k, v in event.items() if k not in EVENT_FIELDS)
        text = f"{task} {share} {extra}".rstrip()
    elif kind == "metric":
        context = " ".join(f"{k}={number(v)}" for k, v in event.items() if k not in METRIC_FIELDS)
        text = f"{event.get('name')} = {number(event.get('value'))} {context}".rstrip()
    elif kind == "log":
        text = str(event.get("message", ""))
    elif kind == "artifact":
        text = f"wrote {event.get('path')}"
    elif kind == "stage":  # the kind column already says "stage"
        text = str(event.get("state")) + (
            f" ({duration(event['seconds'])})" if event.get("seconds") is not None else ""
        )
    elif kind == "start":
        text = " → ".join(event.get("stages", []))
    elif kind == "end":
        text = str(event.get("state")) + (f" — {event['error']}" if event.get("error") else "")
    else:
        return None
    return f"{stamp} {stage:<13} {kind:<8} {text}"


PROGRESS_SHARE = 0.1  # `bsf logs` keeps a task's progress line about every 10 %


class ProgressThinner:
    """Which progress lines `bsf logs` shows without --all: per stage and task the first,
    the last, and about one every `PROGRESS_SHARE` of the total; of a task that starts
    over (the batches of each epoch) after its first round only each round's last line.
    Every event that is not progress is kept. Stateful, so that it also thins a
    followed log as it grows."""

    def __init__(self, share: float = PROGRESS_SHARE) -> None:
        self.share = share
        self.seen: dict[tuple[Any, Any], float] = {}  # (stage, task) -> last kept fraction
        self.repeated: set[tuple[Any, Any]] = set()

    def keep(self, event: dict[str, Any]) -> bool:
        if event.get("kind") != "progress":
            return True
        key = (event.get("stage"), event.get("task"))
        done, total = event.get("done") or 0, event.get("total")
        if not total:  # no total to take shares of: keep every tenth line
            count = self.seen.get(key, -1) + 1
            self.seen[key] = count
            return count % 10 == 0
        at = done / total
        last = self.seen.get(key)
        if last is not None and at < last:  # a task that starts over (batches of an epoch):
            self.repeated.add(key)  # from its second round on, only the round's end
        self.seen[key] = at if last is None or at < last else last
        if done >= total or last is None:
            self.seen[key] = at
            return True
        if key not in self.repeated and at - self.seen[key] >= self.share - 1e-9:
            self.seen[key] = at
            return True
        return False


class StageProgress:
    """How much of each progress task of one stage is done, counting the share done of
    the unit in progress below it (`Stage.progress`, outer to inner): `train · epoch`
    reads 2.4 of 20 while epoch 3's batches are 40 % through, so its bar moves and its
    ETA is there from the first batch, not after the first (perhaps half-hour) epoch.
    An inner task's count belongs to the outer unit it was reported under: once the
    outer task moves on, the inner one counts nothing until its next report."""

    def __init__(self, stage: str | None) -> None:
        found = stage_registry.BY_NAME.get(stage or "")
        self.order: tuple[str, ...] = found.progress if found else ()
        self.latest: dict[str, tuple[int, int | None, int]] = {}  # task → done, total, seq
        self.seq = 0

    def update(self, task: str, done: int, total: int | None) -> None:
        self.seq += 1
        self.latest[task] = (done, total, self.seq)

    def amount(self, task: str) -> float:
        """`task`'s done, with the inner task's share of the current unit added."""
        if task not in self.latest:
            return 0.0
        done, total, seq = self.latest[task]
        if task not in self.order or self.order.index(task) + 1 == len(self.order):
            return float(done)
        inner = self.order[self.order.index(task) + 1]
        if inner not in self.latest:
            return float(done)
        _, inner_total, inner_seq = self.latest[inner]
        if inner_seq < seq or not inner_total:  # reported under an earlier unit
            return float(done)
        share = min(self.amount(inner) / inner_total, 1.0)
        return min(done + share, float(total)) if total else done + share


# projects -------------------------------------------------------------------------------
@dataclass
class ProjectRow:
    """One line of the projects table."""

    name: str
    folder: Path
    states: dict[str, StageState] = field(default_factory=dict)
    ann_accuracy: float | None = None
    reduction: float | None = None  # BSF-grid energy reduction at the target, %
    energy_model: str | None = None  # what costed `reduction` (report.json's)
    running: str | None = None
    error: str | None = None

    @property
    def energy(self) -> str:
        """`SpikeSim energy -9.2%`: the reduction, named by its model."""
        return display.energy_change(self.reduction, self.energy_model)


def project_row(folder: Path) -> ProjectRow:
    row = ProjectRow(folder.name, folder)
    try:
        status = project_status(Project.open(folder))
    except BsfError as exc:
        row.error = exc.problems[0]
        return row
    row.states = {name: StageState(s["state"]) for name, s in status["stages"].items()}
    row.running = status["running"]
    paths = Layout(folder)
    ann = layout.read_json_or_none(paths.ann_json)
    if ann:
        row.ann_accuracy = ann.get("final_test_accuracy")
    report = layout.read_json_or_none(paths.report_json)
    if report:
        row.reduction = report.get("methods", {}).get(Method.BSF_GRID, {}).get("reduction_pct")
        row.energy_model = report.get("energy_model")
    return row


def artifact_stamps(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Each stage output's (mtime ns, size), by layout key (None: absent): what a face
    compares to see that a run wrote something and reload what shows it."""
    from .stages import STAGES

    paths = Layout(folder)
    stamps: dict[str, tuple[int, int] | None] = {}
    for stage in STAGES:
        for key in stage.outputs:
            try:
                info = paths.path(key).stat()
            except OSError:
                stamps[key] = None
            else:
                stamps[key] = (info.st_mtime_ns, info.st_size)
    return stamps


# α --------------------------------------------------------------------------------------
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
    """A project's α(t) (None before `bsf tune`, or when alpha.npz is unreadable)."""
    paths = Layout(folder)
    meta = layout.read_json_or_none(paths.alpha_json) or {}
    arrays = layout.read_npz_or_none(paths.alpha_npz)
    if arrays is None:
        return None
    return AlphaCurves(
        arrays["alpha_grid"],
        arrays["alpha_emp"],
        arrays["alpha_grid_approx"],
        arrays["alpha_emp_approx"],
        arrays["knots"],
        arrays["accuracy_grid"],
        meta.get("numerics", "?"),
        meta.get("ic_head", "?"),
    )


# energy–accuracy --------------------------------------------------------------------------
@dataclass
class EnergyView:
    accuracy: dict[str, np.ndarray]
    energy: dict[str, np.ndarray]  # J, cumulative
    target: float
    target_fraction: float
    model: str
    methods: dict[str, dict[str, Any]]
    note: str = ""

    @property
    def model_label(self) -> str:
        """The energy model as its numbers are labelled (`SpikeSim`)."""
        return display.energy_model(self.model)


def energy_view(folder: Path, model: str | None = None, fraction: float | None = None):
    """report.json's curves, with the target (and, where it can, the energy model)
    switched without touching the spikes: SpikeSim needs only the layer shapes."""
    import numpy as np

    from . import report as report_stage
    from .models.spec import ModelSpec

    paths = Layout(folder)
    report = layout.read_json_or_none(paths.report_json)
    if report is None:
        return None
    accuracy = {k: np.asarray(v) for k, v in report["curves"]["accuracy"].items()}
    energy = {k: np.asarray(v) for k, v in report["curves"]["energy_J"].items()}
    note = ""
    numerics = report.get("numerics", Numerics.EXACT)  # reports before 0.2 had exact only
    model = model or report["energy_model"]
    if model != report["energy_model"]:
        if model == EnergyModel.SPIKESIM:
            project = Project.open(folder)
            spec = ModelSpec.from_dict(layout.read_json(paths.snn_json)["spec"])
            energy = report_stage.energy_curves(
                spec, model, project.config.energy, len(accuracy[Method.FINAL]), None, numerics
            )
        else:
            model = report["energy_model"]
            note = (
                "SyOPs needs per-layer spike counts: `bsf report --energy syops` prints it "
                "(report.json stays the project's)"
            )
    fraction = fraction if fraction is not None else report["target_fraction"]
    basis = report.get("ann_accuracy") or float(accuracy[Method.FINAL][-1])
    target = fraction * basis
    methods = report_stage.headline(accuracy, energy, target, numerics)
    return EnergyView(accuracy, energy, target, fraction, model, methods, note)


def mixed_models_note(models: dict[str, str | None]) -> str:
    """A warning when the projects compared (name → its report's energy model) were
    costed by different models, whose energies do not compare; '' when they were not."""
    by_model: dict[str, list[str]] = {}
    for name, model in models.items():
        by_model.setdefault(display.energy_model(model), []).append(name)
    if len(by_model) < 2:
        return ""
    which = "; ".join(f"{label}: {', '.join(names)}" for label, names in by_model.items())
    return f"energy models differ ({which}): compare energies within one model only"


# early exit -------------------------------------------------------------------------------
@dataclass
class ExitView:
    """exit.json's operating points, chosen again from exit.npz's sweeps for a target and
    an energy model (no spikes are read): what `bsf exit`, `bsf report` and the TUI's
    Early exit tab show."""

    record: dict[str, Any]  # exit.json
    target: float
    target_fraction: float
    model: str
    points: dict[str, Any]  # policy → stopping.OperatingPoint
    tune: dict[str, Any]  # policy → stopping.Sweep on the tune split
    test: dict[str, Any]  # … on the test split
    bin_edges: np.ndarray  # step-index edges of the exit histograms
    note: str = ""

    @property
    def model_label(self) -> str:
        return display.energy_model(self.model)

    @property
    def timesteps(self) -> int:
        return int(self.record["timesteps"])

    def curve(self, policy: str, most: int) -> tuple[np.ndarray, np.ndarray]:
        """The policy's test sweep as a Pareto curve: (energy per image in J, accuracy),
        ordered by energy, thinned evenly to at most `most` points."""
        import numpy as np

        sweep = self.test[policy]
        energy = np.asarray(sweep.energy[self.model])
        order = np.argsort(energy, kind="stable")
        keep = order[np.linspace(0, len(order) - 1, min(len(order), most)).astype(int)]
        return energy[keep], sweep.accuracy[keep]

    def histogram(self, policy: str) -> np.ndarray | None:
        """Test samples exiting in each bin of steps at the policy's chosen θ (None when
        it does not reach the target on tune)."""
        index = self.points[policy].index
        return None if index is None else self.test[policy].hist[index]


def exit_view(folder: Path, fraction: float | None = None, model: str | None = None):
    """The early-exit results of a project, or None before `bsf exit` has run."""
    from . import early_exit, stopping

    paths = Layout(folder)
    record = layout.read_json_or_none(paths.exit_json)
    arrays = layout.read_npz_or_none(paths.exit_npz)
    if record is None or arrays is None:
        return None
    sweeps = early_exit.read_sweeps(arrays, record["samples"])
    models = record.get("energy_models") or [record["energy_model"]]
    note = ""
    model = model or record["energy_model"]
    if model not in models:
        note = (
            f"{display.energy_model(model)} needs per-layer spike counts, which these spike "
            f"files lack: energies are {display.energy_model(record['energy_model'])}"
        )
        model = record["energy_model"]
    fraction = fraction if fraction is not None else record["target_fraction"]
    target = fraction * record["ann_accuracy"]
    points = stopping.operating_points(sweeps["tune"], sweeps["test"], target, model)
    return ExitView(
        record,
        target,
        fraction,
        model,
        points,
        sweeps["tune"],
        sweeps["test"],
        arrays["bin_edges"],
        note,
    )


@dataclass(frozen=True)
class ExitRow:
    """One stopping policy's operating point, as the faces print it."""

    policy: str
    threshold: str  # `t = 31`, `p ≥ 0.998`, `z ≥ 2.6`
    accuracy: str  # on test
    steps: str  # mean / median / p95 exit step on test
    energy: str  # per image, on test
    vs_fixed_bsf: str  # energy change against fixed-t BSF (− saves)
    vs_final: str  # … against fixed-t final-only


def _signed_change(reduction: float | None) -> str:
    """An energy reduction as the change it is: 12.5 → `-12.5%`; 0 → `+0.0%`."""
    return "—" if reduction is None else f"{0.0 - reduction:+.1f}%"


def _threshold_text(label: str, threshold: float) -> str:
    """θ as the table shows it: whole steps, a z to three digits, or a probability with
    two significant digits of its distance from 1 (`p ≥ 0.9968`)."""
    import math

    if label.startswith("t "):
        return f"{label} {threshold:.0f}"
    if label.startswith("z "):
        return f"{label} {number(float(threshold), 3)}"
    if threshold >= 1.0:
        return f"{label} 1"
    digits = max(2, math.ceil(-math.log10(1.0 - threshold)) + 1)
    return f"{label} {threshold:.{digits}f}"


def exit_rows(view: ExitView) -> list[ExitRow]:
    rows = []
    for name, point in view.points.items():
        test = point.test
        if point.index is None:
            rows.append(ExitRow(name, "misses target", *("—",) * 5))
            continue
        mean = number(float(test["mean_steps"]), 3)  # 12.5, 129
        steps = f"{mean} / {test['median_steps']:.0f} / {test['p95_steps']:.0f}"
        rows.append(
            ExitRow(
                name,
                _threshold_text(point.threshold_label, point.threshold),
                f"{100 * test['accuracy']:.2f}%",
                steps,
                display.energy(test["energy_J"], significant=4),
                _signed_change(point.reduction_vs_fixed_bsf_pct),
                _signed_change(point.reduction_vs_final_pct),
            )
        )
    return rows


def exit_test_reads(view: ExitView) -> list[tuple[str, str]]:
    """(policy, energy per image) with θ read off the test curve, for every policy."""
    out = []
    for name, point in view.points.items():
        read = (point.test_read or {}).get("energy_J")
        out.append((name, display.energy(read) if read is not None else "misses"))
    return out


# spikes ---------------------------------------------------------------------------------
@dataclass
class SampleView:
    """One sample of a spike source: every head's trace and, once α is tuned, the BSF
    posterior mean per class over time."""

    split: str  # the project's split, or the kind of a folder that is not a project
    batch: int
    sample: int
    batches: int
    batch_size: int
    label: int
    position: int  # in its split (-1 where the files do not say)
    traces: dict[str, Any]  # head -> spikes.summary.HeadTrace
    posterior: np.ndarray | None  # [T, K] BSF posterior mean (grid α), if tuned
    prediction: np.ndarray | None  # [T] BSF prediction
    misclassified: list[int]  # samples of this batch predicted wrong at T

    @property
    def timesteps(self) -> int:
        return len(self.traces["final"].prediction)

    @property
    def ic_head(self) -> str | None:
        return next((h for h in self.traces if h != "final"), None)

    @property
    def predicted(self) -> int:
        """What it predicts at T: BSF where α is tuned, else the final head (-1: it never
        fired)."""
        if self.prediction is not None:
            return int(self.prediction[-1])
        return self.traces["final"].final_prediction


# Batches and samples are numbered from 0 in every face, as the batch files
# (batch_00000.npz), the manifest and `bsf inspect --batch/--sample` number them.
def sample_place(batch: int, sample: int, batches: int | None = None, size: int | None = None):
    """`batch 0, sample 5`; with the counts, the ranges too: `batch 0 (0-2), sample 5 (0-49)`."""
    where = f"batch {batch}" + (f" (0-{batches - 1})" if batches else "")
    return where + f", sample {sample}" + (f" (0-{size - 1})" if size else "")


def spike_folder(path: Path) -> tuple[Path, str | None]:
    """What a spike folder belongs to: (its project, the split) for a project's
    spikes/<split>, else (the folder itself, None)."""
    path = Path(path)
    project = path.parent.parent
    if path.parent.name == layout.SPIKES and layout.is_project(project):
        return project, path.name
    return path, None


def spike_sample(folder: Path, split: str, batch: int, sample: int) -> SampleView | None:
    """One sample of a simulated split (a project's spikes/<split>, or any spike folder such
    as the reference layouts); batch and sample are clamped into range."""
    import numpy as np
    import torch

    from . import fusion
    from .spikes import open_spikes
    from .spikes.summary import running_prediction, sample_view

    project = layout.is_project(folder)
    path = Layout(folder).spikes(split) if project else folder
    if not path.exists():
        return None
    source = open_spikes(path)
    if source.num_batches == 0:
        return None
    batch = max(0, min(batch, source.num_batches - 1))
    data = source.batch(batch)
    sample = max(0, min(sample, data.size - 1))
    label, traces, position = sample_view(source, batch, sample)
    by_head = {trace.name: trace for trace in traces}
    m = torch.from_numpy(data.cumulative("final").astype(np.int64))
    labels = torch.from_numpy(np.asarray(data.labels))
    steps = torch.arange(1, source.timesteps + 1, dtype=torch.float64)
    ic = next((h for h in data.heads if h != "final"), None)
    alpha = alpha_curves(folder) if project else None
    posterior = prediction = None
    if ic is not None and alpha is not None and len(alpha.grid_approx) == source.timesteps:
        k = torch.from_numpy(data.cumulative(ic).astype(np.int64))
        a = torch.as_tensor(alpha.grid_approx, dtype=torch.float64).view(-1, 1)
        numerics = alpha.numerics if alpha.numerics in choices(Numerics) else Numerics.EXACT
        posterior = fusion.posterior_mean(a, m[:, sample], k[:, sample], steps, numerics).numpy()
        prediction = posterior.argmax(-1)
        at_t = float(alpha.grid_approx[-1]), m[-1], k[-1], float(steps[-1])
        last = fusion.posterior_mean(*at_t, numerics)
        wrong = (last.argmax(-1) != labels).nonzero(as_tuple=True)[0].tolist()
    else:  # the final head's running prediction: a head that never fired predicts nothing
        at_t = running_prediction(data.cumulative("final")[-1])
        wrong = np.nonzero(at_t != data.labels)[0].tolist()
    return SampleView(
        split if project else source.kind,
        batch,
        sample,
        source.num_batches,
        data.size,
        label,
        position,
        by_head,
        posterior,
        prediction,
        wrong,
    )
