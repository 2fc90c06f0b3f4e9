"""`bsf new`, `validate`, and each stage's own command: train, convert, simulate, tune,
report. Each calls the stage's `run` under the project lock, with progress bars."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .. import layout, stages
from ..config.schema import FusionSection, SimulateSection, choices_of, words
from ..config.template import PRESETS
from ..stages import SIMULATIONS
from ..states import EnergyModel, ExitPolicy, choices
from .app import ForceOpt, ProjectArg, ThreadsOpt, err, guarded, open_project, out, writing
from .render import RichEvents, accuracy_table, print_exit, print_report, rank_events


@guarded
def new(
    name: Annotated[str, typer.Argument(help="a name (created under ./projects/) or a path")],
    dataset: Annotated[str, typer.Option(help=words(PRESETS))] = "digits",
    arch: Annotated[str | None, typer.Option(help="architecture (default: the dataset's)")] = None,
    ic: Annotated[
        list[int] | None, typer.Option(help="IC block index (repeat for several)")
    ] = None,
    root: Annotated[str | None, typer.Option(help="dataset root folder")] = None,
) -> None:
    """Write a new project folder with a commented project.toml."""
    from ..project import create_project

    folder = Path(name) if ("/" in name or name.startswith(".")) else Path("projects") / name
    target, config = create_project(folder, dataset, arch, list(ic or []), root)
    err.print(f"wrote {target}")
    out.print(
        f"{folder}  ({config.data.dataset}, {config.model.arch}, IC at block "
        f"{', '.join(map(str, config.ics))})"
    )
    err.print(f"next: edit it, `bsf validate {folder}`, then `bsf run {folder}`")


@guarded
def validate(project: ProjectArg) -> None:
    """Check project.toml and that the dataset files can be found."""
    from ..data import check_dataset_files

    p = open_project(project)
    check_dataset_files(p.config)
    c = p.config
    out.print(
        f"ok: {p.folder} ({c.data.dataset}, {c.model.arch}, IC at block "
        f"{', '.join(map(str, c.ics))})"
    )


@guarded
def train(project: ProjectArg, force: ForceOpt = False, threads: ThreadsOpt = None) -> None:
    """Train the ANN with its IC heads; resumes an interrupted run from its last epoch."""
    from ..distributed import world

    p = open_project(project)
    here = world()
    with writing(p, "train"), rank_events(err) as events:
        result = stages.TRAIN.run(p, events, force=force, threads=threads)
    if not here.leader:  # rank 0 speaks for the run
        return
    acc = result["accuracy"]
    out.print(
        accuracy_table(
            f"{p.name}: ANN accuracy ({result['epochs']} epochs, "
            f"{result['train_seconds']:.1f} s on {result['device']})",
            {"val (tune split)": acc["val"], "test": acc["test"]},
        )
    )
    paths = p.layout
    out.print(f"wrote {paths.ann_pt}, {paths.ann_json}, {paths.split_json}")


@guarded
def convert(project: ProjectArg, force: ForceOpt = False, threads: ThreadsOpt = None) -> None:
    """Fold BatchNorm and normalise weights by activation percentiles into snn.pt."""
    p = open_project(project)
    with writing(p, "convert"), RichEvents(err) as events:
        result = stages.CONVERT.run(p, events, force=force, threads=threads)
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
    out.print(f"wrote {p.layout.snn_pt}, {p.layout.snn_json}")


@guarded
def simulate(
    project: ProjectArg,
    split: Annotated[str, typer.Option(help=words(SIMULATIONS))] = "test",
    timesteps: Annotated[int | None, typer.Option(help="T (default [simulate] timesteps)")] = None,
    batch_size: Annotated[int | None, typer.Option(help="images per batch file")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or cuda:N")] = None,
    dtype: Annotated[
        str | None, typer.Option(help=words(choices_of(SimulateSection, "dtype")))
    ] = None,
    limit: Annotated[int | None, typer.Option(help="simulate only the first N images")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="replace spikes made with other settings")
    ] = False,
    threads: ThreadsOpt = None,
) -> None:
    """Simulate the converted SNN on a split; resumes at the first missing batch."""
    from .. import simulate as simulate_stage
    from ..distributed import world

    p = open_project(project)
    stage = stages.simulation(split)
    here = world()
    with writing(p, "simulate"), rank_events(err) as events:
        manifest = stage.run(
            p,
            events,
            force=overwrite,
            threads=threads,
            timesteps=timesteps,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            limit=limit,
        )
    if not here.leader:  # rank 0 speaks for the run
        return
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
            f"(chunk {manifest['settings']['chunk']}"
            + (f"; per rank, {here.size} ranks)" if here.sharded else ")")
        )


NumericsOpt = Annotated[
    str | None,
    typer.Option(
        help="exact (bsf's) or reference (the authors' numbers to the bit); default: "
        "the project's [fusion] numerics, and reference on an authors' folder"
    ),
]


@guarded
def tune(project: ProjectArg, numerics: NumericsOpt = None, threads: ThreadsOpt = None) -> None:
    """Tune α(t) for every step on the tune split (grid search and empirical Bayes)."""
    from .. import tune as tune_stage
    from ..layout import Layout
    from ..reference_run import is_reference_folder
    from ..states import Numerics

    path = Path(project)
    with RichEvents(err) as events:
        if is_reference_folder(path):
            with stages.TUNE.computing(flag=threads, events=events):
                summary = tune_stage.run_reference(
                    path, events, numerics=numerics or Numerics.REFERENCE
                )
            paths = Layout(path).reference_output
        else:
            p = open_project(project)
            with writing(p, "tune"):
                summary = stages.TUNE.run(p, events, numerics=numerics, threads=threads)
            paths = p.layout
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
    files = summary.get("files") or [paths.alpha_npz, paths.alpha_json]
    out.print(f"wrote {', '.join(str(path) for path in files)}")
    if summary.get("variant"):
        out.print(
            f"(numerics unlike project.toml's: {paths.alpha_npz.name} is unchanged; "
            f"`bsf report --numerics {summary['variant']}` fuses with this one)"
        )


def _check_csv_folder(folder: Path) -> None:
    """--csv names a folder (made if missing) that can be written, or a one-line error."""
    from ..errors import BsfError

    for step in (folder, *folder.parents):
        if step.exists():
            if not step.is_dir():
                which = "a file" if step == folder else f"{step} is a file"
                raise BsfError(
                    f"--csv {folder}: {which}, not a folder; give a folder (created if "
                    "missing) for curves.csv and summary.csv"
                )
            if not os.access(step, os.W_OK | os.X_OK):
                raise BsfError(f"--csv {folder}: cannot write in {step} (permission denied)")
            return


@guarded
def report(
    project: ProjectArg,
    energy: Annotated[
        str | None, typer.Option(help=f"{words(EnergyModel)} (default [energy] model)")
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(
            help=f"fraction of the ANN accuracy ([fusion] target, {FusionSection.target})"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    csv_dir: Annotated[
        str | None, typer.Option("--csv", help="write curves.csv and summary.csv to this folder")
    ] = None,
    ann_accuracy: Annotated[
        float | None,
        typer.Option(
            help="authors' folders: the ANN accuracy the target uses (default: their "
            "ann_acc.csv, else the final head's SNN accuracy at T)"
        ),
    ] = None,
    numerics: NumericsOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Accuracy against energy on the test split: final-only, IC-only, BSF-grid, BSF-emp.

    With reference numerics the fusion, the SpikeSim rows (both AvgPool rows, their
    final-only sum) and the AUC are the authors'; report.json records the numerics and
    the α files it used. With an energy model, target or numerics other than
    project.toml's the report is a variant: kept as report-<variant>.json, while
    report.json stays the project's."""
    from .. import report as report_stage
    from ..reference_run import is_reference_folder
    from ..tune import check_numerics

    if energy is not None:
        report_stage.check_energy_model(energy)
    if numerics is not None:
        check_numerics(numerics)
    if csv_dir:
        _check_csv_folder(Path(csv_dir))  # before any work: a bad --csv must not cost a report
    path = Path(project)
    variant = None
    with RichEvents(err) as events:
        if is_reference_folder(path):
            from ..reference_run import report_reference

            with stages.REPORT.computing(flag=threads, events=events):
                result = report_reference(
                    path,
                    events,
                    energy=energy,
                    target=target,
                    ann_accuracy=ann_accuracy,
                    numerics=numerics,
                )
        else:
            p = open_project(project)
            with writing(p, "report"):
                result = stages.REPORT.run(
                    p, events, energy=energy, target=target, numerics=numerics, threads=threads
                )
            if result.get("variant"):
                variant = p.layout.report_variant(result["variant"])
    if variant is not None:
        err.print(
            f"wrote {variant}, a variant: {variant.with_name(layout.REPORT_JSON)} stays the "
            "project's report (set these options in project.toml and `bsf run` to change it)",
            markup=False,
        )
    exits = None if is_reference_folder(path) else _exit_view(p, result)
    if csv_dir:
        written = report_stage.write_csv(result, Path(csv_dir))
        if exits is not None:
            written += _exit_csv(exits, Path(csv_dir))
        for path_written in written:
            err.print(f"wrote {path_written}")
    if as_json:
        if exits is not None:
            result = {**result, "exit": _exit_json(exits)}
        out.print_json(json.dumps(result))
        return
    print_report(out, result)
    if exits is not None:
        print_exit(out, exits)


def _exit_view(project, report: dict):
    """The early-exit results for the report's target and energy model, where `bsf exit`
    has run and is current (else None: the report stands alone)."""
    from .. import views

    if not stages.EXIT.is_current(project):
        return None
    return views.exit_view(
        project.folder, fraction=report["target_fraction"], model=report["energy_model"]
    )


def _exit_json(view) -> dict:
    record = {k: v for k, v in view.record.items() if k not in ("stamp", "inputs")}
    record.update(
        target=view.target,
        target_fraction=view.target_fraction,
        energy_model=view.model,
        policies={name: point.as_dict() for name, point in view.points.items()},
    )
    return record


def _exit_csv(view, folder: Path) -> list[Path]:
    from ..early_exit import write_csv

    return write_csv(view.points, {"tune": view.tune, "test": view.test}, view.model, folder)


@guarded
def exit_(
    project: ProjectArg,
    policy: Annotated[
        str, typer.Option(help=f"whose exit-step histogram to draw: {words(ExitPolicy)}")
    ] = "posterior",
    energy: Annotated[
        str | None,
        typer.Option(help=f"show energies in {words(EnergyModel)} (default [energy] model)"),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(
            help="choose θ for this fraction of the ANN accuracy (default [fusion] target; "
            "exit.json keeps project.toml's)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
    csv_dir: Annotated[
        str | None,
        typer.Option("--csv", help="write exit.csv and exit_sweeps.csv to this folder"),
    ] = None,
    force: ForceOpt = False,
    threads: ThreadsOpt = None,
) -> None:
    """Per-sample early exit: each stopping policy (fixed t, confidence, entropy, the BSF
    posterior, the oracle bound) swept over its threshold on the tune and test spikes; θ
    chosen on tune to reach the target, applied to test. Writes exit.npz and exit.json.

    Redoes nothing that is current unless --force; --energy and --target only change
    what is shown (θ is chosen again from the recorded sweeps)."""
    from .. import report as report_stage
    from .. import views

    if policy not in choices(ExitPolicy):
        from ..errors import BsfError

        raise BsfError(f"--policy {policy}: choose {words(ExitPolicy)}")
    if energy is not None:
        report_stage.check_energy_model(energy)
    if target is not None:
        report_stage.check_target(target)
    if csv_dir:
        _check_csv_folder(Path(csv_dir))
    p = open_project(project)
    if force or not stages.EXIT.is_current(p):
        with writing(p, "exit"), RichEvents(err) as events:
            stages.EXIT.run(p, events, force=force, threads=threads)
    else:
        err.print(f"{p.layout.exit_json} is up to date (--force redoes it)")
    view = views.exit_view(p.folder, fraction=target, model=energy)
    if csv_dir:
        for written in _exit_csv(view, Path(csv_dir)):
            err.print(f"wrote {written}")
    if as_json:
        out.print_json(json.dumps(_exit_json(view)))
        return
    print_exit(out, view, policy)
