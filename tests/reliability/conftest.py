"""A small project whose stages each take long enough to be interrupted, run for real
in subprocesses (kill -9, SIGTERM), and helpers to compare and read its artifacts."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bsf_engine.stages import NAMES as STAGES

from ..conftest import TINY_DIGITS

RELIABLE = TINY_DIGITS.replace("epochs = 3", "epochs = 10") + (
    "\n[simulate]\ntimesteps = 160\nbatch_size = 40\n"
)
# what each stage writes, in order; deleting from a stage on makes `bsf run` start there
OUTPUTS = {
    "train": ["ann.pt", "ann.json", "split.json", "train.ckpt"],
    "convert": ["snn.pt", "snn.json"],
    "simulate-tune": ["spikes/tune"],
    "tune": ["alpha.npz", "alpha.json"],
    "simulate-test": ["spikes/test"],
    "report": ["report.json"],
    "exit": ["exit.npz", "exit.json"],
}
# times, and digests of files that hold times (their contents are compared instead)
VOLATILE = ("stamp", "created", "finished", "device", "inputs", "snn")


def bsf_command(*args: Any) -> list[str]:
    return [sys.executable, "-m", "bsf_engine", *map(str, args)]


def bsf(*args: Any, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        bsf_command(*args), capture_output=True, text=True, timeout=timeout, env=_env()
    )


def start(*args: Any) -> subprocess.Popen:
    """`bsf ARGS` in its own session (so the test can signal its whole process group)."""
    return subprocess.Popen(
        bsf_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=_env(),
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    env["COLUMNS"] = "120"
    return env


def newest_run(folder: Path) -> Path | None:
    runs = sorted((folder / "runs").glob("*/run.json")) if (folder / "runs").is_dir() else []
    return runs[-1].parent if runs else None


def wait_for_stage(folder: Path, stage: str, proc: subprocess.Popen, timeout: float = 120):
    """Wait until the newest run reports `stage` running; returns the run folder."""
    from bsf_engine.runs.store import read_events

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = newest_run(folder)
        if run is not None:
            events, _ = read_events(run / "events.jsonl")
            if any(
                e.get("kind") == "stage" and e.get("stage") == stage and e.get("state") == "running"
                for e in events
            ):
                return run
        if proc.poll() is not None:
            raise AssertionError(f"bsf ended before {stage} started: {proc.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError(f"{stage} did not start in {timeout} s")


def remove_from(folder: Path, stage: str) -> None:
    for name in STAGES[STAGES.index(stage) :]:
        for relative in OUTPUTS[name]:
            path = folder / relative
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


def _plain(value: Any) -> Any:
    """Comparable content: tensors/arrays as dtype+shape+bytes digests, times dropped."""
    if isinstance(value, dict):
        return {
            k: _plain(v)
            for k, v in sorted(value.items())
            if k not in VOLATILE and "seconds" not in str(k)
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return f"{value.dtype}{list(value.shape)}:{digest}"
    return value


def read_artifact(path: Path) -> Any:
    """Parse one artifact completely (raises if it is partial)."""
    if path.suffix == ".json":
        return json.loads(path.read_text())
    if path.suffix == ".npz":
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    if path.suffix in (".pt", ".ckpt"):
        return torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=False)
    return path.read_bytes()


def artifacts(folder: Path) -> list[Path]:
    """Every final-named result file (not runs/, the lock, or interrupted temporaries)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and "runs" not in p.relative_to(folder).parts
        and not p.name.startswith(".")
        and ".tmp-" not in p.name
        and p.name != "project.toml"
    )


def snapshot(folder: Path, stages=STAGES) -> dict[str, Any]:
    wanted = {rel for s in stages for rel in OUTPUTS[s] if rel != "train.ckpt"}
    out = {}
    for path in artifacts(folder):
        relative = path.relative_to(folder).as_posix()
        if not any(relative == w or relative.startswith(w + "/") for w in wanted):
            continue
        out[relative] = _plain(read_artifact(path))
    return out


class Reader(threading.Thread):
    """Reads every artifact over and over while a run writes: none may be partial."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.failures: list[str] = []
        self.reads = 0
        self.passes = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            for path in artifacts(self.folder):
                try:
                    read_artifact(path)
                    self.reads += 1
                except FileNotFoundError:
                    continue  # replaced or removed between listing and reading
                except Exception as exc:
                    if path.exists():
                        self.failures.append(f"{path.name}: {exc.__class__.__name__}: {exc}")
            self.passes += 1
            time.sleep(0.005)

    def stop(self) -> list[str]:
        self.running = False
        self.join(10)
        return self.failures


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait(60)


@pytest.fixture(scope="session")
def baseline(tmp_path_factory):
    """The reliability project run once, uninterrupted: its folder, snapshot, stage times."""
    folder = tmp_path_factory.mktemp("reliability") / "proj"
    folder.mkdir()
    (folder / "project.toml").write_text(RELIABLE)
    result = bsf("run", folder)
    assert result.returncode == 0, result.stderr
    from bsf_engine.runs.store import read_events

    events, _ = read_events(newest_run(folder) / "events.jsonl")
    seconds = next(e["seconds"] for e in events if e.get("kind") == "end")
    return folder, snapshot(folder), seconds


@pytest.fixture
def fresh(baseline, tmp_path):
    """A copy of the finished project (without its runs) to break."""

    def make(from_stage: str | None = None) -> Path:
        folder = tmp_path / "proj"
        shutil.copytree(baseline[0], folder, ignore=shutil.ignore_patterns("runs", ".bsf.lock"))
        if from_stage:
            remove_from(folder, from_stage)
        return folder

    return make
