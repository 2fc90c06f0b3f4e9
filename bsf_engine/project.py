"""A project folder: its config and its layout (bsf_engine.layout names every path)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import layout
from .config import Config, load_config
from .errors import BsfError, MissingArtifactError
from .layout import Layout

CONFIG_NAME = layout.CONFIG


def resolve_project_dir(arg: str | os.PathLike[str]) -> Path:
    """A project given as its folder, its project.toml, or a name under ./projects/."""
    path = Path(arg)
    if path.is_file() and path.suffix == ".toml":
        return path.parent
    if layout.is_project(path):
        return path
    named = Path("projects") / path
    if not path.is_absolute() and layout.is_project(named):
        return named
    if path.is_dir():
        raise BsfError(f"{path}: no {CONFIG_NAME} here; create one with `bsf new {path}`")
    raise BsfError(f"{path}: no such project folder; create one with `bsf new {path}`")


class Project:
    def __init__(self, folder: Path, config: Config) -> None:
        self.folder = folder
        self.config = config
        self.layout = Layout(folder)

    @classmethod
    def open(cls, arg: str | os.PathLike[str]) -> Project:
        folder = resolve_project_dir(arg)
        return cls(folder, load_config(folder / CONFIG_NAME))

    @property
    def name(self) -> str:
        return self.config.project.name or self.folder.resolve().name

    def require_same_split(self, digest: str, ann_meta: dict[str, Any]) -> None:
        """Raise unless the data splits as it did when the ANN was trained."""
        if digest != ann_meta["split"]["digest"]:
            raise MissingArtifactError(
                f"{self.layout.ann_json}: trained on a different split than the data gives "
                f"now; rerun `bsf train {self.folder} --force`"
            )


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
    from .errors import did_you_mean
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
