"""Sharded simulation under torchrun: two CPU processes (gloo) leave the folder one
process leaves, and a rank killed mid-split is resumed from what is on disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bsf_engine import distributed

from .spike_folders import (
    ROOT,
    batch_bytes,
    fresh_copy,
    one_process,
    without_devices,
    without_times,
)


def test_the_world_comes_from_torchruns_environment(monkeypatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    alone = distributed.world()
    assert (alone.rank, alone.size, alone.leader, alone.sharded) == (0, 1, True, False)
    assert distributed.broadcast("x", alone) == "x" and distributed.gather(3, alone) == [3]
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    third = distributed.world()
    assert (third.rank, third.size, third.local_rank, third.leader) == (2, 3, 0, False)
    assert third.shard(list(range(8))) == [2, 5]  # round robin: every rank a fair share


def torchrun(folder: Path, *options: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "bsf_engine",
        "simulate",
        str(folder),
        *options,
    ]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_ranks_write_what_one_process_writes(finished_project, tmp_path) -> None:
    folder = fresh_copy(finished_project, tmp_path, "two")
    run = torchrun(folder)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "359 images × T = 40 in 2 batches" in out
    assert out.count("images × T") == 1  # rank 0 alone speaks
    original = finished_project[0]
    assert batch_bytes(folder) == batch_bytes(original)
    assert without_times(folder) == without_times(original)
    assert not (folder / ".bsf.lock").exists()


def test_a_rank_killed_mid_split_resumes_to_the_same_folder(finished_project, tmp_path) -> None:
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    if not children.exists():
        pytest.skip("needs Linux's /proc/<pid>/task/<pid>/children to find the ranks")
    options = ("--batch-size", "20", "--timesteps", "300")  # 18 batches of about a second
    reference = fresh_copy(finished_project, tmp_path, "one")
    one_process(reference, *options)

    folder = fresh_copy(finished_project, tmp_path, "killed")
    run = torchrun(folder, *options)
    spikes = folder / "spikes" / "test"
    deadline = time.monotonic() + 120
    while len(list(spikes.glob("batch_*.npz"))) < 3:
        assert run.poll() is None and time.monotonic() < deadline, "no batches came"
        time.sleep(0.05)
    agent = Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()
    os.kill(int(agent[-1]), 9)  # one rank dies; torchrun stops the other
    run.communicate(timeout=120)
    assert run.returncode != 0
    assert 3 <= len(list(spikes.glob("batch_*.npz"))) < 18
    assert not json.loads((spikes / "manifest.json").read_text()).get("complete")

    again = torchrun(folder, *options)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert batch_bytes(folder) == batch_bytes(reference)
    # the files the killed run wrote were adopted as found
    assert without_devices(without_times(folder)) == without_devices(without_times(reference))


def test_bsf_run_nproc_shares_the_simulations_and_is_one_run(finished_project, tmp_path) -> None:
    """`bsf run --nproc 2`: rank 0 runs the pipeline (and its record, lock and report),
    both ranks simulate; the spikes are one process's and the run store holds one run."""
    original = finished_project[0]
    folder = tmp_path / "pipeline"
    shutil.copytree(original, folder, ignore=shutil.ignore_patterns("runs", "spikes"))
    done = subprocess.run(
        [sys.executable, "-m", "bsf_engine", "run", str(folder), "--nproc", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("test split:") == 1  # one report, printed by rank 0
    for split in ("tune", "test"):
        made = {p.name: p.read_bytes() for p in (folder / "spikes" / split).glob("batch_*")}
        alone = {p.name: p.read_bytes() for p in (original / "spikes" / split).glob("batch_*")}
        assert made == alone, split
    report = json.loads((folder / "report.json").read_text())
    assert report["methods"] == json.loads((original / "report.json").read_text())["methods"]
    runs = list((folder / "runs").iterdir())
    assert len(runs) == 1
    record = json.loads((runs[0] / "run.json").read_text())
    assert record["state"] == "done"
    assert record["stages"] == ["simulate-tune", "tune", "simulate-test", "report", "exit"]
    assert done.stdout.count("early exit on the test split") == 1  # rank 0's, once
    assert record["ranks"] == 2  # what the Runs tab and `bsf ps --json` show


def test_only_the_sharded_commands_run_under_torchrun(cli, finished_project, monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    result = cli("tune", finished_project[0])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: `bsf tune` runs as one process; under torchrun")
    result = cli("run", finished_project[0], "--nproc", "2")
    assert result.exit_code == 2 and "already a process of torchrun" in result.stderr


def torchrun_train(folder: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", "-m", "bsf_engine", "train", str(folder)]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_ddp_training_on_two_ranks_resumes_after_a_rank_is_killed(make_project) -> None:
    from tests.conftest import TINY_DIGITS

    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    if not children.exists():
        pytest.skip("needs Linux's /proc/<pid>/task/<pid>/children to find the ranks")
    folder = make_project(TINY_DIGITS.replace("epochs = 3", "epochs = 12"), name="ddp")
    run = torchrun_train(folder)
    checkpoint = folder / "train.ckpt"
    deadline = time.monotonic() + 120
    while not checkpoint.is_file():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()[1]
        time.sleep(0.02)
    agent = Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()
    os.kill(int(agent[-1]), 9)
    run.communicate(timeout=120)
    assert run.returncode != 0 and not (folder / "ann.pt").exists()

    again = torchrun_train(folder)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "resuming from train.ckpt after epoch" in err
    assert out.count("ANN accuracy (12 epochs") == 1  # rank 0 alone reports
    ann = json.loads((folder / "ann.json").read_text())
    assert [row["epoch"] for row in ann["history"]] == list(range(1, 13))
    accuracy = ann["accuracy"]["test"]
    assert accuracy["final"] > 0.8 and all(0 <= v <= 1 for v in accuracy.values()), accuracy
    assert not checkpoint.exists()
