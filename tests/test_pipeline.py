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


def test_truncated_empty_or_foreign_artifacts_are_corrupt(handmade_folder) -> None:
    """Checked cheaply (zip directories, the pickled spec, .npy headers; no torch), each
    named with the fix: a plain `bsf run` redoes a corrupt stage."""
    from tests.handmade import _checkpoint

    folder = handmade_folder
    (folder / "snn.pt").write_bytes((folder / "snn.pt").read_bytes()[:40])
    (folder / "alpha.npz").write_bytes(b"")
    spec = json.loads((folder / "ann.json").read_text())["spec"]
    (folder / "ann.pt").write_bytes(_checkpoint({**spec, "arch": "vgg11"}))
    (folder / "report.json").write_text("{garbled")
    status = pipeline.status(Project.open(folder))
    reasons = {name: s.reasons for name, s in status.items() if s.state == "corrupt"}
    assert reasons == {
        "train": [
            f"{folder / 'ann.pt'}: holds arch vgg11, but project.toml and ann.json say arch "
            "vggtiny; `bsf run` redoes it"
        ],
        "convert": [
            f"{folder / 'snn.pt'}: unreadable (truncated or not a zip archive, 40 bytes); "
            "`bsf run` redoes it"
        ],
        "tune": [f"{folder / 'alpha.npz'}: unreadable (empty, 0 bytes); `bsf run` redoes it"],
        "report": [f"{folder / 'report.json'} is unreadable; `bsf run` redoes it"],
    }
    assert pipeline.plan(status) == list(stages.NAMES)


def test_a_checkpoint_is_checked_against_its_record_and_project_toml(handmade_folder) -> None:
    from tests.handmade import _checkpoint

    folder = handmade_folder
    ann = json.loads((folder / "ann.json").read_text())
    (folder / "ann.pt").write_bytes(_checkpoint({**ann["spec"], "width": 0.5}))
    (folder / "ann.json").write_text(json.dumps({**ann, "spec": {**ann["spec"], "width": 0.5}}))
    status = pipeline.status(Project.open(folder))["train"]
    assert status.state == "corrupt"  # ann.json agrees with ann.pt; project.toml does not
    assert status.reasons == [
        f"{folder / 'ann.pt'}: holds width 0.5, but project.toml says width 0.25; "
        "`bsf run` redoes it"
    ]
    (folder / "ann.pt").write_bytes(_checkpoint({**ann["spec"], "ics": [1]}))
    (folder / "ann.json").write_text(json.dumps(ann))
    assert pipeline.status(Project.open(folder))["train"].reasons == [
        f"{folder / 'ann.pt'}: holds ics [1], but project.toml and ann.json say ics [2]; "
        "`bsf run` redoes it"
    ]
    (folder / "ann.pt").write_bytes(_checkpoint({**ann["spec"], "num_classes": 100}))
    assert pipeline.status(Project.open(folder))["train"].reasons == [
        f"{folder / 'ann.pt'}: holds num_classes 100, but ann.json says num_classes 10; "
        "`bsf run` redoes it"
    ]


def test_the_checks_need_no_torch(handmade_folder) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from bsf_engine import pipeline; from bsf_engine.project import Project; "
        f"s = pipeline.status(Project.open({str(handmade_folder)!r})); "
        "assert {x.state for x in s.values()} == {'done'}, s; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_stage_asked_for_before_what_makes_its_inputs_names_them(make_project) -> None:
    project = Project.open(make_project(FAST_DIGITS))
    assert pipeline.missing_before(project, ["report"]) == [
        "train",
        "convert",
        "simulate-tune",
        "tune",
        "simulate-test",
    ]
    assert pipeline.missing_before(project, ["tune", "simulate-test", "report"]) == [
        "train",
        "convert",
        "simulate-tune",
    ]
    assert pipeline.missing_before(project, list(stages.NAMES)) == []


def test_a_finished_projects_stages_can_each_run_alone(handmade_folder) -> None:
    project = Project.open(handmade_folder)
    for name in stages.NAMES:
        assert pipeline.missing_before(project, [name]) == []


def test_the_report_follows_the_energy_model_and_numerics_of_project_toml(
    handmade_folder,
) -> None:
    """report.json is out of date when project.toml's [energy] model or [fusion] numerics
    changed, and when it records options unlike project.toml's (a variant an older bsf
    wrote in its place): `bsf run` redoes it."""
    folder = handmade_folder
    toml = folder / "project.toml"
    text = toml.read_text()
    redone = {
        "energy": ["report", "exit"],
        "fusion": ["tune", "simulate-test", "report", "exit"],
    }
    for section, added in (("energy", 'model = "syops"'), ("fusion", 'numerics = "reference"')):
        toml.write_text(f"{text}\n[{section}]\n{added}\n")
        status = pipeline.status(Project.open(folder))
        assert status["report"].state == "stale", added
        assert status["report"].reasons == ["[fusion]/[energy] changed since"]
        assert pipeline.plan(status) == redone[section]
    toml.write_text(text)
    project = Project.open(folder)
    assert pipeline.status(project)["report"].state == "done"
    report = json.loads((folder / "report.json").read_text())
    (folder / "report.json").write_text(
        json.dumps({**report, "energy_model": "syops", "numerics": "reference"})
    )
    status = pipeline.status(project)["report"]
    assert (status.state, status.reasons) == (
        "stale",
        [
            "made with energy_model syops, project.toml says spikesim",
            "made with numerics reference, project.toml says exact",
        ],
    )
    assert not stages.REPORT.is_current(project)
