"""The stage registry: each entry's stamp, labels and inputs, and that a new stage is one
module plus one registry entry (tests/extra_stage.py) — status, plans, `bsf run` and
`bsf status` take it up with nothing else changed."""

from __future__ import annotations

import importlib
import inspect
import json
import shutil

import pytest

from bsf_engine import layout, pipeline, stages
from bsf_engine.config import default_config
from bsf_engine.errors import DataError
from bsf_engine.events import RecordingEvents
from bsf_engine.project import Project

from .handmade import PROJECT


def test_the_registry_is_the_pipeline_in_order() -> None:
    assert stages.NAMES == (
        "train",
        "convert",
        "simulate-tune",
        "tune",
        "simulate-test",
        "report",
        "exit",
    )
    made: set[str] = set()
    for stage in stages.STAGES:
        assert stage.record in stage.outputs
        # a stage's inputs are made by the stages before it
        assert set(stage.inputs) <= made, stage.name
        made |= set(stage.outputs) | ({layout.SNN_PT} if stage is stages.CONVERT else set())
        run = importlib.import_module(stage.module).run
        assert "force" in inspect.signature(run).parameters


def test_stamps_and_labels() -> None:
    config = default_config()
    convert = stages.CONVERT
    assert convert.config_hash(config) == config.hash_of("data", "model", "train", "convert")
    assert convert.changed_label == "[convert] (or earlier)"
    assert convert.config_label == "[data]/[model]/[train]/[convert]"
    assert stages.REPORT.changed_label == "[fusion]/[energy]"
    assert stages.SIMULATE_TUNE.stamp(config)["stage"] == "simulate"
    assert stages.SIMULATE_TUNE.config_hash(config) == stages.SIMULATE_TEST.config_hash(config)


def test_stage_names() -> None:
    assert stages.get("simulate") is stages.SIMULATE_TEST
    assert stages.simulation("tune") is stages.SIMULATE_TUNE
    with pytest.raises(DataError, match="--until 'nope': choose one of train, convert"):
        stages.get("nope", "--until")
    with pytest.raises(DataError, match="split 'val': choose tune or test"):
        stages.simulation("val")


@pytest.fixture
def finished(handmade_folder):
    return handmade_folder


def test_a_new_stage_is_one_module_and_one_entry(with_extra_stage, finished, cli) -> None:
    project = Project.open(finished)
    status = pipeline.status(project)
    assert list(status) == [*stages.NAMES[:-1], "extra"]
    assert status["extra"].state == "missing" and status["report"].state == "done"
    assert pipeline.plan(status) == ["extra"]

    events = RecordingEvents()
    pipeline.run_stage(project, "extra", events)
    assert events.of_kind("artifact")[0]["path"].endswith("extra.json")
    done = pipeline.status(project)["extra"]
    assert (done.state, done.metric, done.seconds) == ("done", "48 steps read", 0.5)

    # its input changed: it is stale, and `bsf run` redoes it alone
    report = project.layout.report_json
    report.write_text(report.read_text().replace('"split": "test"', '"split": "test" '))
    stale = pipeline.status(project)["extra"]
    assert (stale.state, stale.reasons) == ("stale", ["report.json changed since"])
    result = cli("run", finished)
    assert result.exit_code == 0, result.stderr
    assert "run " in result.stderr and ": extra" in result.stderr
    table = cli("status", finished).stdout
    assert "extra" in table and "48 steps read" in table
    assert json.loads(cli("status", finished, "--json").stdout)["stages"]["extra"]["state"] == (
        "done"
    )

    # its config section changed: stale with the section named, like every stage
    (finished / "project.toml").write_text(PROJECT + "\n[fusion]\nalpha_max = 50.0\n")
    changed = pipeline.status(Project.open(finished))
    assert changed["extra"].reasons == ["[fusion] changed since"]
    assert changed["tune"].reasons == ["[fusion] changed since"]


def test_the_extra_stage_is_unknown_without_its_entry(finished, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    with pytest.raises(DataError, match="stage 'extra': choose one of"):
        pipeline.run_stage(Project.open(copy), "extra", RecordingEvents())
