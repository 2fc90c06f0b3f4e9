"""docs/cluster/bsf.sbatch under a real SLURM: a private single-node one (munged,
slurmctld and slurmd of Debian's slurm-wlm, tests/minislurm.py) that this module starts
in a temporary folder and tears down. Skipped without root or the binaries."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bsf_engine.runs import store

from . import minislurm
from .conftest import TINY_DIGITS, run_cli
from .spike_folders import ROOT, batch_bytes, one_process, without_devices, without_times

SCRIPT = ROOT / "docs" / "cluster" / "bsf.sbatch"
# the docs' GPU nodes become this 2-core box; every other line is submitted as written
ON_THIS_BOX = (
    ("#SBATCH --nodes=2\n", "#SBATCH --nodes=1\n"),
    ("#SBATCH --gpus-per-node=4\n", ""),
    ("#SBATCH --cpus-per-task=32\n", "#SBATCH --cpus-per-task=2\n"),
    ('--nproc-per-node="${SLURM_GPUS_PER_NODE##*:}"', "--nproc-per-node=2"),
)
LIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "SUSPENDED", "SIGNALING"}
PIPELINE = ["simulate-tune", "tune", "simulate-test", "report", "exit"]
# 36 batches a split of about a tenth of a second each on two ranks: a requeue after the
# second batch lands mid-split
LONG = TINY_DIGITS + "\n[simulate]\ntimesteps = 100\nbatch_size = 10\n"


def test_the_docs_show_the_script_that_is_tested() -> None:
    assert SCRIPT.read_text().strip() in (ROOT / "docs" / "cluster.md").read_text()


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> Iterator[minislurm.MiniSlurm]:
    why = minislurm.unavailable()
    if why is not None:
        pytest.skip(f"no private SLURM: {why}")
    if not (ROOT / ".venv" / "bin" / "activate").is_file():
        pytest.skip("the sbatch script activates the repository's .venv (make setup)")
    cluster = minislurm.MiniSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Job:
    slurm: minislurm.MiniSlurm
    id: str
    output: Path

    def field(self, name: str) -> str:
        return self.slurm.job(self.id)[name]

    def ended(self) -> bool:
        return self.field("JobState") not in LIVE

    def wait(self, ready: Callable[[], bool], what: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                pytest.fail(f"job {self.id}: no {what} after {timeout:.0f} s\n{self.story()}")
            time.sleep(0.05)

    def requeued(self, restarts: int) -> None:
        """Wait until SLURM has put the job back in the queue, then let it start: SLURM
        holds a requeued job for two minutes (its BeginTime) first."""

        def pending() -> bool:
            job = self.slurm.job(self.id)
            return job["JobState"] == "PENDING" and job["Restarts"] == str(restarts)

        self.wait(pending, f"requeue #{restarts}")
        self.slurm.run("scontrol", "update", f"JobId={self.id}", "StartTime=now")

    def story(self) -> str:
        text = self.output.read_text(errors="replace") if self.output.is_file() else ""
        return "\n".join(text.splitlines()[-40:]) + "\n" + self.slurm.logs()


def submit(slurm: minislurm.MiniSlurm, project: Path, folder: Path) -> Job:
    text = SCRIPT.read_text()
    for old, new in ON_THIS_BOX:
        assert text.count(old) == 1, f"{SCRIPT}: {old!r} is no longer there once"
        text = text.replace(old, new)
    script = folder / "bsf.sbatch"
    script.write_text(text)
    output = folder / "slurm.out"
    return Job(slurm, slurm.submit(script, str(project), cwd=ROOT, output=output), output)


def pipeline_copy(finished_project, tmp_path: Path, name: str, toml: str | None = None) -> Path:
    """The finished project's ANN and SNN, with the simulations and what follows to do."""
    folder = tmp_path / name
    later = shutil.ignore_patterns("runs", "spikes", "alpha.*", "report.json")
    shutil.copytree(finished_project[0], folder, ignore=later)
    if toml is not None:
        (folder / "project.toml").write_text(toml)
    return folder


def cli_json(*args: object) -> object:
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def all_done(project: Path) -> dict[str, str]:
    stages = cli_json("status", project, "--json")["stages"]
    return {name: s["state"] for name, s in stages.items() if s["state"] != "done"}


def test_the_docs_script_runs_a_project_as_one_run(slurm, finished_project, tmp_path) -> None:
    project = pipeline_copy(finished_project, tmp_path, "sbatch")
    job = submit(slurm, project, tmp_path)
    job.wait(job.ended, "end")
    assert job.field("JobState") == "COMPLETED", job.story()
    assert all_done(project) == {}
    (run,) = cli_json("ps", project, "--all", "--json")
    assert (run["state"], run["stages"], run["ranks"]) == ("done", PIPELINE, 2)
    assert run["host"] == socket.gethostname()
    original = finished_project[0]
    for split in ("tune", "test"):
        assert batch_bytes(project, split) == batch_bytes(original, split), split
        assert without_times(project, split) == without_times(original, split), split


def in_split(project: Path, stage: str, seen: set[str]) -> Callable[[], bool]:
    """Whether a run not in `seen` is in `stage` and has two of its batches."""

    def ready() -> bool:
        for run in store.project_runs(project):
            if run.id in seen:
                continue
            events, _ = store.read_events(run.events_path)
            if any(
                e.get("stage") == stage and e.get("task") == "batch" and e.get("done", 0) >= 2
                for e in events
            ):
                seen.add(run.id)
                return True
        return False

    return ready


def written(project: Path) -> dict[str, tuple[int, int]]:
    """Every result file (not the manifests of partial splits) and its inode and mtime."""
    files = [*project.glob("spikes/*/batch_*.npz"), *project.glob("alpha.*")]
    for manifest in project.glob("spikes/*/manifest.json"):
        if json.loads(manifest.read_text()).get("complete"):
            files.append(manifest)
    return {str(p.relative_to(project)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}


def assert_partial(project: Path, split: str) -> None:
    """The split was stopped midway: some of its batches written, not all."""
    folder = project / "spikes" / split
    count = len(list(folder.glob("batch_*.npz")))
    assert 0 < count < 36, f"{split}: {count} batches when the job was stopped"
    assert not json.loads((folder / "manifest.json").read_text()).get("complete")


def test_a_requeued_job_resumes_where_it_stopped(slurm, finished_project, tmp_path) -> None:
    """Requeued twice: by its own trap (the USR1 that --signal=B:USR1@300 sends before the
    time limit) in the tune split, by `scontrol requeue` (what preemption does) in the
    test split. Each start resumes; the spikes are those of one uninterrupted process."""
    reference = pipeline_copy(finished_project, tmp_path, "one", LONG)
    one_process(reference, "--split", "tune")
    one_process(reference, "--split", "test")
    project = pipeline_copy(finished_project, tmp_path, "requeued", LONG)
    job = submit(slurm, project, tmp_path)
    seen: set[str] = set()

    job.wait(in_split(project, "simulate-tune", seen), "batches of the tune split")
    slurm.run("scancel", "--batch", "--signal=USR1", job.id)
    job.requeued(1)
    assert_partial(project, "tune")
    kept = written(project)

    job.wait(in_split(project, "simulate-test", seen), "batches of the test split")
    slurm.run("scontrol", "requeue", job.id)
    job.requeued(2)
    assert_partial(project, "test")
    kept = written(project) | kept  # a file as first seen: written once, never again

    job.wait(job.ended, "end")
    assert job.field("JobState") == "COMPLETED", job.story()
    assert all_done(project) == {}
    runs = cli_json("ps", project, "--all", "--json")
    # SIGTERM reached rank 0, which stopped at a batch's end and recorded it
    assert [(r["state"], r["stage"]) for r in runs] == [
        ("cancelled", "simulate-tune"),
        ("cancelled", "simulate-test"),
        ("done", "exit"),
    ], job.story()
    assert [r["ranks"] for r in runs] == [2, 2, 2]
    assert runs[2]["stages"] == ["simulate-test", "report", "exit"]  # finished ones kept
    now = written(project)
    assert {name: now.get(name) for name in kept} == kept  # adopted, not written again
    for split in ("tune", "test"):
        assert batch_bytes(project, split) == batch_bytes(reference, split), split
        made, alone = without_times(project, split), without_times(reference, split)
        assert without_devices(made) == without_devices(alone), split
