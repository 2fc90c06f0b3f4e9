"""Text for times, durations and numbers (one place, so snapshot tests can pin time)."""

from __future__ import annotations

import datetime as _dt

from bsf_engine import display
from bsf_engine.states import RunState, StageState

STATE_STYLE = display.STATE_STYLE
BADGE = {
    StageState.DONE: "●",
    StageState.RUNNING: "▶",
    RunState.QUEUED: "…",
    StageState.STALE: "◐",
    StageState.PARTIAL: "◔",
    StageState.MISSING: "○",
    StageState.FAILED: "✖",
    StageState.LOST: "✖",
    StageState.CORRUPT: "✖",
    StageState.CANCELLED: "■",
}


def when(iso: str | None) -> str:
    return display.when(iso)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return _dt.datetime.fromtimestamp(seconds).strftime("%H:%M:%S")


def duration(seconds: float | None) -> str:
    return display.duration(seconds)


def percent(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def energy(joules: float | None) -> str:
    return display.energy(joules)


# the states the projects table's legend explains (failed stands for lost and corrupt too)
LEGEND = (
    StageState.DONE,
    StageState.STALE,
    StageState.PARTIAL,
    StageState.MISSING,
    StageState.RUNNING,
    StageState.FAILED,
    StageState.CANCELLED,
)


def legend(states) -> str:
    return "  ".join(f"{BADGE[state]} {state}" for state in states)


def badge(state: str) -> str:
    style = STATE_STYLE.get(state, "")
    return f"[{style}]{BADGE.get(state, '?')}[/]" if style else BADGE.get(state, "?")
