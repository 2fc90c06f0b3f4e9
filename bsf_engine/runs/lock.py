"""One writer per project: a lock file naming the run that holds it.

Taken with O_CREAT | O_EXCL (atomic on local and NFSv3+ file systems). A lock whose
process is gone on this host is stale and taken over; one held from another host
cannot be checked from here, so it is refused with the host named.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from .. import atomic, layout
from ..errors import BsfError
from ..layout import Layout
from . import process

LOCK = layout.LOCK


class ProjectLockedError(BsfError):
    """Another run holds the project."""


class LockWriteError(BsfError):
    """The project folder cannot be written."""


def lock_path(project_folder: Path) -> Path:
    return Layout(Path(project_folder)).lock


def holder(project_folder: Path) -> dict[str, Any] | None:
    """Who holds the lock (None if nobody, or only a stale holder)."""
    info = _read(lock_path(project_folder))
    if info is None:
        return None
    if process.alive(info.get("pid"), info.get("proc_start"), info.get("host")) is False:
        return None
    return info


def busy(project_folder: Path, info: dict[str, Any], elsewhere: bool) -> ProjectLockedError:
    """The refusal that names who holds the project (and, for another host, where)."""
    where = f" on host {info.get('host')}" if elsewhere else ""
    who = info.get("label") or f"run {info.get('run')}"
    stranger = None if elsewhere else process.not_bsf(info.get("pid"))
    if stranger is not None:  # a lock that outlived its run, its pid reused (a reboot)
        return ProjectLockedError(
            f"{project_folder}: the lock names {who}, pid {info.get('pid')}, but that pid is "
            f"`{stranger}`, not a bsf process; if no bsf run is using this project, delete "
            f"{lock_path(project_folder)} and rerun"
        )
    stop = (
        f"stop it where it runs (pid {info.get('pid')})"
        if info.get("label")
        else f"`bsf cancel {info.get('run')}`"
    )
    return ProjectLockedError(
        f"{project_folder}: {who} is running{where} (pid {info.get('pid')}); "
        f"wait for it, or {stop}"
        + (f"; if that host is gone, delete {lock_path(project_folder)}" if elsewhere else "")
    )


def acquire(
    project_folder: Path, run_id: str, pid: int | None = None, label: str | None = None
) -> None:
    """Take the project's lock for `run_id` (held by `pid`, default this process).

    `label` names a holder that is not a run (a single stage's own command).
    """
    path = lock_path(project_folder)
    pid = pid or os.getpid()
    info = {
        "run": run_id,
        "label": label,
        "pid": pid,
        "proc_start": process.start_ticks(pid),
        "host": process.hostname(),
    }
    for _ in range(50):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not path.is_file():  # a folder (or anything but a file) in the lock's place
                raise _not_a_lock(path) from None
            current = _read(path)
            if current is None:  # being written by a racer, or garbled/abandoned: look again
                if _garbled(path):
                    _remove(path)
                time.sleep(0.02)
                continue
            running = process.alive(
                current.get("pid"), current.get("proc_start"), current.get("host")
            )
            if running is False:
                _take_over(path, current)
                continue
            raise busy(project_folder, current, running is None) from None
        except IsADirectoryError:
            raise _not_a_lock(path) from None
        except OSError as exc:  # read-only, no permission, disk full
            raise LockWriteError(
                f"{project_folder}: cannot write the lock file {path.name} "
                f"({exc.strerror or exc.__class__.__name__}); the project folder must be "
                "writable (and its disk not full) to run stages in it"
            ) from None
        with os.fdopen(fd, "w") as handle:
            json.dump(info, handle)
        return
    raise ProjectLockedError(f"{path}: could not take the lock; try again")


def _not_a_lock(path: Path) -> LockWriteError:
    return LockWriteError(
        f"{path}: not a file, so not bsf's lock file (bsf writes it there); move it away or "
        "delete it, then rerun"
    )


def named_only_by_lock(ref: str, projects_dir: Path) -> ProjectLockedError | None:
    """For `bsf cancel RUN` when no run folder has that id: the lock file that names it
    (a lock left behind by a run whose folder is gone), and how to clear it."""
    for folder in layout.find_projects(projects_dir):
        info = _read(lock_path(folder))
        if info is None or not str(info.get("run", "")).startswith(ref):
            continue
        pid = info.get("pid")
        running = process.alive(pid, info.get("proc_start"), info.get("host"))
        if running is None:
            state = f"held on host {info.get('host')}"
        elif running is False:
            state = "stale (its process is gone; the next `bsf run` takes it over)"
        elif (stranger := process.not_bsf(pid)) is not None:
            state = f"held by pid {pid}, `{stranger}`, not a bsf process"
        else:
            state = f"held by pid {pid}"
        return ProjectLockedError(
            f"run {info.get('run')}: no run folder, only the lock file {lock_path(folder)} "
            f"names it ({state}); if no bsf run is using {folder}, delete that file"
        )
    return None


def hand_over(project_folder: Path, run_id: str, pid: int) -> None:
    """Rewrite our lock for the detached process that now holds it."""
    info = _read(lock_path(project_folder)) or {}
    if info.get("run") != run_id:
        raise ProjectLockedError(f"{lock_path(project_folder)}: not held by run {run_id}")
    info.update(pid=pid, proc_start=process.start_ticks(pid))
    atomic.write_json(lock_path(project_folder), info)


def release(project_folder: Path, run_id: str) -> None:
    info = _read(lock_path(project_folder))
    if info is not None and info.get("run") == run_id:
        _remove(lock_path(project_folder))


def _take_over(path: Path, stale: dict[str, Any]) -> None:
    # rename first: of two processes taking over the same stale lock, one renames it
    # away; the other's rename fails and it loops back to O_EXCL
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    if _read(aside) != stale:  # someone took it meanwhile: put theirs back
        os.rename(aside, path)
        return
    _remove(aside)


def _read(path: Path) -> dict[str, Any] | None:
    return layout.read_json_or_none(path)


def _garbled(path: Path) -> bool:
    """Unreadable, or empty for over 5 s (its writer died between create and write)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size == 0:
        return time.time() - stat.st_mtime > 5
    return _read(path) is None


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@contextlib.contextmanager
def held(project_folder: Path, label: str):
    """Hold the project's lock while one stage's own command (`bsf train` …) writes it."""
    token = f"{label.replace(' ', '-').strip('`')}-{os.getpid()}"
    acquire(project_folder, token, label=label)
    try:
        yield
    finally:
        release(project_folder, token)
