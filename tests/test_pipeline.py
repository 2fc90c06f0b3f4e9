"""The stage graph: status of every registered stage from its artifacts, and plans."""

from __future__ import annotations

import json

from bsf_engine import pipeline, stages
from bsf_engine.project import Project
from tests.conftest import FAST_DIGITS


def test_a_fresh_project_plans_every_stage(make_project) -> None:
    project = Project.open(make_project(FAST_DIGITS))
    status = pipeline.status(project)
    assert {s.state for s in status.values()} == {"missing"}
    assert pipeline.plan(status) == list(stages.NAMES)
    assert pipeline.plan(status, until="convert") == ["train", "convert"]
    assert pipeline.plan(status, start="tune", until="report") == [
        "tune",
        "simulate-test",
        "report",
    ]


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
    assert pipeline.plan(status) == list(stages.NAMES)
