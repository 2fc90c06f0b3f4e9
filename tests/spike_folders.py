"""The spike folders of runs shared by several processes, next to one process's: what of
them must be equal (tests/test_distributed.py, tests/test_slurm.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_process(folder: Path, *options: str) -> None:
    """`bsf simulate` on `folder` as one process."""
    done = subprocess.run(
        [sys.executable, "-m", "bsf_engine", "simulate", str(folder), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def fresh_copy(finished_project, tmp_path: Path, name: str) -> Path:
    """The finished project less its runs and its test spikes."""
    folder = tmp_path / name
    shutil.copytree(finished_project[0], folder, ignore=shutil.ignore_patterns("runs"))
    shutil.rmtree(folder / "spikes" / "test")
    return folder


def without_times(folder: Path, split: str = "test") -> dict:
    """The manifest less what differs between any two runs: when and how long."""
    manifest = json.loads((folder / "spikes" / split / "manifest.json").read_text())
    manifest.pop("stamp")
    for entry in manifest["batches"]:
        entry.pop("seconds")
    return manifest


def without_devices(manifest: dict) -> dict:
    """A manifest less each batch's device, which a batch adopted from an interrupted
    run does not record."""
    for entry in manifest["batches"]:
        entry.pop("device", None)
    return manifest


def batch_bytes(folder: Path, split: str = "test") -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "spikes" / split).glob("batch_*"))}
