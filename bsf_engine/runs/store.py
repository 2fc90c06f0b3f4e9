"""Run folders: run.json (atomic rewrites) and events.jsonl (appended lines)."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import atomic, layout
from ..errors import BsfError, DataError, MissingArtifactError
from ..layout import Layout, find_projects
from ..states import RunState
from ..versioning import now_iso
from . import process

RUN_JSON = "run.json"
EVENTS = "events.jsonl"
OUTPUT = "output.log"


class RunNotFoundError(BsfError):
    """No run with that id or path."""


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


@dataclass
class Run:
    folder: Path
    meta: dict[str, Any]

    @property
    def id(self) -> str:
        return self.meta.get("id", self.folder.name)

    @property
    def events_path(self) -> Path:
        return self.folder / EVENTS

    @property
    def project(self) -> Path:
        return Path(self.meta.get("project", self.folder.parent.parent))

    @property
    def state(self) -> RunState:
        """The recorded state, except that a live state whose process is gone is 'lost'."""
        state = RunState.of(self.meta.get("state"))
        if state.live:
            running = process.alive(
                self.meta.get("pid"), self.meta.get("proc_start"), self.meta.get("host")
            )
            if running is False:
                return RunState.LOST
        return state

    def update(self, **changes: Any) -> None:
        self.meta.update(changes)
        atomic.write_json(self.folder / RUN_JSON, self.meta)

    def seconds(self) -> float | None:
        start, end = self.meta.get("started_at"), self.meta.get("ended_at")
        if start is None:
            return None
        return (end if end is not None else time.time()) - start


def runs_folder(project_folder: Path) -> Path:
    return Layout(Path(project_folder)).runs


def run_folder(project_folder: Path, run_id: str) -> Path:
    return runs_folder(project_folder) / run_id


def create(project_folder: Path, run_id: str, **meta: Any) -> Run:
    root = layout.make_folder(runs_folder(project_folder), Path(project_folder))
    folder = root / run_id
    folder.mkdir()
    run = Run(
        folder,
        {
            "id": run_id,
            "project": str(Path(project_folder).resolve()),
            "state": RunState.QUEUED,
            "created": now_iso(),
            "host": process.hostname(),
            **meta,
        },
    )
    run.update()
    (folder / EVENTS).touch()
    return run


def read(folder: Path) -> Run:
    path = Path(folder) / RUN_JSON
    try:
        meta = layout.read_json(path)
    except MissingArtifactError:
        raise RunNotFoundError(f"{folder}: not a run folder (no {RUN_JSON})") from None
    except DataError:
        meta = {"id": Path(folder).name, "state": RunState.FAILED, "error": f"{path} is corrupt"}
    return Run(Path(folder), meta)


def project_runs(project_folder: Path) -> list[Run]:
    """A project's runs, oldest first."""
    root = runs_folder(project_folder)
    if not root.is_dir():
        return []
    return [read(p) for p in sorted(root.iterdir()) if (p / RUN_JSON).is_file()]


def all_runs(projects_dir: Path) -> list[Run]:
    """Runs of every project under a folder (or of the project it is), oldest first."""
    runs = [run for folder in find_projects(projects_dir) for run in project_runs(folder)]
    return sorted(runs, key=lambda r: (r.meta.get("started_at") or 0, r.id))


def find(ref: str, projects_dir: Path = Path("projects")) -> Run:
    """A run by its folder, or by id (or a unique id prefix) under the projects folder."""
    path = Path(ref)
    if (path / RUN_JSON).is_file():
        return read(path)
    matches = [r for r in all_runs(projects_dir) if r.id == ref] or [
        r for r in all_runs(projects_dir) if r.id.startswith(ref)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(
            f"run {ref!r}: not found under {projects_dir}; `bsf ps {projects_dir}` lists runs "
            "(or give the run's folder)"
        )
    raise RunNotFoundError(
        f"run {ref!r}: ambiguous ({', '.join(r.id for r in matches[:5])}); give more of the id"
    )


def append_event(path: Path, event: dict[str, Any]) -> None:
    """One JSON line, written with a single write() so concurrent readers see whole lines
    (or, after a crash, a torn last line that readers skip)."""
    line = json.dumps(event, default=_plain, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)


def read_events(path: Path, start: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Events from byte offset `start`; returns them and the offset after the last whole line.

    A line without its newline (being written, or torn by a crash) is not consumed; a
    garbled complete line is skipped.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return [], start
    events, offset = [], start
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        offset += len(raw)
        try:
            event = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, offset


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)
