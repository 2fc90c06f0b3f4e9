"""Is a recorded process still the one that was recorded? (pid reuse aware)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def hostname() -> str:
    return socket.gethostname()


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), None if unknown/gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rindex(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def alive(pid: int | None, ticks: int | None = None, host: str | None = None) -> bool | None:
    """True/False for a process on this host; None when it ran on another host.

    A recorded start time must match too: a reused pid is another process.
    """
    if host is not None and host != hostname():
        return None
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if _zombie(pid):
        return False
    if ticks is not None:
        now = start_ticks(pid)
        if now is not None and now != ticks:
            return False
    return True


def command_line(pid: int) -> list[str] | None:
    """A local process's arguments (None if gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def not_bsf(pid: int | None) -> str | None:
    """The program of a live local process that cannot be a bsf run (it neither names bsf
    nor is a Python interpreter, which a library user's script would be), else None."""
    if not pid or pid == os.getpid():
        return None
    argv = command_line(int(pid))
    if not argv:
        return None
    if any("bsf" in part for part in argv) or Path(argv[0]).name.startswith("python"):
        return None
    return Path(argv[0]).name


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] in ("Z", "X")
