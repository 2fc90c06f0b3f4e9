"""Stage `exit` on a trained project: its artifacts, fixed t equal to the report, staleness,
and the commands that show it (`bsf exit`, `bsf report`)."""

from __future__ import annotations

import csv
import json

from bsf_engine import pipeline, stages
from bsf_engine.project import Project
from bsf_engine.states import ExitPolicy


def test_bsf_run_ends_with_the_exit_stage(finished_project) -> None:
    folder, _ = finished_project
    record = json.loads((folder / "exit.json").read_text())
    assert list(record["policies"]) == list(ExitPolicy)
    assert record["samples"]["tune"] > 0 and record["samples"]["test"] > 0
    assert record["stamp"]["stage"] == "exit"
    assert record["energy_models"] == ["spikesim", "syops"]  # bsf's files record counts
    assert pipeline.status(Project.open(folder))["exit"].state == "done"
    for point in record["policies"].values():
        if point["threshold_index"] is None:
            continue
        assert point["chosen_on"] == ("test" if point["policy"] == "oracle" else "tune")
        assert 1 <= point["test"]["mean_steps"] <= record["timesteps"]
        assert point["test"]["median_steps"] <= point["test"]["p95_steps"]


def test_fixed_t_read_on_test_is_the_reports_steps_and_energy(finished_project) -> None:
    folder, _ = finished_project
    report = json.loads((folder / "report.json").read_text())
    record = json.loads((folder / "exit.json").read_text())
    for policy, method in (("fixed-final", "final"), ("fixed-bsf", "bsf_grid")):
        read = record["policies"][policy]["test_read"]
        assert read["mean_steps"] == report["methods"][method]["steps_to_target"]
        assert read["energy_J"] == report["methods"][method]["energy_to_target_J"]


def test_an_exit_setting_makes_only_the_exit_stage_stale(project_copy) -> None:
    toml = project_copy / "project.toml"
    toml.write_text(toml.read_text() + "\n[exit]\ntemperature = 0.5\n")
    status = pipeline.status(Project.open(project_copy))
    assert status["exit"].state == "stale"
    assert status["exit"].reasons == ["[fusion]/[energy]/[exit] changed since"]
    assert pipeline.plan(status) == ["exit"]


def test_bsf_exit_prints_the_table_plots_and_writes_csv(project_copy, cli, tmp_path) -> None:
    result = cli("exit", project_copy, "--csv", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert "up to date" in result.stderr  # `bsf run` made it: not redone
    for policy in ExitPolicy:
        assert f" {policy} " in result.stdout
    assert "θ chosen on the tune split" in result.stdout
    assert "exit steps of BSF posterior on test" in result.stdout
    with open(tmp_path / "out" / "exit.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["policy"] for row in rows] == list(ExitPolicy)
    with open(tmp_path / "out" / "exit_sweeps.csv") as handle:
        sweeps = list(csv.DictReader(handle))
    assert {row["split"] for row in sweeps} == {"tune", "test"}
    forced = cli("exit", project_copy, "--force", "--json", "--policy", "confidence")
    assert forced.exit_code == 0, forced.stderr
    data = json.loads(forced.stdout)
    assert list(data["policies"]) == list(ExitPolicy)


def test_a_target_or_energy_model_changes_what_is_shown_not_exit_json(project_copy, cli) -> None:
    before = (project_copy / "exit.json").read_bytes()
    shown = json.loads(cli("exit", project_copy, "--json", "--target", "0.5").stdout)
    assert shown["target_fraction"] == 0.5
    default = json.loads(cli("exit", project_copy, "--json").stdout)
    # a lower target is reached sooner: the chosen θ of fixed t cannot come later
    assert (
        shown["policies"]["fixed-bsf"]["threshold"] <= default["policies"]["fixed-bsf"]["threshold"]
    )
    syops = json.loads(cli("exit", project_copy, "--json", "--energy", "syops").stdout)
    assert syops["energy_model"] == "syops"
    assert (project_copy / "exit.json").read_bytes() == before


def test_the_report_shows_the_early_exit_table_when_exit_is_current(project_copy, cli) -> None:
    result = cli("report", project_copy)
    assert result.exit_code == 0, result.stderr
    assert "early exit on the test split" in result.stdout
    data = json.loads(cli("report", project_copy, "--json").stdout)
    assert list(data["exit"]["policies"]) == list(ExitPolicy)
    toml = project_copy / "project.toml"
    toml.write_text(toml.read_text() + '\n[exit]\nalpha = "emp"\n')  # exit.json now stale
    stale = cli("report", project_copy)
    assert stale.exit_code == 0 and "early exit" not in stale.stdout
    assert "exit" not in json.loads(cli("report", project_copy, "--json").stdout)


def test_bad_exit_options_and_missing_stages_are_one_line_errors(make_project, cli) -> None:
    folder = make_project()
    result = cli("exit", folder)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "run `bsf simulate" in result.stderr
    bad = cli("exit", folder, "--policy", "coin-flip")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --policy coin-flip: choose fixed-final, fixed-bsf")
    assert cli("exit", folder, "--target", "1.5").exit_code == 2
    assert sorted(p.name for p in folder.iterdir()) == ["project.toml"]


def test_the_exit_stage_is_one_registry_entry() -> None:
    assert stages.NAMES[-1] == "exit" and stages.EXIT.command == "exit"
    assert stages.get("exit") is stages.EXIT
