"""The stage registry: what each stage of the pipeline reads, writes and means.

A stage is one module exposing `run(project, events=None, *, force=False, **options)`
(the function its own command, `bsf run`, detached runs and the TUI all call) plus one
entry in `STAGES` below: the config sections its result depends on, the artifacts whose
digests it records (`inputs`), the artifacts it writes (`outputs`; `record` is the JSON
among them that carries its stamp), how its key metric and its time read off that
record, how an interrupted run shows (`resumable`), what cheap check tells a whole
result from a damaged or foreign one (`damaged`), which settings its record must say it
was made with (`settings`: a result made with options other than project.toml's is
not the project's), and how many CPU threads its work
wants (`threads`: `compute.ONE` for small-tensor numerics, `compute.ALL` for
convolutions; `Stage.run` applies it, see bsf_engine/compute.py). `pipeline` turns the
entries into status and plans; nothing else lists the stages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import compute, display, layout
from .errors import DataError, MissingArtifactError
from .layout import Layout
from .versioning import file_digest, stamp

if TYPE_CHECKING:
    from .config import Config
    from .events import Events
    from .project import Project

Meta = dict[str, Any]


def _none(_: Meta) -> None:
    return None


def _recorded(meta: Meta) -> Mapping[str, Any]:
    return meta.get("inputs", {})


@dataclass(frozen=True)
class Stage:
    name: str
    command: str  # its own `bsf` command (also the stage named in its stamp)
    module: str  # where its `run` lives; imported only when it runs
    sections: tuple[str, ...]  # config sections it reads itself
    record: str  # layout key of the JSON that holds its stamp and metrics
    outputs: tuple[str, ...]  # every file that must exist for it to be done; [0] is shown
    inputs: tuple[str, ...] = ()  # layout keys of the artifacts whose digests it records
    inherits: tuple[str, ...] = ()  # earlier stages' sections folded into its stamp
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # an interrupted run leaves a partial result (`unfinished` says what is missing) that a
    # rerun continues; other stages are done or not, and redo everything when they run
    resumable: bool = False
    metric: Callable[[Meta], str | None] = _none
    seconds: Callable[[Meta], float | None] = _none
    # why a resumable stage's result is partial: (layout, record or None when missing)
    unfinished: Callable[[Layout, Meta | None], str | None] = lambda _layout, _meta: None
    recorded_inputs: Callable[[Meta], Mapping[str, Any]] = _recorded
    # why a result whose files all exist cannot be used: (project, its record) → a reason
    # naming the file (truncated, empty, another network than project.toml says), or
    # None. Cheap: `bsf status` runs it, and the TUI polls that.
    damaged: Callable[[Project, Meta], str | None] = lambda _project, _meta: None
    # what its record must say it was made with, from the config: record key → value
    # (a record that says otherwise, e.g. another energy model, is stale)
    settings: Callable[[Config], Mapping[str, Any]] = lambda _config: {}
    short: str = ""  # a column title where the name is too wide (default: the name)
    # its progress tasks that nest, outer to inner (the batches of each epoch): the faces
    # count the inner task's share into the outer one's bar and ETA
    progress: tuple[str, ...] = ()
    # under torchrun every rank does a share of it (else rank 0 does it, the rest wait)
    sharded: bool = False
    threads: str = compute.ALL  # its CPU thread policy: compute.ONE or compute.ALL

    def __post_init__(self) -> None:
        if not self.short:
            object.__setattr__(self, "short", self.name)

    # -- what the result depends on -----------------------------------------------------
    def config_hash(self, config: Config) -> str:
        return config.hash_of(*self.inherits, *self.sections)

    def stamp(self, config: Config) -> dict[str, str]:
        return stamp(self.command, self.config_hash(config))

    @property
    def changed_label(self) -> str:
        """How a config change that makes it stale is named: `[convert] (or earlier)`."""
        own = "/".join(f"[{s}]" for s in self.sections)
        return own + (" (or earlier)" if self.inherits else "")

    @property
    def config_label(self) -> str:
        """Every section its stamp covers: `[data]/[model]/[train]/[convert]`."""
        return "/".join(f"[{s}]" for s in (*self.inherits, *self.sections))

    def unlike_config(self, config: Config, made_with: Mapping[str, Any]) -> dict[str, Any]:
        """The settings in `made_with` (a record, or the options a run was given) that
        differ from what `config` says: key → the value in `made_with`. A key it does not
        record is not compared (older records)."""
        return {
            key: made_with[key]
            for key, wanted in self.settings(config).items()
            if key in made_with and made_with[key] != wanted
        }

    def input_digests(self, paths: Layout) -> dict[str, str]:
        """What its record stores under `inputs`: the digest of each input, by key."""
        return {key: file_digest(paths.path(key)) for key in self.inputs}

    # -- its result, seen by a later stage ----------------------------------------------
    def is_current(self, project: Project) -> bool:
        """Its record exists and was made from the current config."""
        meta = layout.read_json_or_none(project.layout.path(self.record))
        if meta is None or self.unlike_config(project.config, meta):
            return False
        return meta.get("stamp", {}).get("config_hash") == self.config_hash(project.config)

    def require_current(self, project: Project) -> None:
        """Raise, naming the command to run, unless its result is there and current."""
        paths = project.layout
        artifact = paths.path(self.outputs[0])
        if not all(paths.path(key).is_file() for key in self.outputs):
            raise MissingArtifactError(
                f"{artifact}: missing; run `bsf {self.command} {project.folder}` first"
            )
        if not self.is_current(project):
            raise MissingArtifactError(
                f"{artifact}: made from a different {self.config_label} config; rerun "
                f"`bsf {self.command} {project.folder} --force`"
            )
        meta = layout.read_json_or_none(paths.path(self.record)) or {}
        problem = self.damaged(project, meta)
        if problem is not None:
            raise MissingArtifactError(
                f"{problem}; rerun `bsf {self.command} {project.folder} --force`"
            )

    # -- running it ---------------------------------------------------------------------
    def run(
        self,
        project: Project,
        events: Events,
        *,
        force: bool = False,
        threads: int | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Its module's `run` (with `options` over the entry's own) on the CPU threads
        its policy, [compute] threads, the environment or `threads` (--threads) choose;
        `force` redoes a finished result (a partial one resumes)."""
        module = importlib.import_module(self.module)
        events.begin(self.name)
        with self.computing(project.config.compute.threads, threads, events):
            return module.run(project, events, force=force, **{**self.options, **options})

    @contextmanager
    def computing(
        self,
        setting: int | str = compute.AUTO,
        flag: int | None = None,
        events: Events | None = None,
    ) -> Iterator[compute.Threads]:
        """Its work inside runs on the threads that `compute.threads_for` chooses."""
        chosen = compute.threads_for(self.name, self.threads, setting, flag)
        if events is not None:
            events.log(chosen.describe(), level="debug")
        with compute.using(chosen.count):
            yield chosen


# -- the stages' own readings of their records ----------------------------------------
def _train_interrupted(paths: Layout, meta: Meta | None) -> str | None:
    if meta is None and paths.train_checkpoint.is_file():
        return "interrupted; `bsf run` resumes from its last epoch"
    return None


def _simulation_unfinished(split: str) -> Callable[[Layout, Meta | None], str | None]:
    def unfinished(paths: Layout, manifest: Meta | None) -> str | None:
        from .spikes.manifest import broken_batches  # (plain JSON: status stays numpy-free)

        if manifest is None:
            return None
        if not manifest.get("complete"):
            done = sum(int(e.get("samples", 0)) for e in manifest.get("batches", []))
            planned = manifest.get("samples")
            if isinstance(planned, int) and done >= planned:  # stopped before marking it
                return (
                    f"every sample simulated ({planned}), not marked complete; "
                    "`bsf run` finishes it"
                )
            return f"{done} of {planned} samples; `bsf run` resumes at the next batch"
        broken = broken_batches(paths.spikes(split), manifest)
        if broken:
            first = broken[0]["file"]
            return f"{first} is missing or truncated; `bsf run` simulates it again"
        return None

    return unfinished


def _checkpoint_damaged(key: str, record: str, *, folded: bool):
    """A torch.save artifact (`key`) that is whole and holds the network its `record` and
    project.toml describe (read from its zip directory and pickled spec, without torch)."""

    def damaged(project: Project, meta: Meta) -> str | None:
        from .archives import torch_header
        from .models.spec import spec_mismatch

        path = project.layout.path(key)
        try:
            header = torch_header(path)
        except DataError as exc:
            return str(exc)
        model = project.config.model
        wanted: dict[str, Any] = {"arch": model.arch, "width": model.width}
        wanted["ics"] = list(project.config.ics)
        if not folded:  # a converted network has its BatchNorm folded away
            wanted["batchnorm"] = model.batchnorm
        claims = {layout.CONFIG: wanted}
        if isinstance(meta.get("spec"), dict):
            claims[record] = meta["spec"]
        problem = spec_mismatch(header.get("spec"), claims)
        return None if problem is None else f"{path}: {problem}"

    return damaged


def _alpha_damaged(project: Project, meta: Meta) -> str | None:
    """alpha.npz opens and holds the approximated α(t) curves the report reads, one value
    a step."""
    from .archives import npy_shape

    path = project.layout.alpha_npz
    try:
        shapes = {key: npy_shape(path, key) for key in ("alpha_grid_approx", "alpha_emp_approx")}
    except DataError as exc:
        return str(exc)
    steps = meta.get("timesteps")
    for key, shape in shapes.items():
        if isinstance(steps, int) and shape != (steps,):
            return f"{path}: {key} has shape {list(shape)}, not [{steps}] as alpha.json says"
    return None


def _simulation_seconds(manifest: Meta) -> float | None:
    seconds = [e.get("seconds") for e in manifest.get("batches", [])]
    if seconds and all(isinstance(x, int | float) for x in seconds):
        return round(sum(seconds), 2)
    return None


# What a simulation's identity calls its inputs (it refuses to resume over other ones).
SIMULATION_IDENTITY_INPUTS = {"snn": layout.SNN_PT}


def _simulation_inputs(manifest: Meta) -> dict[str, Any]:
    identity = manifest.get("identity", {})
    return {key: identity.get(name) for name, key in SIMULATION_IDENTITY_INPUTS.items()}


def _simulation(split: str, short: str) -> Stage:
    return Stage(
        f"simulate-{split}",
        "simulate",
        "bsf_engine.simulate",
        ("simulate",),
        record=layout.manifest_key(split),
        outputs=(layout.manifest_key(split),),
        inputs=(layout.SNN_PT,),
        options=MappingProxyType({"split": split}),
        resumable=True,
        metric=lambda m: f"{m.get('samples')} × T={m.get('timesteps')}",
        seconds=_simulation_seconds,
        unfinished=_simulation_unfinished(split),
        recorded_inputs=_simulation_inputs,
        short=short,
        threads=compute.ALL,  # convolutions over [chunk · batch, …]: big enough for threads
        progress=("batch", "timestep"),
        sharded=True,
    )


def _tune_metric(meta: Meta) -> str | None:
    at_t = meta.get("at_T", {})
    if "alpha_grid" not in at_t:
        return None
    return f"α_grid(T) {at_t['alpha_grid']:g}, α_emp(T) {at_t.get('alpha_emp', 0):.3g}"


def _report_metric(meta: Meta) -> str | None:
    grid = meta.get("methods", {}).get("bsf_grid", {})
    if grid.get("reduction_pct") is not None:
        return display.energy_change(grid["reduction_pct"], meta.get("energy_model"))
    return "BSF misses target" if meta.get("methods") else None


def _exit_metric(meta: Meta) -> str | None:
    """The BSF posterior policy's energy change against fixed-t BSF, both chosen on tune
    (`SpikeSim -12% vs fixed t`)."""
    point = meta.get("policies", {}).get("posterior", {})
    if not point:
        return None
    if point.get("test", {}).get("energy_J") is None:
        return "posterior misses target"
    change = display.energy_change(
        point.get("reduction_vs_fixed_bsf_pct"), meta.get("energy_model"), digits=0, noun=False
    )
    return f"{change} vs fixed t"


def _report_settings(config: Config) -> dict[str, Any]:
    """The report options (`--energy`, `--numerics`, `--target`) as project.toml sets them,
    under the keys report.json records them by."""
    return {
        "energy_model": config.energy.model,
        "numerics": config.fusion.numerics,
        "target_fraction": config.fusion.target,
    }


def _optional(key: str, text: Callable[[Any], str]) -> Callable[[Meta], str | None]:
    return lambda meta: None if meta.get(key) is None else text(meta[key])


TRAIN = Stage(
    "train",
    "train",
    "bsf_engine.train",
    ("data", "model", "train"),
    record=layout.ANN_JSON,
    outputs=(layout.ANN_PT, layout.ANN_JSON),
    resumable=True,
    metric=_optional("final_test_accuracy", lambda v: f"test acc {v:.2%}"),
    seconds=lambda meta: meta.get("train_seconds"),
    unfinished=_train_interrupted,
    damaged=_checkpoint_damaged(layout.ANN_PT, layout.ANN_JSON, folded=False),
    threads=compute.ALL,
    progress=("epoch", "batch"),  # an epoch can be half an hour on a CPU
    sharded=True,  # DDP under torchrun
)
CONVERT = Stage(
    "convert",
    "convert",
    "bsf_engine.convert",
    ("convert",),
    inherits=TRAIN.sections,
    record=layout.SNN_JSON,
    outputs=(layout.SNN_PT, layout.SNN_JSON),
    inputs=(layout.ANN_PT,),
    metric=_optional("max_relative_logit_error", lambda v: f"logit err {v:.0e}"),
    seconds=lambda meta: meta.get("convert_seconds"),
    damaged=_checkpoint_damaged(layout.SNN_PT, layout.SNN_JSON, folded=True),
    short="conv",
    threads=compute.ALL,
)
SIMULATE_TUNE = _simulation("tune", "sim·t")
TUNE = Stage(
    "tune",
    "tune",
    "bsf_engine.tune",
    ("fusion",),
    record=layout.ALPHA_JSON,
    outputs=(layout.ALPHA_NPZ, layout.ALPHA_JSON),
    inputs=(layout.manifest_key("tune"),),
    metric=_tune_metric,
    seconds=lambda meta: meta.get("seconds"),
    damaged=_alpha_damaged,
    threads=compute.ONE,  # [64 steps × samples × classes] blocks: threads only wait
)
SIMULATE_TEST = _simulation("test", "sim·T")
REPORT = Stage(
    "report",
    "report",
    "bsf_engine.report",
    ("fusion", "energy"),
    record=layout.REPORT_JSON,
    outputs=(layout.REPORT_JSON,),
    inputs=(layout.ALPHA_NPZ, layout.manifest_key("test")),
    metric=_report_metric,
    seconds=lambda meta: meta.get("seconds"),
    settings=_report_settings,
    short="rep",
    threads=compute.ONE,  # per-batch [128 steps × batch × classes] blocks
)

EXIT = Stage(
    "exit",
    "exit",
    "bsf_engine.early_exit",
    ("fusion", "energy", "exit"),
    record=layout.EXIT_JSON,
    outputs=(layout.EXIT_JSON, layout.EXIT_NPZ),
    inputs=(layout.ALPHA_NPZ, layout.manifest_key("tune"), layout.manifest_key("test")),
    metric=_exit_metric,
    seconds=lambda meta: meta.get("seconds"),
    threads=compute.ONE,  # per-batch [128 steps × batch × classes] blocks, like the report
)

STAGES: tuple[Stage, ...] = (
    TRAIN,
    CONVERT,
    SIMULATE_TUNE,
    TUNE,
    SIMULATE_TEST,
    REPORT,
    EXIT,
)
NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)
BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}
SIMULATIONS: dict[str, Stage] = {"tune": SIMULATE_TUNE, "test": SIMULATE_TEST}


def get(name: str, option: str = "stage") -> Stage:
    """A stage by name (`simulate` alone is the test split's), or a one-line error."""
    if name == "simulate":
        return SIMULATE_TEST
    if name not in BY_NAME:
        raise DataError(f"{option} {name!r}: choose one of {', '.join(NAMES)}")
    return BY_NAME[name]


def simulation(split: str) -> Stage:
    if split not in SIMULATIONS:
        raise DataError(f"split {split!r}: choose {' or '.join(SIMULATIONS)}")
    return SIMULATIONS[split]
