"""Results made by the authors' scripts, read as they are: spikes, α files, command.json.

A reference run folder holds `command.json` (dataset, model, ic_index, …), test
spikes in `snn*/output_{i}.npz`, tuning spikes in `train/`, and α curves in
`alpha_output_{grid|emp}.npz` (raw, key `alpha`) and
`division_linear_alpha_{grid|emp}.npz` (their piecewise-linear version, key `y`).
`ann_acc.csv` (their ANN test accuracy per head) sets the target when present.
`bsf report` on such a folder computes the same curves and energies as on a
project, with reference numerics by default (their fusion rule, SpikeSim rows and
AUC: their plot script's numbers to the bit); results go to `<folder>/bsf/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import alpha as search
from . import atomic, layout
from .config.schema import EnergySection, FusionSection
from .errors import DataError
from .events import Events
from .layout import Layout
from .models.archs import ARCHS
from .models.spec import ModelSpec
from .report import build_report, check_energy_model, check_target
from .spikes import open_spikes
from .states import Numerics

SHAPES = {"mnist": (1, 28, 10), "cifar10": (3, 32, 10), "cifar100": (3, 32, 100)}


def _find(folder: Path, names: list[str]) -> Path | None:
    """The first of `names` in the folder itself, else one level down."""
    for pattern in ("{}", "*/{}"):
        for name in names:
            hits = sorted(folder.glob(pattern.format(name)))
            if hits:
                return hits[0]
    return None


def read_command(folder: Path) -> dict[str, Any]:
    path = folder / layout.REFERENCE_COMMAND
    if not path.is_file():
        raise DataError(f"{folder}: no {path.name} (the reference run's settings)")
    return layout.read_json(path, "it holds the reference run's settings; restore it")


def spec_from_command(command: dict[str, Any], classes: int) -> ModelSpec:
    dataset = str(command.get("dataset", "")).lower().replace("-", "")
    arch = str(command.get("model", command.get("arch", ""))).lower()
    if dataset not in SHAPES:
        raise DataError(f"command.json: dataset {dataset!r} unknown (mnist, cifar10, cifar100)")
    if arch not in ARCHS:
        raise DataError(f"command.json: model {arch!r} unknown ({', '.join(ARCHS)})")
    ic = command.get("ic_index")
    if not isinstance(ic, int):
        raise DataError("command.json: ic_index missing or not an integer")
    channels, size, _ = SHAPES[dataset]
    return ModelSpec(arch, channels, size, classes, (ic,))


def _their_npz(path: Path, key: str) -> dict[str, np.ndarray]:
    arrays = layout.read_npz(path, "", "it was written by the authors' scripts; restore it")
    if key not in arrays:
        raise DataError(f"{path}: no {key!r} array (not one of the authors' α files?)")
    return arrays


def reference_alpha(
    folder: Path, timesteps: int, numerics: str = Numerics.REFERENCE
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The run's α curves and the file each came from: their piecewise-linear files, else
    their raw ones (approximated here), else bsf's own `bsf tune` of the folder."""
    curves: dict[str, np.ndarray] = {}
    files: dict[str, str] = {}
    for kind in ("grid", "emp"):
        linear = _find(folder, THEIR_ALPHA_FILES["linear"](kind))
        raw = _find(folder, THEIR_ALPHA_FILES["raw"](kind))
        if linear is not None:
            npz = _their_npz(linear, "y")
            curves[f"alpha_{kind}_approx"] = np.asarray(npz["y"], dtype=np.float64)
            files[kind] = str(linear.relative_to(folder))
        elif raw is not None:
            values = np.asarray(_their_npz(raw, "alpha")["alpha"], dtype=np.float64)
            curves[f"alpha_{kind}_approx"] = search.approximate(
                values, search.knots_for(len(values)), numerics
            )
            files[kind] = f"{raw.relative_to(folder)} (approximated by bsf)"
    ours = Layout(folder).reference_output.alpha_npz
    if len(curves) < 2 and ours.is_file():
        npz = layout.read_npz(ours, "", f"rerun `bsf tune {folder}`")
        meta = layout.read_json_or_none(Layout(folder).reference_output.alpha_json) or {}
        for kind in ("grid", "emp"):
            if f"alpha_{kind}_approx" not in curves:
                curves[f"alpha_{kind}_approx"] = npz[f"alpha_{kind}_approx"]
                made = f"{meta.get('numerics', '?')} numerics"
                files[kind] = f"{ours.relative_to(folder)} (bsf tune, {made})"
    if len(curves) < 2:
        raise DataError(
            f"{folder}: no α curves (division_linear_alpha_*.npz, "
            "alpha_output_*.npz); run `bsf tune` on the folder first"
        )
    for key, value in curves.items():
        if len(value) != timesteps:
            raise DataError(f"{folder}: {key} has {len(value)} steps, the spikes {timesteps}")
    return curves, files


# the names their scripts give α files (the `_sequential` ones come from their DVS runs,
# and are what their plot script reads at its latest revision)
THEIR_ALPHA_FILES = {
    "linear": lambda kind: [
        f"division_linear_alpha_{kind}.npz",
        f"division_linear_alpha_{kind}_sequential.npz",
    ],
    "raw": lambda kind: [f"alpha_output_{kind}.npz", f"alpha_output_{kind}_sequential.npz"],
}
ANN_ACCURACY_FILE = "ann_acc.csv"  # their train script: one "head,accuracy" row per head


def their_ann_accuracy(folder: Path) -> float | None:
    """The final head's test accuracy their training wrote (`ann_acc.csv`, last row, last
    field, as their plot script reads it), or None without the file."""
    path = folder / ANN_ACCURACY_FILE
    if not path.is_file():
        return None
    rows = [line.split(",") for line in path.read_text(errors="replace").splitlines() if line]
    try:
        return float(rows[-1][-1])
    except (IndexError, ValueError):
        raise DataError(
            f"{path}: not their 'head,accuracy' rows; fix it or pass --ann-accuracy"
        ) from None


def report_reference(
    folder: Path,
    events: Events | None = None,
    *,
    energy: str | None = None,
    target: float | None = None,
    ann_accuracy: float | None = None,
    numerics: str | None = None,
) -> dict[str, Any]:
    """The report of an authors' run folder. Numerics default to reference (their fusion
    rule, SpikeSim rows and AUC); energy and target default as in a project; the ANN
    accuracy to `ann_acc.csv` when they wrote one."""
    from .tune import check_numerics

    energy_cfg, fusion_cfg = EnergySection(), FusionSection()
    model = check_energy_model(energy or energy_cfg.model)
    fraction = check_target(fusion_cfg.target if target is None else target)
    numerics = check_numerics(numerics or Numerics.REFERENCE)
    command = read_command(folder)
    spikes = next(
        (p for p in sorted(folder.iterdir()) if p.is_dir() and p.name.startswith("snn")), None
    )
    if spikes is None:
        raise DataError(f"{folder}: no snn*/ folder of test spikes (output_<i>.npz)")
    source = open_spikes(spikes)
    spec = spec_from_command(command, source.num_classes)
    alpha, files = reference_alpha(folder, source.timesteps, numerics)
    if ann_accuracy is None:
        ann_accuracy = their_ann_accuracy(folder)
    ic = next(h for h in source.heads if h != "final")
    report = build_report(
        source,
        alpha,
        ic,
        spec,
        model,
        energy_cfg,
        fraction,
        ann_accuracy,
        events,
        numerics=numerics,
        alpha_files=files,
    )
    report["source"] = str(folder)
    out = Layout(folder).reference_output
    out.folder.mkdir(exist_ok=True)
    atomic.write_json(out.report_json, report)
    return report


def is_reference_folder(path: Path) -> bool:
    """A folder the authors' scripts wrote (not a project): their settings, spikes or α."""
    path = Path(path)
    if not path.is_dir() or layout.is_project(path):
        return False
    names = {p.name for p in path.iterdir()}
    return (
        layout.REFERENCE_COMMAND in names
        or "train" in names
        or any(n.startswith(("snn", "alpha_output", "division_linear")) for n in names)
    )
