"""How states, times, durations and energy changes read, for the CLI tables and the TUI
alike."""

from __future__ import annotations

import datetime as _dt

from .states import EnergyModel, RunState, StageState

STATE_STYLE = {
    StageState.DONE: "green",
    StageState.RUNNING: "bold cyan",
    RunState.QUEUED: "cyan",
    StageState.STALE: "yellow",
    StageState.PARTIAL: "yellow",
    StageState.MISSING: "dim",
    StageState.FAILED: "bold red",
    StageState.LOST: "red",
    StageState.CORRUPT: "red",
    StageState.CANCELLED: "magenta",
}


def styled_state(state: str) -> str:
    style = STATE_STYLE.get(state, "")
    return f"[{style}]{state}[/]" if style else state


def when(iso: str | None) -> str:
    """An ISO time as month-day hour:minute (local)."""
    if not iso:
        return ""
    try:
        return _dt.datetime.fromisoformat(iso).strftime("%m-%d %H:%M")
    except ValueError:
        return iso


def when_short(iso: str | None, today: _dt.date | None = None) -> str:
    """An ISO time as hour:minute when it is today (local), else as month-day: for
    tables that must fit 80 columns."""
    if not iso:
        return ""
    try:
        moment = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    if moment.date() == (today or _dt.date.today()):
        return moment.strftime("%H:%M")
    return moment.strftime("%m-%d")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def number(value: object, digits: int = 3) -> str:
    """A live figure as a person reads it: floats to `digits` significant digits, at
    least to the unit (`2.36`, `0.0413`, `1234`); ints, text and None unchanged."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def progress_share(task: str, done: int, total: int | None, unit: str = "") -> str:
    """How far a task is: `3/10`, with its unit only where the task's name does not
    already say it (`epoch 3/10`, not `epoch 3/10 epoch`; `timestep 9/500`, not
    `timestep 9/500 step`; `calibrate 64/512 image`)."""
    share = f"{done}/{total}" if total else str(done)
    return share if not unit or unit in task else f"{share} {unit}"


def timestep_ticks(last: int, width: int) -> list[int]:
    """Whole-step ticks on a time axis 1…T, about one per 12 columns of a plot `width`
    wide (the CLI's plots and the TUI's alike)."""
    count = max(2, min(last, width // 12))
    if last <= 1:
        return [1]
    return sorted({round(1 + (last - 1) * i / (count - 1)) for i in range(count)})


ENERGY_UNITS = (("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9))


def energy(joules: float | None, significant: int | None = None) -> str:
    """An energy with the unit that keeps it readable: `5.668 µJ` (three decimals; pJ one),
    or to `significant` digits (`129.6 µJ`, for narrow columns); `—` for none."""
    if joules is None:
        return "—"
    unit, scale = next(((u, s) for u, s in ENERGY_UNITS if joules >= s), ("pJ", 1e-12))
    value = joules / scale
    if significant is not None:
        return f"{number(value, significant)} {unit}"
    return f"{value:.{1 if unit == 'pJ' else 3}f} {unit}"


def energy_model(model: str | None) -> str:
    """An energy model's name as shown beside its numbers (`SpikeSim`); a report that
    records none says so."""
    if model is None:
        return "model unknown"
    try:
        return EnergyModel(model).label
    except ValueError:
        return str(model)


def energy_change(
    reduction_pct: float | None, model: str | None, digits: int = 1, noun: bool = True
) -> str:
    """BSF's energy change at the target, named by the model that costed it:
    `SpikeSim energy -9.2%` for a 9.2% reduction (`SpikeSim -9.2%` without the noun, for a
    column whose header says energy); `—` when BSF misses the target."""
    if reduction_pct is None:
        return "—"
    return f"{energy_model(model)}{' energy' if noun else ''} {-reduction_pct:+.{digits}f}%"
