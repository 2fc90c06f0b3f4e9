"""The stage graph and `bsf run` / `status` / `ps` / `logs` in one process."""

from __future__ import annotations

import json
import shutil

import pytest

from bsf_engine import pipeline
from bsf_engine.project import Project

from .conftest import TINY_DIGITS

FAST = TINY_DIGITS + "\n[simulate]\ntimesteps = 40\nbatch_size = 200\n"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny project after one whole `bsf run`, and what that printed."""
    from .conftest import run_cli

    folder = tmp_path_factory.mktemp("pipe") / "proj"
    folder.mkdir()
    (folder / "project.toml").write_text(FAST)
    result = run_cli("run", folder)
    return folder, result


@pytest.fixture
def project_copy(finished, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(finished[0], folder)
    return folder


def states(folder) -> dict[str, str]:
    return {name: s.state for name, s in pipeline.status(Project.open(folder)).items()}


def test_a_fresh_project_plans_every_stage(make_project) -> None:
    project = Project.open(make_project(FAST))
    status = pipeline.status(project)
    assert {s.state for s in status.values()} == {"missing"}
    assert pipeline.plan(status) == list(pipeline.STAGES)
    assert pipeline.plan(status, until="convert") == ["train", "convert"]
    assert pipeline.plan(status, start="tune", until="report") == [
        "tune",
        "simulate-test",
        "report",
    ]


def test_run_does_everything_then_nothing(finished, cli) -> None:
    folder, result = finished
    assert result.exit_code == 0, result.stderr
    assert "report" in result.stdout and "BSF grid" in result.stdout  # the report table
    assert "accuracy against energy" in result.stdout  # and its plot
    assert set(states(folder).values()) == {"done"}
    again = cli("run", folder)
    assert again.exit_code == 0 and "every stage is done" in again.stderr
    assert "BSF grid" in again.stdout  # the report again


def test_status_json_logs_and_ps(finished, cli) -> None:
    folder, _ = finished
    info = json.loads(cli("status", folder, "--json").stdout)
    assert list(info["stages"]) == list(pipeline.STAGES)
    assert info["running"] is None
    train = info["stages"]["train"]
    assert train["state"] == "done" and train["metric"].startswith("test acc")
    assert train["created"] and train["seconds"] is not None
    runs = json.loads(cli("ps", folder.parent, "--all", "--json").stdout)
    assert [r["state"] for r in runs] == ["done"]
    assert runs[0]["stages"] == list(pipeline.STAGES)
    log = cli("logs", runs[0]["id"], "--folder", folder.parent)
    assert log.exit_code == 0
    lines = log.stdout.splitlines()
    assert "start: train → convert" in lines[0] and lines[-1].endswith("end: done")
    assert any("simulate-test" in line and "wrote" in line for line in lines)


def test_a_changed_config_section_makes_its_stages_stale(project_copy, cli) -> None:
    toml = project_copy / "project.toml"
    toml.write_text(FAST + "\n[fusion]\nalpha_max = 50.0\n")
    status = pipeline.status(Project.open(project_copy))
    assert status["tune"].state == "stale" and status["report"].state == "stale"
    assert status["tune"].reasons == ["[fusion] changed since"]
    assert status["simulate-test"].state == "done"
    assert pipeline.plan(status) == ["tune", "simulate-test", "report"]
    result = cli("run", project_copy)
    assert result.exit_code == 0, result.stderr
    assert set(states(project_copy).values()) == {"done"}
    with open(project_copy / "alpha.json") as handle:
        assert json.load(handle)["alpha_range"] == [0.0, 50.0]


def test_changed_inputs_versions_and_broken_files_are_reported(project_copy) -> None:
    snn_json = project_copy / "snn.json"
    meta = json.loads(snn_json.read_text())
    meta["inputs"]["ann.pt"] = "0" * 16
    snn_json.write_text(json.dumps(meta))
    alpha_json = project_copy / "alpha.json"
    meta = json.loads(alpha_json.read_text())
    meta["stamp"]["bsf_version"] = "0.0.1"
    alpha_json.write_text(json.dumps(meta))
    manifest = project_copy / "spikes" / "test" / "manifest.json"
    meta = json.loads(manifest.read_text())
    meta["complete"] = False
    meta["batches"] = meta["batches"][:1]
    manifest.write_text(json.dumps(meta))
    (project_copy / "ann.json").write_text("{torn")
    status = pipeline.status(Project.open(project_copy))
    assert status["train"].state == "corrupt" and "ann.json" in status["train"].reasons[0]
    assert (status["convert"].state, status["convert"].reasons) == (
        "stale",
        ["ann.pt changed since"],
    )
    assert status["tune"].state == "stale" and "made by bsf 0.0.1" in status["tune"].reasons[0]
    assert status["simulate-test"].state == "partial"
    assert "200 of 359 samples" in status["simulate-test"].reasons[0]
    assert pipeline.plan(status) == list(pipeline.STAGES)


def test_bad_stage_names_are_one_line_errors(make_project, cli) -> None:
    folder = make_project(FAST)
    result = cli("run", folder, "--until", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --until 'nope': choose one of train, convert")
    result = cli("run", folder, "--from", "report", "--until", "train")
    assert result.stderr == "error: --from report comes after --until train\n"
    assert sorted(p.name for p in folder.iterdir()) == ["project.toml"]


def test_stage_commands_and_runs_exclude_each_other(make_project, cli) -> None:
    from bsf_engine.runs import lock

    folder = make_project(FAST)
    lock.acquire(folder, "20261127-000000-abcd")
    for command in ("train", "convert", "simulate", "tune", "report", "run"):
        result = cli(command, folder)
        assert result.exit_code == 2, command
        assert result.stderr.startswith(f"error: {folder}: run 20261127-000000-abcd is running")
    lock.release(folder, "20261127-000000-abcd")
    with lock.held(folder, "`bsf simulate`"):
        result = cli("run", folder)
    assert result.exit_code == 2
    assert "`bsf simulate` is running (pid" in result.stderr
    assert "stop it where it runs" in result.stderr
    assert not (folder / lock.LOCK).exists()
