from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from bsf_engine.cli import app

# Fast, deterministic CPU tests on the 2-core CI machine.
torch.set_num_threads(min(2, os.cpu_count() or 1))

TINY_DIGITS = """
[data]
batch_size = 64
eval_batch_size = 200

[model]
arch = "vggtiny"
ic = 2
width = 0.25

[train]
epochs = 3
lr = 0.05

[convert]
calibration_samples = 100
"""
FAST_DIGITS = TINY_DIGITS + "\n[simulate]\ntimesteps = 40\nbatch_size = 200\n"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def make_project(tmp_path: Path):
    def make(text: str = TINY_DIGITS, name: str = "proj") -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "project.toml").write_text(text)
        return folder

    return make


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory):
    """A tiny project after one whole `bsf run`, and what that printed."""
    folder = tmp_path_factory.mktemp("pipe") / "proj"
    folder.mkdir()
    (folder / "project.toml").write_text(FAST_DIGITS)
    result = run_cli("run", folder)
    return folder, result


@pytest.fixture
def with_extra_stage(monkeypatch):
    """The stage registry with tests/extra_stage.py's entry after the report."""
    from bsf_engine import stages

    from . import extra_stage

    registry = (*stages.STAGES, extra_stage.ENTRY)
    monkeypatch.setattr(stages, "STAGES", registry)
    monkeypatch.setattr(stages, "NAMES", tuple(s.name for s in registry))
    monkeypatch.setattr(stages, "BY_NAME", {s.name: s for s in registry})


@pytest.fixture
def handmade_folder(tmp_path) -> Path:
    """A finished project made from set values (tests/handmade.py), no training."""
    from .handmade import make_finished_project

    return make_finished_project(tmp_path / "tiny")


@pytest.fixture
def project_copy(finished_project, tmp_path) -> Path:
    """A copy of `finished_project` to change."""
    folder = tmp_path / "copy"
    shutil.copytree(finished_project[0], folder)
    return folder
