"""Structured events that stages emit: progress, metrics, logs, artifacts.

A stage function `run(project, events)` reports through an `Events` object.
The CLI renders them as rich progress bars; the run store (later) appends them
to events.jsonl; tests record them. A sink may raise `Interrupted` from
`checkpoint()` to stop a stage at a safe boundary (an epoch, a batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Events:
    """Base sink: ignores everything. Subclass and override what you need."""

    def begin(self, stage: str) -> None:
        """Stage `stage` starts (`Stage.run` says so): the events that follow are its own,
        so a task name such as `batch` is that stage's task."""

    def progress(self, task: str, done: int, total: int | None, unit: str, **info: Any) -> None:
        """`done` of `total` `unit`s of `task` are finished; `info` holds live figures."""

    def metric(self, name: str, value: float, **context: Any) -> None:
        """A named number, e.g. name="val_acc/final", context={"epoch": 3}."""

    def log(self, message: str, level: str = "info") -> None:
        """A line of text for a human."""

    def artifact(self, path: str, kind: str) -> None:
        """A file was written (atomically) and is complete."""

    def checkpoint(self) -> None:
        """Called at every safe stopping point; raise `Interrupted` here to stop."""


@dataclass
class RecordedEvent:
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


class RecordingEvents(Events):
    """Keeps every event in a list (tests, and replay into other sinks)."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def progress(self, task: str, done: int, total: int | None, unit: str, **info: Any) -> None:
        self.events.append(
            RecordedEvent(
                "progress", {"task": task, "done": done, "total": total, "unit": unit, **info}
            )
        )

    def metric(self, name: str, value: float, **context: Any) -> None:
        self.events.append(RecordedEvent("metric", {"name": name, "value": value, **context}))

    def log(self, message: str, level: str = "info") -> None:
        self.events.append(RecordedEvent("log", {"message": message, "level": level}))

    def artifact(self, path: str, kind: str) -> None:
        self.events.append(RecordedEvent("artifact", {"path": path, "kind": kind}))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [event.payload for event in self.events if event.kind == kind]
