"""`bsf run`, `status`, `ps` and `logs` in one process, and the project lock between runs
and a stage's own command."""

from __future__ import annotations

import json

from bsf_engine import pipeline, stages
from bsf_engine.project import Project
from tests.conftest import FAST_DIGITS


def states(folder) -> dict[str, str]:
    return {name: s.state for name, s in pipeline.status(Project.open(folder)).items()}


def test_run_does_everything_then_nothing(finished_project, cli) -> None:
    folder, result = finished_project
    assert result.exit_code == 0, result.stderr
    assert "report" in result.stdout and "BSF grid" in result.stdout  # the report table
    assert "accuracy against SpikeSim energy" in result.stdout  # and its plot
    assert set(states(folder).values()) == {"done"}
    again = cli("run", folder)
    assert again.exit_code == 0 and "every stage is done" in again.stderr
    assert "BSF grid" in again.stdout  # the report again


def test_status_json_logs_and_ps(finished_project, cli) -> None:
    folder, _ = finished_project
    info = json.loads(cli("status", folder, "--json").stdout)
    assert list(info["stages"]) == list(stages.NAMES)
    assert info["running"] is None
    train = info["stages"]["train"]
    assert train["state"] == "done" and train["metric"].startswith("test acc")
    assert train["created"] and train["seconds"] is not None
    runs = json.loads(cli("ps", folder.parent, "--all", "--json").stdout)
    assert [r["state"] for r in runs] == ["done"]
    assert runs[0]["stages"] == list(stages.NAMES)
    log = cli("logs", runs[0]["id"], "--folder", folder.parent)
    assert log.exit_code == 0
    lines = log.stdout.splitlines()
    assert "start    train → convert" in lines[0] and lines[-1].endswith("end      done")
    assert any("simulate-test" in line and "wrote" in line for line in lines)


def test_a_changed_config_section_makes_its_stages_stale(project_copy, cli) -> None:
    toml = project_copy / "project.toml"
    toml.write_text(FAST_DIGITS + "\n[fusion]\nalpha_max = 50.0\n")
    status = pipeline.status(Project.open(project_copy))
    assert status["tune"].state == "stale" and status["report"].state == "stale"
    assert status["tune"].reasons == ["[fusion] changed since"]
    assert status["simulate-test"].state == "done"
    assert pipeline.plan(status) == ["tune", "simulate-test", "report", "exit"]
    result = cli("run", project_copy)
    assert result.exit_code == 0, result.stderr
    assert set(states(project_copy).values()) == {"done"}
    with open(project_copy / "alpha.json") as handle:
        assert json.load(handle)["alpha_range"] == [0.0, 50.0]


def test_bad_stage_names_are_one_line_errors(make_project, cli) -> None:
    folder = make_project(FAST_DIGITS)
    result = cli("run", folder, "--until", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --until 'nope': choose one of train, convert")
    result = cli("run", folder, "--from", "report", "--until", "train")
    assert result.stderr == "error: --from report comes after --until train\n"
    assert sorted(p.name for p in folder.iterdir()) == ["project.toml"]


def test_stage_commands_and_runs_exclude_each_other(make_project, cli) -> None:
    from bsf_engine.runs import lock

    folder = make_project(FAST_DIGITS)
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


def test_ps_of_a_folder_that_does_not_exist_is_a_usage_error(cli, tmp_path) -> None:
    missing = tmp_path / "typo" / "dir"
    result = cli("ps", missing)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {missing}: no such folder; give the folder holding your projects, or one project\n"
    )
    assert result.stdout == ""


def _running_run(folder):
    """A run recorded as running in this (live) process, with a long progress log."""
    import os

    from bsf_engine.runs import process, store
    from bsf_engine.runs.sink import JsonlEvents

    run = store.create(folder, "20260101-120000-aaaa", stages=["tune"])
    run.update(state="running", pid=os.getpid(), proc_start=process.start_ticks(os.getpid()))
    sink = JsonlEvents(run.events_path)
    sink.stage = "tune"
    for done in range(1, 201):
        sink.write("progress", task="step", done=done, total=200, unit="step", loss=1 / done)
    sink.write("log", level="info", message="halfway")
    return run


def test_logs_thin_progress_unless_all_and_round_floats(handmade_folder, cli) -> None:
    run = _running_run(handmade_folder)
    folder = handmade_folder.parent
    thin = cli("logs", run.id, "--folder", folder).stdout.splitlines()
    every = cli("logs", run.id, "--folder", folder, "--all").stdout.splitlines()
    assert len(every) == 201 and 10 <= len(thin) <= 13
    assert thin[-1].endswith("halfway") and "step 200/200 loss=0.005" in thin[-2]
    assert "loss=0.333" in every[2]  # 1/3, three significant digits


def test_ctrl_c_on_logs_follow_says_the_run_goes_on(handmade_folder, cli, monkeypatch) -> None:
    from bsf_engine.cli import run_commands

    run = _running_run(handmade_folder)

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_commands.time, "sleep", interrupt)
    result = cli("logs", run.id, "-f", "--folder", handmade_folder.parent)
    assert result.exit_code == 130
    assert f"stopped following; run {run.id} goes on" in result.stderr
    assert "interrupted" not in result.stderr and "rerun" not in result.stderr


def test_status_and_ps_fit_80_columns_without_cutting_or_wrapping(handmade_folder) -> None:
    from rich.console import Console

    from bsf_engine.cli.render import status_table
    from bsf_engine.cli.run_commands import runs_table
    from bsf_engine.runs import store
    from bsf_engine.runs.status import project_status
    from bsf_engine.views import run_row

    status = project_status(Project.open(handmade_folder))
    status["stages"]["tune"].update(state="stale", reasons=["[fusion] changed since"])
    status["stages"]["simulate-test"].update(
        state="partial", reasons=["128 of 256 samples; `bsf run` resumes, " * 3]
    )
    console = Console(width=80, record=True)
    console.print(status_table(status))
    run = store.create(handmade_folder, "20260101-120000-aaaa", stages=list(stages.NAMES))
    run.update(state="cancelled", stage="simulate-test", started="2026-01-01T12:00:00+00:00")
    # the longest shipped project's name, on a run that began on another day and took
    # minutes: the name gives way (…), never the state, stage, start or time taken
    long_name = handmade_folder.parent / "fashion-vgg11-cpu"
    long_name.mkdir()
    other = store.create(long_name, "20260101-120000-bbbb", stages=list(stages.NAMES))
    other.update(
        state="running",
        stage="simulate-test",
        started="2026-01-01T12:00:00+00:00",
        started_at=1000.0,
        ended_at=1090.0,
    )
    console.print(runs_table([run_row(run), run_row(other)]))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == len(stages.NAMES)  # one line a stage: nothing wrapped
    assert {"simulate-tune", "simulate-test"} <= {row.split("│")[1].strip() for row in rows}
    assert "tune: [fusion] changed since" in text  # a note, not markup
    assert "simulate-test 5/7" in text and "cancelled" in text
    long_row = next(line for line in lines if "bbbb" in line)
    assert long_row.rstrip().endswith("01-01   1.5 min"), long_row
    assert " fashion-vgg11-" in long_row and "running" not in long_row  # lost: no live pid
