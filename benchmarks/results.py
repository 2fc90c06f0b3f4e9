"""The results table of docs/results.md, from finished projects.

    python benchmarks/results.py projects/digits projects/mnist5k-vgg11 ...

Each project must be done (`bsf run PROJECT` first). For each, this tunes α with the
numerics project.toml does not use (`bsf tune --numerics …`, a variant beside alpha.npz),
then asks for the four reports — exact and reference numerics × SpikeSim and SyOPs
energy — through the `bsf` command a user would type (`bsf report … --json`; those unlike
project.toml's are kept as report-<variant>.json), and prints markdown: one table of the
networks and their accuracies, one of steps and energy to the target per method, and
the machine it ran on; then per project the early-exit table (`bsf exit … --json`, with
SpikeSim and SyOPs energy). Nothing is retrained or resimulated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bsf_engine import layout, stages  # noqa: E402
from bsf_engine.project import Project  # noqa: E402
from bsf_engine.states import EnergyModel, Numerics  # noqa: E402

METHODS = ("final", "bsf_grid", "bsf_emp")
BSF = ("bsf_grid", "bsf_emp")


def bsf(*args: str) -> str:
    """Run `bsf ARGS` with this interpreter's bsf; its stdout, or exit naming the error."""
    command = [sys.executable, "-m", "bsf_engine", *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        sys.exit(f"`bsf {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def reports(project: Project) -> dict[tuple[str, str], dict]:
    """(numerics, energy model) → the report, for all four; tunes the other numerics first."""
    folder = str(project.folder.resolve())
    other = next(n for n in Numerics if n != project.config.fusion.numerics)
    bsf("tune", folder, "--numerics", str(other))
    out = {}
    for numerics in Numerics:
        for model in EnergyModel:
            text = bsf(
                "report", folder, "--numerics", str(numerics), "--energy", str(model), "--json"
            )
            out[str(numerics), str(model)] = json.loads(text)
    return out


def took(project: Project, name: str) -> float | None:
    stage = stages.BY_NAME[name]
    meta = layout.read_json_or_none(project.layout.path(stage.record))
    return None if meta is None else stage.seconds(meta)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def energy(value: float | None) -> str:
    return "—" if value is None else f"{value * 1e6:.4g}"


def reduction(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def network_row(project: Project, report: dict) -> str:
    cfg = project.config
    ann = layout.read_json(project.layout.ann_json)
    sizes = ann["split"]["sizes"]
    ic = report["ic_head"]
    test = ann["accuracy"]["test"]
    methods = report["methods"]
    width = f" ×{cfg.model.width:g}" if cfg.model.width != 1 else ""
    cells = [
        project.name,
        cfg.data.dataset,
        f"{cfg.model.arch}{width}",
        ic.removeprefix("ic"),
        str(report["timesteps"]),
        "yes" if cfg.simulate.output_delay else "no",
        f"{sizes['train']}/{sizes['tune']}/{sizes['test']}",
        f"{pct(test['final'])} / {pct(test[ic])}",
        f"{pct(methods['final']['accuracy_at_T'])} / {pct(methods['ic']['accuracy_at_T'])}",
        pct(report["target"]),
        " / ".join(
            "—" if took(project, s) is None else f"{took(project, s) / 60:.1f}"
            for s in ("train", "simulate-tune", "simulate-test")
        ),
    ]
    return "| " + " | ".join(cells) + " |"


def result_row(name: str, numerics: str, spikesim: dict, syops: dict) -> str:
    a, b = spikesim["methods"], syops["methods"]
    cells = [
        name,
        numerics,
        " / ".join(str(a[m]["steps_to_target"] or "—") for m in METHODS),
        " / ".join(energy(a[m]["energy_to_target_J"]) for m in METHODS),
        " / ".join(reduction(a[m]["reduction_pct"]) for m in BSF),
        " / ".join(energy(b[m]["energy_to_target_J"]) for m in METHODS),
        " / ".join(reduction(b[m]["reduction_pct"]) for m in BSF),
        f"{pct(a['bsf_grid']['accuracy_at_T'])} / {pct(a['bsf_emp']['accuracy_at_T'])}",
    ]
    return "| " + " | ".join(cells) + " |"


def exits(project: Project) -> dict[str, dict]:
    """Energy model → `bsf exit --json` (θ chosen on tune, read on test)."""
    folder = str(project.folder.resolve())
    return {
        str(model): json.loads(bsf("exit", folder, "--json", "--energy", str(model)))
        for model in EnergyModel
    }


def change(reduction: float | None) -> str:
    return "—" if reduction is None else f"{0.0 - reduction:+.1f}"


def exit_rows(name: str, made: dict[str, dict]) -> list[str]:
    spikesim, syops = made[EnergyModel.SPIKESIM], made[EnergyModel.SYOPS]
    rows = []
    for policy, point in spikesim["policies"].items():
        test = point["test"]
        if test["accuracy"] is None:
            rows.append(f"| {name} | {policy} | misses on tune |" + " — |" * 7)
            continue
        other = syops["policies"][policy]
        cells = [
            name,
            policy,
            f"{point['threshold']:.4g}",
            f"{pct(point['tune']['accuracy'])} / {pct(test['accuracy'])}",
            f"{test['mean_steps']:.1f} / {test['median_steps']:.0f} / {test['p95_steps']:.0f}",
            energy(test["energy_J"]),
            f"{change(point['reduction_vs_fixed_bsf_pct'])} / "
            f"{change(point['reduction_vs_final_pct'])}",
            energy(other["test"]["energy_J"]),
            f"{change(other['reduction_vs_fixed_bsf_pct'])} / "
            f"{change(other['reduction_vs_final_pct'])}",
            energy(point["test_read"]["energy_J"]),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def machine() -> str:
    import torch

    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"load average now {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="+", help="finished project folders")
    args = parser.parse_args()
    projects = [Project.open(p) for p in args.projects]
    for project in projects:
        missing = [s.name for s in stages.STAGES if not s.is_current(project)]
        if missing:
            sys.exit(f"{project.folder}: not done ({', '.join(missing)}); run `bsf run` first")
    made = {project.name: reports(project) for project in projects}

    print(
        "| project | dataset | model | IC | T | delay | train/tune/test | ANN final / IC % "
        "| SNN final / IC at T % | target % | train / sim-tune / sim-test min |"
    )
    print("|" + "---|" * 11)
    for project in projects:
        print(network_row(project, made[project.name][Numerics.EXACT, EnergyModel.SPIKESIM]))
    print()
    print(
        "| project | numerics | steps to target (final / grid / emp) "
        "| SpikeSim µJ (final / grid / emp) | SpikeSim reduction % (grid / emp) "
        "| SyOPs µJ (final / grid / emp) | SyOPs reduction % (grid / emp) "
        "| BSF at T % (grid / emp) |"
    )
    print("|" + "---|" * 8)
    for project in projects:
        for numerics in Numerics:
            rows = made[project.name]
            print(
                result_row(
                    project.name,
                    str(numerics),
                    rows[str(numerics), EnergyModel.SPIKESIM],
                    rows[str(numerics), EnergyModel.SYOPS],
                )
            )
    print()
    print(
        "| project | policy | θ | tune / test acc. % | exit step mean / median / p95 "
        "| SpikeSim µJ | SpikeSim Δ % vs fixed-t BSF / final | SyOPs µJ "
        "| SyOPs Δ % vs fixed-t BSF / final | SpikeSim µJ, θ read on test |"
    )
    print("|" + "---|" * 10)
    for project in projects:
        for row in exit_rows(project.name, exits(project)):
            print(row)
    print()
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
