"""`bsf info` (a project's network: parameters, MACs, IC taps, artifact states) and
`bsf inspect` (spike files: summary, one sample's trains, accuracy over time)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from .app import ProjectArg, guarded, open_project, out

INFO_STAGES = ("train", "convert")


def _artifact_states(p) -> dict[str, dict[str, Any]]:
    """train's and convert's results as `bsf status` sees them, with their files."""
    from .. import layout, pipeline, stages
    from ..states import StageState

    status = pipeline.status(p)
    artifacts: dict[str, dict[str, Any]] = {}
    for name in INFO_STAGES:
        s = status[name]
        entry: dict[str, Any] = {
            "state": s.state,
            "path": str(p.layout.path(stages.get(name).outputs[0])),
            "created": s.created,
        }
        if name == "train" and s.state != StageState.MISSING:
            ann = layout.read_json_or_none(p.layout.ann_json) or {}
            entry["final_test_accuracy"] = ann.get("final_test_accuracy")
        artifacts[name] = entry
    return artifacts


def _cost_table(title: str, rows) -> Table:
    table = Table(title=title, title_justify="left")
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
    feature_total = sum(r.macs for r in rows if r.kind != "head")
    cumulative = 0
    for r in rows:
        shape = "×".join(map(str, r.out_shape))
        tap, cum = "", ""
        if r.kind != "head":
            cumulative += r.macs
            tap = ", ".join(f"→ {head}" for head in r.ics)
            cum = f"{100 * cumulative / feature_total:.1f}%"
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
    return table


@guarded
def info(
    project: ProjectArg,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Parameters and MACs per block, IC taps, and which artifacts exist."""
    from ..data import dataset_shape
    from ..models.complexity import ic_mac_fraction, layer_costs
    from ..models.spec import ModelSpec, ic_name

    p = open_project(project)
    c = p.config
    channels, size, classes = dataset_shape(c)
    spec = ModelSpec(
        c.model.arch, channels, size, classes, tuple(c.ics), c.model.width, c.model.batchnorm
    )
    rows = layer_costs(spec)
    artifacts = _artifact_states(p)
    if as_json:
        layers = [
            {
                "name": r.name,
                "kind": r.kind,
                "out_shape": list(r.out_shape),
                "params": r.params,
                "macs": r.macs,
            }
            for r in rows
        ]
        payload = {
            "project": p.name,
            "folder": str(p.folder),
            "dataset": c.data.dataset,
            "spec": spec.to_dict(),
            "layers": layers,
            "ic_mac_fraction": {ic_name(i): ic_mac_fraction(spec, i) for i in spec.ics},
            "artifacts": artifacts,
        }
        out.print_json(json.dumps(payload))
        return
    title = (
        f"{p.name}: {c.model.arch} (width {c.model.width:g}) on "
        f"{c.data.dataset} {channels}×{size}×{size}, {classes} classes"
    )
    out.print(_cost_table(title, rows))
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


def _summary_table(summary: dict[str, Any]) -> Table:
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
        state = f"{state}, {summary['bytes'] / 1e6:.2f} MB"
        if summary.get("problem"):  # a listed batch file is gone or truncated
            state = f"incomplete: {summary['problem']}"
        table.add_row("state", state)
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
    return table


def _print_accuracy(source, heads: list[str], width: int, color: bool) -> None:
    from ..spikes.summary import accuracy_over_time
    from . import plots

    series = {}
    for head in heads:
        steps, acc = accuracy_over_time(source, head)
        series[head] = (steps, acc)
        out.print(f"{head}: accuracy {100 * acc[-1]:.2f}% at T = {steps[-1]}")
    title = "accuracy of the running prediction"
    chart = plots.curves(
        title, series, width, 14, "accuracy", color=color, xlabel="timestep", timesteps=len(acc)
    )
    print(chart)


def _print_sample(source, batch: int, sample: int, names, width: int, color: bool) -> None:
    from ..spikes.summary import sample_view
    from . import plots

    label, traces, position = sample_view(source, batch, sample)
    where = f", split position {position}" if position >= 0 else ""
    from ..views import sample_place

    out.print(f"{sample_place(batch, sample)}{where}: label {label}")
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
    from ..spikes import open_spikes
    from ..spikes.summary import summarize

    source = open_spikes(path)
    summary = summarize(source)
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(_summary_table(summary))
    width = max(40, min(out.width, 160))
    color = out.is_terminal
    if accuracy:
        _print_accuracy(source, summary["heads"], width, color)
    if summary["samples"] == 0:
        return
    _print_sample(source, batch, sample, summary["class_names"], width, color)
