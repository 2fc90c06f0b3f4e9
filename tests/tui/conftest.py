"""Projects for the TUI tests, a fake launcher, pinned times.

Snapshots are taken of a project made from set values (tests/handmade.py): what they
show must not depend on the machine. The Pilot flows run on a project the engine really
trained, converted and simulated, and assert on structure, not pixels.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from bsf_engine import convert, report, simulate, train, tune
from bsf_engine.project import Project
from bsf_engine.runs import launch, store

from ..handmade import PROJECT, make_finished_project

FAKE_WORKER = Path(__file__).with_name("fake_worker.py")


class FakeLauncher:
    """Launches the fake stage the way the app launches real runs (detached, locked)."""

    def __init__(
        self,
        steps: int = 12,
        fail: bool = False,
        stages: tuple[str, ...] = ("train",),
        files: Path | None = None,
    ) -> None:
        """`stages` run `steps` each; the files in `files` land in the project at the end."""
        self.steps, self.fail, self.stages, self.files = steps, fail, stages, files
        self.launched: list[tuple] = []

    def launch(self, folder: Path, start, until) -> str:
        project = Project.open(folder)
        launch.refuse_if_locked(project)
        run = launch.prepare(
            project, list(self.stages), {"from": start, "until": until}, detached=True
        )
        command = [sys.executable, str(FAKE_WORKER), str(self.steps), "1" if self.fail else "0"]
        command += [",".join(self.stages), str(self.files or "")]
        launch.detach(project, run, command)
        self.launched.append((folder, start, until))
        return run.id

    def cancel(self, run_folder: Path) -> str:
        return launch.cancel(store.read(run_folder), wait=0.0)


@pytest.fixture(scope="session")
def made_project(tmp_path_factory) -> Path:
    """A finished project: every stage's real artifacts, no runs."""
    folder = tmp_path_factory.mktemp("tui") / "projects" / "tiny"
    folder.mkdir(parents=True)
    (folder / "project.toml").write_text(PROJECT)
    project = Project.open(folder)
    train.run(project)
    convert.run(project)
    simulate.run(project, split="tune")
    simulate.run(project, split="test")
    tune.run(project)
    report.run(project)
    return folder


def projects_folder(finished: Path, tmp_path: Path, monkeypatch) -> Path:
    """`projects/` (relative: screens show no temporary paths) in a fresh working folder,
    holding a copy of a finished project as `tiny` and an empty one as `blank`."""
    monkeypatch.chdir(tmp_path)
    root = Path("projects")
    shutil.copytree(finished, root / "tiny")
    (root / "blank").mkdir()
    (root / "blank" / "project.toml").write_text(PROJECT)
    return root


@pytest.fixture
def projects(made_project, tmp_path, monkeypatch) -> Path:
    """`projects/` with the project the engine made."""
    return projects_folder(made_project, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def handmade_project(tmp_path_factory) -> Path:
    """A finished project whose every artifact holds set values (no training)."""
    return make_finished_project(tmp_path_factory.mktemp("tui-handmade") / "tiny")


@pytest.fixture
def handmade(handmade_project, tmp_path, monkeypatch) -> Path:
    """`projects/` with the hand-made project."""
    return projects_folder(handmade_project, tmp_path, monkeypatch)


@pytest.fixture
def pinned(monkeypatch):
    """Times and durations as fixed text, so screens are the same on every run."""
    from bsf_tui import format as fmt

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(fmt, "when", lambda iso: "01-01 12:00" if iso else "")
    monkeypatch.setattr(fmt, "clock", lambda s: "12:00:00" if s is not None else "")
    monkeypatch.setattr(fmt, "duration", lambda s: "4.2 s" if s is not None else "")
    yield
    time.tzset()


def add_finished_run(folder: Path, run_id: str = "20260101-120000-abcd") -> Path:
    """A run folder as a finished `bsf run` leaves it (fixed times)."""
    run = folder / "runs" / run_id
    run.mkdir(parents=True)
    (run / "run.json").write_text(
        json.dumps(
            {
                "id": run_id,
                "project": str(folder),
                "state": "done",
                "stage": "report",
                "stages": ["tune", "simulate-test", "report"],
                "started_at": 1767268800.0,
                "ended_at": 1767268804.2,
                "detached": True,
                "pid": 4242,
                "host": "elsewhere",
            }
        )
    )
    base = 1767268800.0
    lines = [
        {"kind": "start", "stages": ["tune", "simulate-test", "report"]},
        {"kind": "stage", "stage": "tune", "state": "running"},
        {
            "kind": "progress",
            "stage": "tune",
            "task": "step",
            "done": 48,
            "total": 48,
            "unit": "step",
        },
        {"kind": "artifact", "stage": "tune", "path": "projects/tiny/alpha.npz"},
        {"kind": "stage", "stage": "tune", "state": "done", "seconds": 0.4},
        {"kind": "stage", "stage": "report", "state": "running"},
        {
            "kind": "progress",
            "stage": "report",
            "task": "batch",
            "done": 3,
            "total": 3,
            "unit": "batch",
        },
        {"kind": "end", "stage": "report", "state": "done", "error": None},
    ]
    with open(run / "events.jsonl", "w") as handle:
        for i, line in enumerate(lines):
            handle.write(json.dumps({"time": base + i * 0.5, **line}) + "\n")
    return run


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
