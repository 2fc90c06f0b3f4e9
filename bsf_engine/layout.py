"""Where everything lives in a project folder: every artifact path, named once, and the
one reader of JSON artifacts.

A path inside the project is also its *key* (`spikes/tune/manifest.json`): artifacts
record the digests of their inputs under these keys, and `bsf status` compares them.
The batch files inside a split folder are the spike store's business
(`bsf_engine.spikes.store`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from .errors import DataError, MissingArtifactError

CONFIG = "project.toml"
ANN_PT = "ann.pt"
ANN_JSON = "ann.json"
SPLIT_JSON = "split.json"
TRAIN_CHECKPOINT = "train.ckpt"
SNN_PT = "snn.pt"
SNN_JSON = "snn.json"
SPIKES = "spikes"
MANIFEST = "manifest.json"
ALPHA_NPZ = "alpha.npz"
ALPHA_JSON = "alpha.json"
# α tuned with numerics other than project.toml's (`bsf tune --numerics reference`): kept
# beside alpha.npz, read only by a report asked for with those numerics
ALPHA_VARIANT = "alpha-{variant}"
REPORT_JSON = "report.json"
# a report made with options other than project.toml's (`bsf report --energy syops`):
# kept beside the project's report.json, never read as it
REPORT_VARIANT = "report-{variant}.json"
# per-sample early exit: each stopping policy's sweep over its thresholds on both splits
# (exit.npz) and the operating points chosen on tune and read on test (exit.json)
EXIT_NPZ = "exit.npz"
EXIT_JSON = "exit.json"
RUNS = "runs"
LOCK = ".bsf.lock"
# a folder written by the authors' scripts: their settings, and where bsf's results go
REFERENCE_COMMAND = "command.json"
REFERENCE_OUTPUT = "bsf"


def spikes_key(split: str) -> str:
    return f"{SPIKES}/{split}"


def manifest_key(split: str) -> str:
    return f"{SPIKES}/{split}/{MANIFEST}"


@dataclass(frozen=True)
class Layout:
    """The paths of one project folder (or of the `bsf/` results folder of a reference run,
    which holds the same alpha and report files)."""

    folder: Path

    def path(self, key: str) -> Path:
        return self.folder / key

    def key(self, path: Path) -> str:
        return Path(path).relative_to(self.folder).as_posix()

    @property
    def config(self) -> Path:
        return self.folder / CONFIG

    @property
    def ann_pt(self) -> Path:
        return self.folder / ANN_PT

    @property
    def ann_json(self) -> Path:
        return self.folder / ANN_JSON

    @property
    def split_json(self) -> Path:
        return self.folder / SPLIT_JSON

    @property
    def train_checkpoint(self) -> Path:
        return self.folder / TRAIN_CHECKPOINT

    @property
    def snn_pt(self) -> Path:
        return self.folder / SNN_PT

    @property
    def snn_json(self) -> Path:
        return self.folder / SNN_JSON

    @property
    def spikes_root(self) -> Path:
        return self.folder / SPIKES

    def spikes(self, split: str) -> Path:
        return self.folder / spikes_key(split)

    def manifest(self, split: str) -> Path:
        return self.folder / manifest_key(split)

    @property
    def alpha_npz(self) -> Path:
        return self.folder / ALPHA_NPZ

    @property
    def alpha_json(self) -> Path:
        return self.folder / ALPHA_JSON

    def alpha_variant(self, variant: str) -> tuple[Path, Path]:
        """Where α tuned with other numerics than project.toml's is kept (npz, json)."""
        stem = self.folder / ALPHA_VARIANT.format(variant=variant)
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    @property
    def report_json(self) -> Path:
        return self.folder / REPORT_JSON

    def report_variant(self, variant: str) -> Path:
        """Where a report made with other options than project.toml's is kept; `variant`
        names them (`syops`, `reference-target0.9`)."""
        return self.folder / REPORT_VARIANT.format(variant=variant)

    @property
    def exit_npz(self) -> Path:
        return self.folder / EXIT_NPZ

    @property
    def exit_json(self) -> Path:
        return self.folder / EXIT_JSON

    @property
    def runs(self) -> Path:
        return self.folder / RUNS

    @property
    def lock(self) -> Path:
        return self.folder / LOCK

    @property
    def reference_output(self) -> Layout:
        return Layout(self.folder / REFERENCE_OUTPUT)


def is_project(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / CONFIG).is_file()


def find_projects(projects_dir: str | os.PathLike[str]) -> list[Path]:
    """The project folders under a folder (or the folder itself, if it is one), by name."""
    projects_dir = Path(projects_dir)
    if is_project(projects_dir):
        return [projects_dir]
    if not projects_dir.is_dir():
        return []
    return sorted(p for p in projects_dir.iterdir() if is_project(p))


def require_folder(path: Path, root: Path | None = None) -> None:
    """A one-line error if `path`, or a folder on the way to it from `root`, is a file."""
    path = Path(path)
    for step in (path, *path.parents):
        if root is not None and step == Path(root):
            break
        if step.exists() and not step.is_dir():
            raise DataError(
                f"{step}: a file where bsf keeps a folder; move it away or delete it, then rerun"
            )


def make_folder(path: Path, root: Path | None = None) -> Path:
    """`path` created (with its parents) if missing, or a one-line error naming why not."""
    require_folder(path, root)
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"{path}: cannot create the folder ({exc.strerror or exc.__class__.__name__}); "
            "check the project folder's permissions and free disk space"
        ) from None
    return Path(path)


def read_json(path: Path, redo: str = "delete it and rerun its stage") -> dict[str, Any]:
    """A JSON artifact as a dict, or a one-line error: missing (MissingArtifactError), or
    unreadable, not UTF-8, not JSON, not an object (DataError, saying how to `redo` it)."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingArtifactError(f"{path}: missing") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: corrupt (not UTF-8 text); {redo}") from None
    except json.JSONDecodeError:
        raise DataError(f"{path}: corrupt (not JSON); {redo}") from None
    except OSError as exc:
        raise DataError(f"{path}: unreadable ({exc.strerror or exc}); {redo}") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: corrupt (not a JSON object); {redo}")
    return value


def read_npz(path: Path, missing: str, redo: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz artifact, or a one-line error saying what to run when it is
    `missing` and how to `redo` it when it is unreadable."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise MissingArtifactError(f"{path}: missing; {missing}") from None
    except Exception as exc:  # np.load raises whatever its zip and format readers raise
        raise MissingArtifactError(
            f"{path}: unreadable ({exc.__class__.__name__}); {redo}"
        ) from None


def read_npz_or_none(path: Path) -> dict[str, np.ndarray] | None:
    try:
        return read_npz(path, "", "")
    except MissingArtifactError:
        return None


def read_json_or_none(path: Path) -> dict[str, Any] | None:
    """`read_json` for readers that show what there is (status, the TUI): None when the
    file is missing or unreadable."""
    try:
        return read_json(path)
    except (MissingArtifactError, DataError):
        return None
