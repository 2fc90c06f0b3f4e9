"""A project folder: its config and the paths and stamps of its artifacts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .errors import BsfError, MissingArtifactError
from .versioning import stamp

CONFIG_NAME = "project.toml"

# Which config sections decide each stage's result (an artifact is stale when
# the hash of these changes).
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "train": ("data", "model", "train"),
    "convert": ("data", "model", "train", "convert"),
}


def resolve_project_dir(arg: str | os.PathLike[str]) -> Path:
    """A project given as its folder, its project.toml, or a name under ./projects/."""
    path = Path(arg)
    if path.is_file() and path.suffix == ".toml":
        return path.parent
    if (path / CONFIG_NAME).is_file():
        return path
    named = Path("projects") / path
    if not path.is_absolute() and (named / CONFIG_NAME).is_file():
        return named
    if path.is_dir():
        raise BsfError(f"{path}: no {CONFIG_NAME} here; create one with `bsf new {path}`")
    raise BsfError(f"{path}: no such project folder; create one with `bsf new {path}`")


class Project:
    def __init__(self, folder: Path, config: Config) -> None:
        self.folder = folder
        self.config = config

    @classmethod
    def open(cls, arg: str | os.PathLike[str]) -> Project:
        folder = resolve_project_dir(arg)
        return cls(folder, load_config(folder / CONFIG_NAME))

    @property
    def name(self) -> str:
        return self.config.project.name or self.folder.resolve().name

    # artifacts -----------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.folder / CONFIG_NAME

    @property
    def ann_pt(self) -> Path:
        return self.folder / "ann.pt"

    @property
    def ann_json(self) -> Path:
        return self.folder / "ann.json"

    @property
    def split_json(self) -> Path:
        return self.folder / "split.json"

    @property
    def train_checkpoint(self) -> Path:
        return self.folder / "train.ckpt"

    @property
    def snn_pt(self) -> Path:
        return self.folder / "snn.pt"

    @property
    def snn_json(self) -> Path:
        return self.folder / "snn.json"

    # stamps --------------------------------------------------------------
    def stage_hash(self, stage: str) -> str:
        return self.config.hash_of(*STAGE_SECTIONS[stage])

    def stamp(self, stage: str) -> dict[str, str]:
        return stamp(stage, self.stage_hash(stage))

    def read_json(self, path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingArtifactError(f"{path}: missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MissingArtifactError(
                f"{path}: corrupt ({exc.__class__.__name__}); delete it and rerun its stage"
            ) from None

    def require_current(self, artifact: Path, json_path: Path, stage: str, sections: str) -> None:
        """Raise (saying which command to run) unless `stage` made `artifact` from this config."""
        if not artifact.is_file() or not json_path.is_file():
            raise MissingArtifactError(
                f"{artifact}: missing; run `bsf {stage} {self.folder}` first"
            )
        if not self.is_current(json_path, stage):
            raise MissingArtifactError(
                f"{artifact}: made from a different {sections} config; rerun "
                f"`bsf {stage} {self.folder} --force`"
            )

    def require_same_split(self, digest: str, ann_meta: dict[str, Any]) -> None:
        """Raise unless the data splits as it did when the ANN was trained."""
        if digest != ann_meta["split"]["digest"]:
            raise MissingArtifactError(
                f"{self.ann_json}: trained on a different split than the data gives now; "
                f"rerun `bsf train {self.folder} --force`"
            )

    def is_current(self, json_path: Path, stage: str) -> bool:
        """The artifact exists and was made from the current config of its stage."""
        if not json_path.is_file():
            return False
        try:
            meta = self.read_json(json_path)
        except MissingArtifactError:
            return False
        return meta.get("stamp", {}).get("config_hash") == self.stage_hash(stage)


def create_project(
    folder: Path,
    dataset: str = "digits",
    arch: str | None = None,
    ic: list[int] | None = None,
    root: str | None = None,
):
    """Write `folder/project.toml` from the dataset's template; returns (path, config).

    Every problem is reported before anything is written; an existing project is
    never replaced.
    """
    from . import atomic
    from .config import parse_config
    from .config.template import PRESETS, render_template
    from .config.validate import did_you_mean
    from .errors import BsfError
    from .models.archs import ARCHS

    if dataset not in PRESETS:
        raise BsfError(
            f"--dataset {dataset}: unknown dataset{did_you_mean(dataset, PRESETS)} "
            f"(choose one of {', '.join(PRESETS)})"
        )
    if arch is not None and arch not in ARCHS:
        raise BsfError(
            f"--arch {arch}: unknown architecture{did_you_mean(arch, ARCHS)} "
            f"(choose one of {', '.join(ARCHS)})"
        )
    folder = Path(folder)
    target = folder / CONFIG_NAME
    if target.exists():
        raise BsfError(f"{target}: already exists; edit it, or choose another name")
    ic_value: int | list[int] | None = None
    if ic:
        ic_value = ic[0] if len(ic) == 1 else list(ic)
    text = render_template(dataset, arch, ic_value, root, name=folder.name)
    config = parse_config(text)
    atomic.write_text(target, text)
    return target, config
