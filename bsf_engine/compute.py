"""How many CPU threads a stage's torch work uses: the policy, and the one place it is set.

torch runs each op on an OpenMP team of one thread per core. For small tensors (tuning
and the report work on [64 steps × samples × classes] blocks) every op is a few
microseconds of work, and the team's threads spin at the op's barrier while they
wait for each other: on a box where another process holds a core, every op waits for
the thread that was descheduled, and tuning runs 7–14× slower than on one thread
(issue 11 §2). Such stages run on ONE thread; the convolutions of train, convert and
simulate are large enough that more threads pay (ALL: torch's own default).

Who decides, the first that says something wins:
  1. `--threads N` on a stage's command or `bsf run`
  2. OMP_NUM_THREADS, else MKL_NUM_THREADS, when set in the environment
  3. `[compute] threads = N` in project.toml
  4. the stage's policy (`[compute] threads = "auto"`, the default)

Threads that wait spin at first: with a core taken by another process that spinning
takes the time the late thread needs. bsf's processes (the `bsf` command, detached
workers) let them sleep instead (`OMP_WAIT_POLICY=PASSIVE`, unless the user set a
policy), so the stages that keep torch's threads lose less on a busy box too.

This module imports torch only inside `using` and `torch_default` (`bsf status` and
the other light commands never load it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass

ONE = "one"  # small-tensor numerics: one thread is fastest, and immune to a busy box
ALL = "all"  # big tensors (convolutions): torch's default, one thread per core
POLICIES = (ONE, ALL)
AUTO = "auto"  # the [compute] threads setting that leaves it to the stage's policy
ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
WAIT_POLICY = "OMP_WAIT_POLICY"

_torch_default: list[int] = []  # torch's own thread count, read before bsf changes it


@dataclass(frozen=True)
class Threads:
    count: int
    why: str  # who chose it, for the run's log

    def describe(self) -> str:
        return f"{self.count} CPU thread{'s' if self.count != 1 else ''} ({self.why})"


def quiet_waits(environ: MutableMapping[str, str] | None = None) -> None:
    """Let idle OpenMP threads sleep rather than spin (unless a policy is set already).
    OpenMP reads it once, when torch loads: call it before torch is imported."""
    environ = os.environ if environ is None else environ
    environ.setdefault(WAIT_POLICY, "PASSIVE")


def environment_threads(environ: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """(variable, count) of the first of OMP_NUM_THREADS / MKL_NUM_THREADS set to a
    positive count (OpenMP's nested form `4,2` counts its first level); None if unset."""
    environ = os.environ if environ is None else environ
    for name in ENVIRONMENT:
        text = environ.get(name, "").split(",")[0].strip()
        if text.isdigit() and int(text) > 0:
            return name, int(text)
    return None


def threads_for(
    stage: str,
    policy: str,
    setting: int | str = AUTO,
    flag: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Threads:
    """The thread count for `stage` (whose policy is ONE or ALL), given the
    `[compute] threads` setting, the `--threads` flag and the environment."""
    if flag is not None:
        return Threads(int(flag), "--threads")
    chosen = environment_threads(environ)
    if chosen is not None:
        return Threads(chosen[1], chosen[0])
    if setting != AUTO:
        return Threads(int(setting), "[compute] threads")
    if policy == ONE:
        return Threads(1, f"{stage}: small tensors, one thread")
    if policy == ALL:
        return Threads(torch_default(), f"{stage}: torch's default")
    raise ValueError(f"stage {stage}: threads policy {policy!r} is not one of {POLICIES}")


def torch_default() -> int:
    """The intra-op thread count torch chose for this process (before `using` ran)."""
    if not _torch_default:
        import torch

        _torch_default.append(torch.get_num_threads())
    return _torch_default[0]


@contextmanager
def using(count: int) -> Iterator[int]:
    """torch's intra-op threads set to `count` inside, and what they were restored after.

    (The inter-op pool is left alone: torch allows setting it once, before first use,
    and eager ops never use it.)
    """
    import torch

    torch_default()
    before = torch.get_num_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield count
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
