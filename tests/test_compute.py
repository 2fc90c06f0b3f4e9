"""The CPU thread policy: who chooses the count (flag, environment, [compute] threads,
the stage's policy), and that a stage's work runs on it, whichever face starts it."""

from __future__ import annotations

import pytest
import torch

from bsf_engine import compute, pipeline, stages, tune
from bsf_engine.errors import DataError
from bsf_engine.events import RecordingEvents
from bsf_engine.project import Project

from .handmade import PROJECT

NO_ENV: dict[str, str] = {}


def test_the_stage_policy_decides_when_nobody_else_does() -> None:
    assert compute.threads_for("tune", compute.ONE, environ=NO_ENV) == compute.Threads(
        1, "tune: small tensors, one thread"
    )
    everything = compute.threads_for("train", compute.ALL, "auto", environ=NO_ENV)
    assert everything.count == compute.torch_default() and "torch's default" in everything.why
    with pytest.raises(ValueError, match="threads policy 'some'"):
        compute.threads_for("odd", "some", environ=NO_ENV)


def test_setting_then_environment_then_flag_win() -> None:
    policy = compute.ONE
    assert compute.threads_for("tune", policy, 3, environ=NO_ENV) == compute.Threads(
        3, "[compute] threads"
    )
    env = {"MKL_NUM_THREADS": "5"}
    assert compute.threads_for("tune", policy, 3, environ=env) == compute.Threads(
        5, "MKL_NUM_THREADS"
    )
    env["OMP_NUM_THREADS"] = "4"
    assert compute.threads_for("tune", policy, 3, environ=env) == compute.Threads(
        4, "OMP_NUM_THREADS"
    )
    assert compute.threads_for("tune", policy, 3, 2, env) == compute.Threads(2, "--threads")
    assert compute.threads_for("train", compute.ALL, "auto", 1, env).count == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OMP_NUM_THREADS": "4,2"}, ("OMP_NUM_THREADS", 4)),  # OpenMP's nested form
        ({"OMP_NUM_THREADS": " 3 "}, ("OMP_NUM_THREADS", 3)),
        ({"OMP_NUM_THREADS": "", "MKL_NUM_THREADS": "2"}, ("MKL_NUM_THREADS", 2)),
        ({"OMP_NUM_THREADS": "0"}, None),  # not a count: ignored
        ({"OMP_NUM_THREADS": "many"}, None),
        ({}, None),
    ],
)
def test_the_environment_counts_only_when_it_holds_a_count(env, expected) -> None:
    assert compute.environment_threads(env) == expected


def test_using_sets_the_count_and_restores_it() -> None:
    before = torch.get_num_threads()
    with compute.using(1) as count:
        assert count == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), compute.using(3):
        assert torch.get_num_threads() == 3
        raise RuntimeError("a failing stage")
    assert torch.get_num_threads() == before


def test_quiet_waits_keeps_a_policy_the_user_chose() -> None:
    env: dict[str, str] = {}
    compute.quiet_waits(env)
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}
    chosen = {"OMP_WAIT_POLICY": "active"}
    compute.quiet_waits(chosen)
    assert chosen == {"OMP_WAIT_POLICY": "active"}


class Recorded(DataError):
    """Raised by a recording stage to end a stage command before it prints its result."""


@pytest.fixture
def threads_seen(monkeypatch) -> dict[str, int]:
    """Each stage's `run` replaced by one that records the thread count it ran on (and,
    while `seen["stop"]` is set, ends the command with `Recorded`)."""
    import importlib

    seen: dict = {}

    def recorder(name: str):
        def record(*_args, **options):  # the two simulations share a module: keyed by split
            seen[f"simulate-{options['split']}" if "split" in options else name] = (
                torch.get_num_threads()
            )
            if seen.get("stop"):
                raise Recorded("recorded")
            return {}

        return record

    for stage in stages.STAGES:
        monkeypatch.setattr(importlib.import_module(stage.module), "run", recorder(stage.name))
    monkeypatch.setattr(tune, "run_reference", recorder("tune-reference"))
    for name in compute.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return seen


def test_each_stage_runs_on_its_policy(threads_seen, handmade_folder) -> None:
    project = Project.open(handmade_folder)
    before = torch.get_num_threads()
    events = RecordingEvents()
    for name in stages.NAMES:
        pipeline.run_stage(project, name, events)
        assert torch.get_num_threads() == before  # restored after each stage
    everything = compute.torch_default()
    assert threads_seen == {
        "train": everything,
        "convert": everything,
        "simulate-tune": everything,
        "tune": 1,
        "simulate-test": everything,
        "report": 1,
        "exit": 1,
    }
    logs = [e["message"] for e in events.of_kind("log")]
    assert "1 CPU thread (tune: small tensors, one thread)" in logs


def test_a_stage_runs_on_the_chosen_count(threads_seen, handmade_folder, monkeypatch) -> None:
    (handmade_folder / "project.toml").write_text(PROJECT + "\n[compute]\nthreads = 3\n")
    project = Project.open(handmade_folder)
    pipeline.run_stage(project, "tune", RecordingEvents())
    assert threads_seen["tune"] == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    pipeline.run_stage(project, "tune", RecordingEvents())
    assert threads_seen["tune"] == 2
    pipeline.run_stage(project, "train", RecordingEvents(), threads=1)
    assert threads_seen["train"] == 1


def test_stage_commands_and_run_take_threads(threads_seen, handmade_folder, cli) -> None:
    threads_seen["stop"] = True  # each command ends after its stage recorded
    for command in ("train", "convert", "simulate", "tune", "report"):
        result = cli(command, handmade_folder, "--threads", "3")
        assert (result.exit_code, result.stderr) == (2, "error: recorded\n"), command
    assert threads_seen == {
        "stop": True,
        "train": 3,
        "convert": 3,
        "simulate-test": 3,
        "tune": 3,
        "report": 3,
    }
    threads_seen.clear()
    result = cli("run", handmade_folder, "--from", "tune", "--threads", "2")
    assert result.exit_code == 0, result.stderr
    assert threads_seen == {"tune": 2, "simulate-test": 2, "report": 2, "exit": 2}
    threads_seen.clear()
    cli("tune", handmade_folder)
    assert threads_seen == {"tune": 1}
    bad = cli("tune", handmade_folder, "--threads", "0")
    assert bad.exit_code == 2 and "--threads" in bad.stderr and threads_seen == {"tune": 1}


def test_a_reference_folder_is_tuned_on_the_policy_too(threads_seen, tmp_path, cli) -> None:
    (tmp_path / "theirs" / "train").mkdir(parents=True)  # the reference's tuning spikes
    threads_seen["stop"] = True
    cli("tune", tmp_path / "theirs")
    assert threads_seen["tune-reference"] == 1
    cli("tune", tmp_path / "theirs", "--threads", "2")
    assert threads_seen["tune-reference"] == 2
