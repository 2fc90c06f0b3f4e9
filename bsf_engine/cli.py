"""The `bsf` console script: thin commands over the engine.

Data goes to stdout, progress and diagnostics to stderr. Exit codes: 0 ok,
1 unexpected failure, 2 bad input (config, missing stage, refused overwrite),
130 interrupted.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import EXIT_FAILURE, EXIT_INTERRUPTED, BsfError, Interrupted

app = typer.Typer(
    name="bsf",
    help="BayesianSpikeFusion end to end: train, convert, simulate, fuse, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
STATE = {"debug": False}

ProjectArg = Annotated[
    str, typer.Argument(help="project folder, its project.toml, or a name under ./projects/")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="redo the stage even if its result exists, replacing it")
]


def _version(value: bool) -> None:
    if value:
        out.print(f"bsf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
) -> None:
    STATE["debug"] = debug


def guarded(func):
    """Turn engine errors into one-line messages and exit codes (tracebacks with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BsfError as exc:
            if STATE["debug"]:
                raise
            for line in exc.problems:
                err.print(f"error: {line}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (KeyboardInterrupt, Interrupted) as exc:
            message = str(exc) or "stopped"
            err.print(
                f"interrupted: {message}; finished work is kept, rerun to continue",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if STATE["debug"]:
                raise
            err.print(
                f"error: unexpected {exc.__class__.__name__}: {exc} (rerun with --debug "
                "for the traceback)",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper


def _writing(p, stage: str):
    """The project lock for one stage's own command (refused while a run holds it)."""
    from .runs.lock import held

    return held(p.folder, f"`bsf {stage}`")


def _open(project: str):
    from .project import Project

    return Project.open(project)


@app.command()
@guarded
def new(
    name: Annotated[str, typer.Argument(help="a name (created under ./projects/) or a path")],
    dataset: Annotated[
        str, typer.Option(help="digits, mnist, cifar10, cifar100, tiny-imagenet or imagefolder")
    ] = "digits",
    arch: Annotated[str | None, typer.Option(help="architecture (default: the dataset's)")] = None,
    ic: Annotated[
        list[int] | None, typer.Option(help="IC block index (repeat for several)")
    ] = None,
    root: Annotated[str | None, typer.Option(help="dataset root folder")] = None,
) -> None:
    """Write a new project folder with a commented project.toml."""
    from .project import create_project

    folder = Path(name) if ("/" in name or name.startswith(".")) else Path("projects") / name
    target, config = create_project(folder, dataset, arch, list(ic or []), root)
    err.print(f"wrote {target}")
    out.print(
        f"{folder}  ({config.data.dataset}, {config.model.arch}, IC at block "
        f"{', '.join(map(str, config.ics))})"
    )
    err.print(f"next: edit it, then `bsf validate {folder}` and `bsf train {folder}`")


@app.command()
@guarded
def validate(project: ProjectArg) -> None:
    """Check project.toml and that the dataset files can be found."""
    from .data import check_dataset_files

    p = _open(project)
    check_dataset_files(p.config)
    c = p.config
    out.print(
        f"ok: {p.folder} ({c.data.dataset}, {c.model.arch}, IC at block "
        f"{', '.join(map(str, c.ics))})"
    )


def _artifact_status(p) -> dict[str, dict[str, Any]]:
    status: dict[str, dict[str, Any]] = {}
    for stage, path, json_path in (
        ("train", p.ann_pt, p.ann_json),
        ("convert", p.snn_pt, p.snn_json),
    ):
        if not json_path.is_file() or not path.is_file():
            state = "missing"
        elif p.is_current(json_path, stage):
            state = "done"
        else:
            state = "stale"
        entry: dict[str, Any] = {"state": state, "path": str(path)}
        if state != "missing":
            try:
                meta = p.read_json(json_path)
                entry["created"] = meta.get("stamp", {}).get("created")
                if stage == "train":
                    entry["final_test_accuracy"] = meta.get("final_test_accuracy")
            except BsfError:
                entry["state"] = "corrupt"
        status[stage] = entry
    return status


@app.command()
@guarded
def info(
    project: ProjectArg,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Parameters and MACs per block, IC taps, and which artifacts exist."""
    from .data import dataset_shape
    from .models.complexity import ic_mac_fraction, layer_costs
    from .models.spec import ModelSpec

    p = _open(project)
    c = p.config
    channels, size, classes = dataset_shape(c)
    spec = ModelSpec(
        c.model.arch, channels, size, classes, tuple(c.ics), c.model.width, c.model.batchnorm
    )
    rows = layer_costs(spec)
    feature_total = sum(r.macs for r in rows if r.kind != "head")
    artifacts = _artifact_status(p)
    if as_json:
        payload = {
            "project": p.name,
            "folder": str(p.folder),
            "dataset": c.data.dataset,
            "spec": spec.to_dict(),
            "layers": [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "out_shape": list(r.out_shape),
                    "params": r.params,
                    "macs": r.macs,
                }
                for r in rows
            ],
            "ic_mac_fraction": {f"ic{i}": ic_mac_fraction(spec, i) for i in spec.ics},
            "artifacts": artifacts,
        }
        out.print_json(json.dumps(payload))
        return
    taps = {i: f"ic{i}" for i in spec.ics}
    table = Table(
        title=f"{p.name}: {c.model.arch} (width {c.model.width:g}) on "
        f"{c.data.dataset} {channels}×{size}×{size}, {classes} classes",
        title_justify="left",
    )
    for col, justify in (
        ("layer", "left"),
        ("kind", "left"),
        ("output", "left"),
        ("params", "right"),
        ("MACs", "right"),
        ("cum. MACs", "right"),
        ("tap", "left"),
    ):
        table.add_column(col, justify=justify)
    cumulative = 0
    for r in rows:
        shape = "×".join(map(str, r.out_shape))
        tap = ""
        if r.kind != "head":
            cumulative += r.macs
            index = int(r.name.split()[-1]) if r.name.startswith("block") else None
            tap = f"→ {taps[index]}" if index in taps else ""
            cum = f"{100 * cumulative / feature_total:.1f}%"
        else:
            cum = ""
        table.add_row(r.name, r.kind, shape, f"{r.params:,}", f"{r.macs:,}", cum, tap)
    table.add_row(
        "total",
        "",
        "",
        f"{sum(r.params for r in rows):,}",
        f"{sum(r.macs for r in rows):,}",
        "",
        "",
        style="bold",
    )
    out.print(table)
    for ic in spec.ics:
        out.print(
            f"IC at block {ic}: {100 * ic_mac_fraction(spec, ic):.1f}% of feature MACs "
            "(the default IC loss-weight goal)"
        )
    for stage, entry in artifacts.items():
        extra = ""
        if entry.get("final_test_accuracy") is not None:
            extra = f", final-head test accuracy {100 * entry['final_test_accuracy']:.2f}%"
        out.print(f"{stage}: {entry['state']} ({entry['path']}{extra})")


@app.command()
@guarded
def train(project: ProjectArg, force: ForceOpt = False) -> None:
    """Train the ANN with its IC heads; resumes an interrupted run from its last epoch."""
    from . import train as train_stage
    from .console import RichEvents, accuracy_table

    p = _open(project)
    with _writing(p, "train"), RichEvents(err) as events:
        result = train_stage.run(p, events, force=force)
    acc = result["accuracy"]
    out.print(
        accuracy_table(
            f"{p.name}: ANN accuracy ({result['epochs']} epochs, "
            f"{result['train_seconds']:.1f} s on {result['device']})",
            {"val (tune split)": acc["val"], "test": acc["test"]},
        )
    )
    out.print(f"wrote {p.ann_pt}, {p.ann_json}, {p.split_json}")


@app.command()
@guarded
def convert(project: ProjectArg, force: ForceOpt = False) -> None:
    """Fold BatchNorm and normalise weights by activation percentiles into snn.pt."""
    from . import convert as convert_stage
    from .console import RichEvents, accuracy_table

    p = _open(project)
    with _writing(p, "convert"), RichEvents(err) as events:
        result = convert_stage.run(p, events, force=force)
    scales = Table(
        title=f"per-layer scale λ ({result['percentile']:g}th percentile of "
        f"{result['calibration']['samples']} {result['calibration']['split']} "
        "images)",
        title_justify="left",
    )
    scales.add_column("layer")
    scales.add_column("λ", justify="right")
    for name, value in result["scales"].items():
        scales.add_row(name, f"{value:.4f}")
    out.print(scales)
    out.print(accuracy_table(f"{p.name}: accuracy on the tune split", result["accuracy"]))
    out.print(
        f"normalised logits × λ match the original within "
        f"{result['max_relative_logit_error']:.1e} (relative)"
    )
    out.print(f"wrote {p.snn_pt}, {p.snn_json}")


@app.command()
@guarded
def simulate(
    project: ProjectArg,
    split: Annotated[str, typer.Option(help="tune or test")] = "test",
    timesteps: Annotated[int | None, typer.Option(help="T (default [simulate] timesteps)")] = None,
    batch_size: Annotated[int | None, typer.Option(help="images per batch file")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N")] = None,
    dtype: Annotated[str | None, typer.Option(help="float32, float64, bfloat16, float16")] = None,
    limit: Annotated[int | None, typer.Option(help="simulate only the first N images")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace spikes made with other settings")
    ] = False,
) -> None:
    """Simulate the converted SNN on a split; resumes at the first missing batch."""
    from . import simulate as simulate_stage
    from .console import RichEvents

    p = _open(project)
    with _writing(p, "simulate"), RichEvents(err) as events:
        manifest = simulate_stage.run(
            p,
            events,
            split=split,
            timesteps=timesteps,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            limit=limit,
            overwrite=overwrite,
        )
    folder = simulate_stage.spikes_folder(p, split)
    entries = manifest["batches"]
    timed = [e for e in entries if e.get("seconds")]
    total_bytes = sum(e["bytes"] for e in entries)
    out.print(
        f"{folder}: {manifest['samples']} images × T = {manifest['timesteps']} in "
        f"{len(entries)} batches, {total_bytes / 1e6:.2f} MB"
    )
    if timed:
        steps = sum(e["samples"] for e in timed) * manifest["timesteps"]
        seconds = sum(e["seconds"] for e in timed)
        out.print(
            f"{steps / seconds:,.0f} image-timesteps/s on {manifest['settings']['device']} "
            f"(chunk {manifest['settings']['chunk']})"
        )


@app.command()
@guarded
def inspect(
    path: Annotated[
        str,
        typer.Argument(
            help="a split folder, a batch file, or a reference "
            "folder (output_<i>.npz / labels_<i>.npz)"
        ),
    ],
    batch: Annotated[int, typer.Option(help="batch to show a sample of")] = 0,
    sample: Annotated[int, typer.Option(help="sample within the batch")] = 0,
    accuracy: Annotated[
        bool, typer.Option("--accuracy", help="accuracy of each head over time, over every batch")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Shapes, T, classes and labels of simulated spikes, and one sample's spike trains."""
    from . import plots
    from .spikes import open_spikes
    from .spikes.summary import accuracy_over_time, sample_view, summarize

    source = open_spikes(path)
    summary = summarize(source)
    if as_json:
        out.print_json(json.dumps(summary))
        return
    table = Table(
        title=f"{summary['folder']} ({summary['kind']})", title_justify="left", show_header=False
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("timesteps", str(summary["timesteps"]))
    table.add_row("heads", ", ".join(summary["heads"]))
    names = summary["class_names"]
    table.add_row(
        "classes",
        f"{summary['num_classes']}"
        + (f" ({', '.join(names)})" if names and len(names) <= 20 else ""),
    )
    table.add_row("samples", f"{summary['samples']} in {summary['batches']} batches")
    if "complete" in summary:
        state = (
            "complete"
            if summary["complete"]
            else (f"incomplete ({summary['samples']} of {summary['planned_samples']} samples)")
        )
        table.add_row("state", f"{state}, {summary['bytes'] / 1e6:.2f} MB")
        settings = summary["settings"]
        table.add_row(
            "settings",
            ", ".join(
                f"{k} {settings[k]}"
                for k in ("dtype", "output_delay", "init_mem", "chunk", "device")
                if k in settings
            ),
        )
    counts = summary["label_counts"]
    if counts:
        shown = " ".join(f"{k}:{c}" for k, c in enumerate(counts[:20]))
        table.add_row("labels", shown + (" …" if len(counts) > 20 else ""))
    if "firing_rates" in summary:
        rates = summary["firing_rates"]
        table.add_row("firing rates", " ".join(f"{k} {100 * v:.1f}%" for k, v in rates.items()))
    out.print(table)
    width = max(40, min(out.width, 160))
    color = out.is_terminal
    if accuracy:
        series = {}
        for head in summary["heads"]:
            steps, acc = accuracy_over_time(source, head)
            series[head] = (steps, acc)
            out.print(f"{head}: accuracy {100 * acc[-1]:.2f}% at T = {steps[-1]}")
        print(plots.curves("accuracy of the running prediction", series, width, 14, color=color))
    if summary["samples"] == 0:
        return
    label, traces, position = sample_view(source, batch, sample)
    where = f", split position {position}" if position >= 0 else ""
    out.print(f"batch {batch}, sample {sample}{where}: label {label}")
    for trace in traces:
        print(
            plots.spike_raster(
                f"{trace.name}: output spikes", trace.spikes, label, width, 12, color=color
            )
        )
        print(
            plots.cumulative_counts(
                f"{trace.name}: cumulative spikes per class",
                trace.cumulative,
                label,
                width,
                12,
                names or None,
                color=color,
            )
        )
        final = trace.final_prediction
        settled = trace.settled_at(label)
        verdict = "correct" if final == label else "wrong"
        when = (
            f"; on the label from t = {settled + 1}"
            if settled is not None
            else "; never settles on the label"
        )
        out.print(f"{trace.name}: predicts {final} at T ({verdict}){when}")


@app.command()
@guarded
def tune(
    project: ProjectArg,
    numerics: Annotated[
        str | None, typer.Option(help="exact (log-space) or reference (the authors' procedure)")
    ] = None,
) -> None:
    """Tune α(t) for every step on the tune split (grid search and empirical Bayes)."""
    from . import tune as tune_stage
    from .console import RichEvents

    path = Path(project)
    with RichEvents(err) as events:
        if path.is_dir() and not (path / "project.toml").is_file() and _is_reference(path):
            summary = tune_stage.run_reference(path, events, numerics=numerics or "reference")
            where = path / "bsf"
        else:
            p = _open(project)
            with _writing(p, "tune"):
                summary = tune_stage.run(p, events, numerics=numerics)
            where = p.folder
    at_t = summary["at_T"]
    out.print(
        f"α(t) for t = 1…{summary['timesteps']} on {summary['samples']} tune samples "
        f"({summary['numerics']} numerics, IC head {summary['ic_head']}, "
        f"{summary['seconds']:.1f} s)"
    )
    out.print(
        f"at T: α_grid {at_t['alpha_grid']:g} (tune accuracy {100 * at_t['accuracy_grid']:.2f}%), "
        f"α_emp {at_t['alpha_emp']:.3g}"
    )
    out.print(f"wrote {where / 'alpha.npz'}, {where / 'alpha.json'}")


def _is_reference(path: Path) -> bool:
    names = {p.name for p in path.iterdir()}
    return (
        "command.json" in names
        or "train" in names
        or any(n.startswith(("snn", "alpha_output", "division_linear")) for n in names)
    )


@app.command()
@guarded
def report(
    project: ProjectArg,
    energy: Annotated[str | None, typer.Option(help="spikesim or syops")] = None,
    target: Annotated[
        float | None, typer.Option(help="target as a fraction of the ANN accuracy (0.97)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    csv_dir: Annotated[
        str | None, typer.Option("--csv", help="write curves.csv and summary.csv to this folder")
    ] = None,
    ann_accuracy: Annotated[
        float | None, typer.Option(help="reference folders: the ANN accuracy the target uses")
    ] = None,
) -> None:
    """Accuracy against energy on the test split: final-only, IC-only, BSF-grid, BSF-emp."""
    from . import report as report_stage
    from .console import RichEvents

    if energy is not None and energy not in ("spikesim", "syops"):
        raise BsfError(f"--energy {energy}: choose spikesim or syops")
    path = Path(project)
    with RichEvents(err) as events:
        if path.is_dir() and not (path / "project.toml").is_file() and _is_reference(path):
            from .reference_run import report_reference

            result = report_reference(
                path,
                events,
                energy=energy or "spikesim",
                target=target if target is not None else 0.97,
                ann_accuracy=ann_accuracy,
            )
        else:
            p = _open(project)
            with _writing(p, "report"):
                result = report_stage.run(p, events, energy=energy, target=target)
    if csv_dir:
        for written in report_stage.write_csv(result, Path(csv_dir)):
            err.print(f"wrote {written}")
    if as_json:
        out.print_json(json.dumps(result))
        return
    _print_report(result)


def _print_report(result: dict[str, Any]) -> None:
    import numpy as np

    from . import plots
    from .report import LABELS, METHODS

    table = Table(
        title=f"test split: {result['samples']} samples, T = {result['timesteps']}, "
        f"{result['energy_model']} energy; target {100 * result['target']:.2f}% "
        f"({100 * result['target_fraction']:g}% of {result['target_basis']})",
        title_justify="left",
    )
    for column in (
        "method",
        "acc. at T",
        "steps to target",
        "energy to target",
        "reduction",
        "AUC change",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")

    def fmt(value, unit="", scale=1.0, digits=2):
        return "—" if value is None else f"{value * scale:.{digits}f}{unit}"

    for name in METHODS:
        row = result["methods"][name]
        table.add_row(
            LABELS[name],
            fmt(row["accuracy_at_T"], "%", 100),
            "—" if row["steps_to_target"] is None else str(row["steps_to_target"]),
            fmt(row["energy_to_target_J"], " µJ", 1e6, 3),
            fmt(row["reduction_pct"], "%"),
            fmt(row["auc_increase_pct"], "%"),
        )
    out.print(table)
    curves = result["curves"]
    series = {}
    for name in METHODS:
        energy = np.asarray(curves["energy_J"][name]) * 1e6
        accuracy = np.asarray(curves["accuracy"][name])
        keep = np.unique(np.geomspace(1, len(energy), 300).astype(int) - 1)
        series[LABELS[name]] = (energy[keep], accuracy[keep])
    width = max(40, min(out.width, 140))
    print(
        plots.curves(
            "accuracy against energy (µJ, log scale)",
            series,
            width,
            18,
            ylabel="accuracy",
            hline=result["target"],
            xlog=True,
            color=out.is_terminal,
        )
    )


from . import cli_runs  # noqa: E402,F401  (registers run, ps, status, logs, cancel)


@app.command()
@guarded
def tui(
    folder: Annotated[str, typer.Argument(help="projects folder")] = "projects",
) -> None:
    """The terminal UI: projects, runs (launched detached), α, energy–accuracy, spikes."""
    if not Path(folder).is_dir():
        raise BsfError(f"{folder}: no such folder; give the folder that holds your projects")
    from bsf_tui.app import BsfApp  # the engine never imports Textual; only this command

    BsfApp(Path(folder)).run()


def main() -> None:
    import signal

    # SIGTERM (a cancel, a closing session) stops like Ctrl-C: atomic writes leave no
    # partial file, and finished batches/epochs are kept for the rerun to resume from.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app()
    except KeyboardInterrupt:  # outside any command body (e.g. while importing)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
