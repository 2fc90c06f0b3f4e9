"""Events into a run's events.jsonl, and the stop request that SIGTERM makes."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from ..errors import Interrupted
from ..events import Events
from .store import append_event

PROGRESS_EVERY = 0.25  # seconds between progress lines of one task (the last always)


class StopRequest:
    """Set by SIGTERM (or by hand); stages see it at their next checkpoint."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason

    def install(self) -> None:
        def handler(signum, frame):
            self.set("cancelled (SIGTERM)")

        signal.signal(signal.SIGTERM, handler)


class JsonlEvents(Events):
    """Appends every event, with its time and the current stage, to events.jsonl."""

    def __init__(self, path: Path, stop: StopRequest | None = None) -> None:
        self.path = Path(path)
        self.stop = stop or StopRequest()
        self.stage: str | None = None
        self._last_progress: dict[str, float] = {}

    def write(self, kind: str, **payload: Any) -> None:
        append_event(
            self.path, {"time": round(time.time(), 3), "stage": self.stage, "kind": kind, **payload}
        )

    def begin(self, stage: str) -> None:
        self.stage = stage

    def progress(self, task: str, done: int, total: int | None, unit: str, **info: Any) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self._last_progress.get(task, 0.0) < PROGRESS_EVERY:
            return
        self._last_progress[task] = now
        self.write("progress", task=task, done=done, total=total, unit=unit, **info)

    def metric(self, name: str, value: float, **context: Any) -> None:
        self.write("metric", name=name, value=value, **context)

    def log(self, message: str, level: str = "info") -> None:
        self.write("log", message=message, level=level)

    def artifact(self, path: str, kind: str) -> None:
        self.write("artifact", path=str(path), artifact=kind)

    def checkpoint(self) -> None:
        if self.stop.reason:
            raise Interrupted(self.stop.reason)


class TeeEvents(Events):
    """Sends every event to several sinks; checkpoints all of them."""

    def __init__(self, *sinks: Events) -> None:
        self.sinks = sinks

    def begin(self, stage: str) -> None:
        for sink in self.sinks:
            sink.begin(stage)

    def progress(self, task: str, done: int, total: int | None, unit: str, **info: Any) -> None:
        for sink in self.sinks:
            sink.progress(task, done, total, unit, **info)

    def metric(self, name: str, value: float, **context: Any) -> None:
        for sink in self.sinks:
            sink.metric(name, value, **context)

    def log(self, message: str, level: str = "info") -> None:
        for sink in self.sinks:
            sink.log(message, level)

    def artifact(self, path: str, kind: str) -> None:
        for sink in self.sinks:
            sink.artifact(path, kind)

    def checkpoint(self) -> None:
        for sink in self.sinks:
            sink.checkpoint()
