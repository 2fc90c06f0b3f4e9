"""`bsf simulate`: atomic batches, resume after any interruption, refusal of other settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bsf_engine import convert, simulate, train
from bsf_engine.errors import ArtifactExistsError, DataError, Interrupted, MissingArtifactError
from bsf_engine.events import Events
from bsf_engine.project import Project
from bsf_engine.spikes import open_spikes
from tests.conftest import TINY_DIGITS

SIM = TINY_DIGITS + "\n[simulate]\ntimesteps = 24\nbatch_size = 50\n"


@pytest.fixture(scope="module")
def converted_project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sim") / "proj"
    folder.mkdir()
    (folder / "project.toml").write_text(SIM)
    project = Project.open(folder)
    train.run(project)
    convert.run(project)
    return folder


@pytest.fixture
def project(converted_project, tmp_path) -> Project:
    folder = tmp_path / "copy"
    shutil.copytree(converted_project, folder)
    return Project.open(folder)


def batch_bytes(project: Project, split: str = "test") -> dict[str, bytes]:
    folder = simulate.spikes_folder(project, split)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("batch_*.npz"))}


class StopAfterBatches(Events):
    def __init__(self, n: int) -> None:
        self.n, self.done = n, 0

    def progress(self, task, done, total, unit, **info) -> None:
        if task == "batch":
            self.done = done

    def checkpoint(self) -> None:
        if self.done >= self.n:
            raise Interrupted(f"stopped after {self.done} batches")


def test_simulate_writes_batches_and_manifest(project) -> None:
    manifest = simulate.run(project, split="test", limit=120)
    folder = simulate.spikes_folder(project, "test")
    assert manifest["complete"] and manifest["samples"] == 120
    assert [e["samples"] for e in manifest["batches"]] == [50, 50, 20]
    assert sorted(p.name for p in folder.iterdir()) == [
        "batch_00000.npz",
        "batch_00001.npz",
        "batch_00002.npz",
        "manifest.json",
    ]
    source = open_spikes(folder)
    assert source.timesteps == 24 and source.heads == ["ic2", "final"]
    assert source.samples == 120
    batch = source.batch(1)
    assert batch.indices.tolist() == list(range(50, 100))
    assert batch.counts.shape == (24, len(manifest["populations"]))
    # the labels are the test split's, in order
    from bsf_engine.data import load_datasets

    labels = load_datasets(project.config).test.labels[:120].numpy()
    assert np.array_equal(source.labels(), labels)


def test_resume_after_cancel_is_byte_identical(project, tmp_path) -> None:
    other = tmp_path / "uninterrupted"
    shutil.copytree(project.folder, other)
    reference = Project.open(other)
    simulate.run(reference, split="tune", limit=130)
    with pytest.raises(Interrupted):
        simulate.run(project, StopAfterBatches(1), split="tune", limit=130)
    partial = json.loads((simulate.spikes_folder(project, "tune") / "manifest.json").read_text())
    assert not partial["complete"] and len(partial["batches"]) == 1
    simulate.run(project, split="tune", limit=130)
    assert batch_bytes(project, "tune") == batch_bytes(reference, "tune")


def test_other_settings_are_refused_unless_overwrite(project) -> None:
    simulate.run(project, split="test", limit=60)
    before = batch_bytes(project)
    with pytest.raises(ArtifactExistsError, match=r"timesteps 24 → 30.*--overwrite"):
        simulate.run(project, split="test", limit=60, timesteps=30)
    with pytest.raises(ArtifactExistsError, match="samples 60 → 80"):
        simulate.run(project, split="test", limit=80)
    assert batch_bytes(project) == before
    manifest = simulate.run(project, split="test", limit=60, timesteps=30, force=True)
    assert manifest["timesteps"] == 30 and batch_bytes(project) != before


def test_batch_files_without_manifest_are_refused(project) -> None:
    folder = simulate.spikes_folder(project, "test")
    folder.mkdir(parents=True)
    (folder / "batch_00000.npz").write_bytes(b"not mine")
    with pytest.raises(ArtifactExistsError, match=r"no manifest\.json"):
        simulate.run(project, split="test", limit=10)
    assert (folder / "batch_00000.npz").read_bytes() == b"not mine"


def test_simulate_before_convert_and_bad_options(make_project) -> None:
    fresh = Project.open(make_project(SIM))
    with pytest.raises(MissingArtifactError, match=r"snn\.pt: missing; run `bsf convert"):
        simulate.run(fresh)
    with pytest.raises(DataError, match="timesteps = 0: must be at least 1"):
        simulate.run(fresh, timesteps=0)


def test_inspect_command(cli, project) -> None:
    simulate.run(project, split="test", limit=50)
    result = cli("inspect", simulate.spikes_folder(project, "test"), "--sample", "3", "--accuracy")
    assert result.exit_code == 0, result.stderr
    assert "timesteps" in result.stdout and "ic2: output spikes" in result.stdout
    assert "final: predicts" in result.stdout and "accuracy" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes when not a terminal
    result = cli("inspect", simulate.spikes_folder(project, "test"), "--sample", "99")
    assert result.exit_code == 2
    assert "--sample 99: batch 0 has 50 samples (0-49)" in result.stderr
    summary = json.loads(cli("inspect", simulate.spikes_folder(project, "test"), "--json").stdout)
    assert summary["samples"] == 50 and summary["complete"] is True


def test_kill_9_then_rerun_is_byte_identical(project, tmp_path) -> None:
    other = tmp_path / "clean"
    shutil.copytree(project.folder, other)
    args = [
        "simulate",
        "--split",
        "test",
        "--timesteps",
        "400",
        "--batch-size",
        "30",
        "--limit",
        "150",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "bsf_engine"]
    subprocess.run([*cmd, args[0], str(other), *args[1:]], check=True, env=env, capture_output=True)
    folder = simulate.spikes_folder(project, "test")
    seen_bad: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        # a reader must never see a partial batch file
        while not stop.is_set():
            for path in folder.glob("batch_*.npz") if folder.is_dir() else []:
                try:
                    from bsf_engine.spikes.store import read_batch_file

                    read_batch_file(path)
                except (DataError, FileNotFoundError) as exc:
                    seen_bad.append(f"{path.name}: {exc}")
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    proc = subprocess.Popen(
        [*cmd, args[0], str(project.folder), *args[1:]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(list(folder.glob("batch_*.npz"))) < 2:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    watcher.join()
    assert not seen_bad
    written = len(list(folder.glob("batch_*.npz")))
    assert 2 <= written < 5, "the kill should land mid-simulation"
    subprocess.run(
        [*cmd, args[0], str(project.folder), *args[1:]], check=True, env=env, capture_output=True
    )
    assert batch_bytes(project) == batch_bytes(Project.open(other))
    assert not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_complete_simulation_is_up_to_date(project) -> None:
    from bsf_engine.events import RecordingEvents

    simulate.run(project, split="test", limit=20)
    manifest_path = simulate.spikes_folder(project, "test") / "manifest.json"
    before = manifest_path.read_bytes()
    events = RecordingEvents()
    simulate.run(project, events, split="test", limit=20)
    assert "up to date" in events.of_kind("log")[0]["message"]
    assert manifest_path.read_bytes() == before


# -- `--overwrite` keeps the old spikes until the new run has a batch of its own -------
def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("failure", "code"), [(RuntimeError("out of memory"), 1), (KeyboardInterrupt(), 130)]
)
def test_a_failed_overwrite_leaves_the_old_spikes_byte_identical(
    project, cli, monkeypatch, failure, code
) -> None:
    from bsf_engine.snn.simulator import Simulator

    simulate.run(project, split="test", limit=60)
    folder = simulate.spikes_folder(project, "test")
    before = folder_bytes(folder)
    assert sorted(before) == ["batch_00000.npz", "batch_00001.npz", "manifest.json"]

    def fails(self, *args, **kwargs):  # after the start: the old spikes are already aside
        assert not folder.joinpath("batch_00000.npz").exists()
        raise failure

    monkeypatch.setattr(Simulator, "run", fails)
    args = ("simulate", project.folder, "--split", "test", "--timesteps", "30", "--limit", "1")
    result = cli(*args, "--overwrite")
    assert result.exit_code == code, result.stderr
    assert folder_bytes(folder) == before  # every batch and the manifest, as they were
    assert sorted(p.name for p in folder.parent.iterdir()) == ["test"]  # nothing left aside


def test_an_overwrite_that_fails_after_its_first_batch_keeps_that_batch(
    project, monkeypatch
) -> None:
    from bsf_engine.snn.simulator import Simulator

    simulate.run(project, split="test", limit=60)
    folder = simulate.spikes_folder(project, "test")
    real, calls = Simulator.run, []

    def second_fails(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Simulator, "run", second_fails)
    with pytest.raises(RuntimeError):
        simulate.run(project, split="test", limit=60, timesteps=30, force=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["timesteps"] == 30 and len(manifest["batches"]) == 1  # the new run's
    assert sorted(p.name for p in folder.parent.iterdir()) == ["test"]  # the old are gone
    monkeypatch.setattr(Simulator, "run", real)
    resumed = simulate.run(project, split="test", limit=60, timesteps=30)  # resumes
    assert resumed["complete"] and len(resumed["batches"]) == 2


def test_old_spikes_a_killed_overwrite_left_aside_are_restored(project, monkeypatch) -> None:
    """kill -9 between moving the old spikes aside and the first new batch: the next
    simulation puts them back (and, after the first batch, deletes them)."""
    from bsf_engine.events import RecordingEvents
    from bsf_engine.snn.simulator import Simulator
    from bsf_engine.spikes.store import SetAside, aside_folder

    simulate.run(project, split="test", limit=60)
    folder = simulate.spikes_folder(project, "test")
    before = folder_bytes(folder)

    def killed(self, *args, **kwargs):
        raise SystemExit("killed")  # and, being killed, nothing is put back:

    monkeypatch.setattr(SetAside, "restore", lambda self: None)
    monkeypatch.setattr(Simulator, "run", killed)
    with pytest.raises(SystemExit):
        simulate.run(project, split="test", limit=60, timesteps=30, force=True)
    assert folder_bytes(aside_folder(folder)) == before
    monkeypatch.undo()
    events = RecordingEvents()
    manifest = simulate.run(project, events, split="test", limit=60)  # the old settings
    logs = [e["message"] for e in events.of_kind("log")]
    assert f"restored {folder} (an --overwrite run stopped before its first batch)" in logs
    assert "up to date" in logs[-1] and manifest["timesteps"] == 24
    assert folder_bytes(folder) == before and not aside_folder(folder).exists()


def test_a_cancel_during_the_last_batch_leaves_the_split_complete(project) -> None:
    from bsf_engine import pipeline

    manifest = simulate.run(project, StopAfterBatches(3), split="test", limit=120)  # 3 of 3
    assert manifest["complete"]
    assert pipeline.status(project)["simulate-test"].state == "done"


def test_a_split_whose_every_batch_is_there_but_unmarked_says_so(project) -> None:
    from bsf_engine import pipeline

    simulate.run(project, split="test", limit=120)
    path = simulate.spikes_folder(project, "test") / "manifest.json"
    meta = json.loads(path.read_text())
    meta["complete"] = False  # as a run cancelled after its last batch used to leave it
    path.write_text(json.dumps(meta))
    status = pipeline.status(project)["simulate-test"]
    assert status.state == "partial"
    assert status.reasons == [
        "every sample simulated (120), not marked complete; `bsf run` finishes it"
    ]
    assert simulate.run(project, split="test", limit=120)["complete"]
