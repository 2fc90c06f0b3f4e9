"""The read-models both faces render, on a hand-made finished project: stage rows with
the runs laid over them, run rows, event lines, the report re-targeted and re-costed,
one sample's BSF posterior (against the formula written out), α curves."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from bsf_engine import energy, views
from bsf_engine.models.spec import ModelSpec
from bsf_engine.project import Project
from bsf_engine.runs import store
from bsf_engine.runs.status import project_status
from bsf_engine.states import RunState, StageState

from .handmade import ANN_ACCURACY, TIMESTEPS


@pytest.fixture
def finished(handmade_folder):
    return handmade_folder


def _run(folder, run_id: str, state: str, stage: str, **meta) -> store.Run:
    run = store.create(folder, run_id, stages=["tune", "simulate-test", "report"], **meta)
    run.update(state=state, stage=stage, started_at=100.0, ended_at=104.25)
    return run


def test_stage_rows_name_the_run_that_left_a_stage_unfinished(finished) -> None:
    (finished / "alpha.json").unlink()
    _run(finished, "20260101-120000-aaaa", "failed", "tune", error="numerics 'x': no")
    rows = {row.name: row for row in views.stage_rows(project_status(Project.open(finished)))}
    assert rows["tune"].state == StageState.FAILED
    assert rows["tune"].note == "run 20260101-120000-aaaa: numerics 'x': no"
    assert rows["train"].state == StageState.DONE and rows["train"].note == ""
    assert rows["train"].metric == "test acc 96.88%" and rows["train"].seconds == 4.25
    assert [row.name for row in views.stage_rows(project_status(Project.open(finished)))] == [
        "train",
        "convert",
        "simulate-tune",
        "tune",
        "simulate-test",
        "report",
        "exit",
    ]


def test_every_stage_row_says_when_it_was_made_and_how_long_it_took(finished) -> None:
    manifest = json.loads((finished / "spikes" / "test" / "manifest.json").read_text())
    manifest["stamp"]["finished"] = "2026-01-02T03:04:05+00:00"  # later than it began
    (finished / "spikes" / "test" / "manifest.json").write_text(json.dumps(manifest))
    rows = {row.name: row for row in views.stage_rows(project_status(Project.open(finished)))}
    assert all(row.seconds is not None and row.created for row in rows.values())
    assert rows["simulate-test"].created == "2026-01-02T03:04:05+00:00"  # written, not begun
    assert rows["tune"].metric.startswith("α_grid(T) ") and ", α_emp(T) " in rows["tune"].metric


def test_run_rows_and_what_ps_shows(finished) -> None:
    for index in range(7):
        _run(finished, f"20260101-12000{index}-aaaa", "done", "report")
    rows = [views.run_row(r) for r in store.project_runs(finished)]
    assert rows[0].progress == "report 3/3" and rows[0].seconds == 4.2
    shown, fell_back = views.runs_to_show(rows, every=False)
    assert fell_back and [r.id for r in shown] == [r.id for r in rows[-5:]]
    assert views.runs_to_show(rows, every=True) == (rows, False)
    lost = _run(finished, "20260101-130000-bbbb", "running", "tune", pid=2**22 + 12345)
    rows = [views.run_row(r) for r in store.project_runs(finished)]
    shown, fell_back = views.runs_to_show(rows, every=False)
    assert [r.id for r in shown] == [lost.id] and not fell_back
    assert shown[0].state == RunState.LOST
    assert views.project_runs(finished)[0].id == lost.id  # newest first
    assert json.loads(json.dumps(shown[0].to_dict()))["state"] == "lost"


def test_event_lines(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        line = views.format_event(
            {"time": 0, "stage": "tune", "kind": "progress", "task": "step", "done": 3, "total": 9}
        )
        assert line == "00:00:00 tune          progress step 3/9"
        stage = {"time": 0, "stage": "tune", "kind": "stage", "state": "done", "seconds": 1.25}
        assert views.format_event(stage) == "00:00:00 tune          stage    done (1.2 s)"
        end = {"time": 0, "kind": "end", "state": "failed", "error": "boom"}
        assert views.format_event(end) == "00:00:00 -             end      failed — boom"
        batch = {"time": 0, "stage": "train", "kind": "progress", "task": "batch", "done": 1}
        batch.update(total=34, unit="batch", loss=2.3594777584075928, acc=0.0625)
        assert views.format_event(batch).endswith("batch 1/34 loss=2.36 acc=0.0625")
        calibrate = {**batch, "task": "calibrate", "unit": "image", "done": 64, "total": 512}
        assert views.format_event(calibrate).endswith("calibrate 64/512 image loss=2.36 acc=0.0625")
        metric = {"time": 0, "stage": "train", "kind": "metric", "name": "lr", "value": 0.05}
        assert views.format_event({**metric, "epoch": 3}).endswith("metric   lr = 0.05 epoch=3")
        assert views.format_event({"time": 0, "kind": "unknown"}) is None
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_report_retargeted_and_recosted(finished) -> None:
    report = json.loads((finished / "report.json").read_text())
    view = views.energy_view(finished)
    assert view.methods == report["methods"] and view.model == "spikesim"
    lower = views.energy_view(finished, fraction=0.9)
    final = np.asarray(report["curves"]["accuracy"]["final"])
    first = int(np.nonzero(final >= 0.9 * ANN_ACCURACY)[0][0]) + 1
    assert lower.methods["final"]["steps_to_target"] == first
    assert lower.target == pytest.approx(0.9 * ANN_ACCURACY)
    note = views.energy_view(finished, model="syops")
    assert note.model == "spikesim" and "needs per-layer spike counts" in note.note
    # a SyOPs report shown with SpikeSim energy: the layer shapes are enough
    report["energy_model"] = "syops"
    (finished / "report.json").write_text(json.dumps(report))
    switched = views.energy_view(finished, model="spikesim")
    spec = ModelSpec.from_dict(json.loads((finished / "snn.json").read_text())["spec"])
    per_step = energy.spikesim_step_energy(spec, energy.SpikeSimConstants())
    assert switched.energy["final"][4] == pytest.approx(5 * per_step.final_only, rel=1e-12)
    assert views.energy_view(finished.parent / "nowhere") is None


def _posterior_by_formula(alpha, m, k):
    """(α + M)/(α/E + N) with E = K/N clipped into [1e-6, 1 − 1e-6], step by step."""
    out = np.zeros(m.shape)
    for t in range(m.shape[0]):
        n = t + 1
        e = np.clip(k[t] / n, 1e-6, 1 - 1e-6)
        out[t] = (alpha[t] + m[t]) / (alpha[t] / e + n)
    return out


def test_one_sample_and_its_posterior(finished) -> None:
    sample = views.spike_sample(finished, "test", 1, 5)
    assert (sample.batch, sample.sample, sample.batches, sample.batch_size) == (1, 5, 2, 128)
    assert sample.position == 128 + 5 and sample.ic_head == "ic2"
    assert sample.timesteps == TIMESTEPS
    final, ic = sample.traces["final"], sample.traces["ic2"]
    alpha = views.alpha_curves(finished).grid_approx
    expected = _posterior_by_formula(alpha, final.cumulative, ic.cumulative)
    np.testing.assert_allclose(sample.posterior, expected, rtol=1e-12)
    assert sample.predicted == int(np.argmax(expected[-1]))
    clamped = views.spike_sample(finished, "test", 99, 999)
    assert (clamped.batch, clamped.sample) == (1, 127)
    assert views.spike_sample(finished, "nope", 0, 0) is None


def test_alpha_curves(finished, tmp_path) -> None:
    curves = views.alpha_curves(finished)
    assert curves.numerics == "exact" and curves.ic_head == "ic2"
    assert curves.grid[-1] == 9 and len(curves.grid_approx) == TIMESTEPS
    assert views.alpha_curves(tmp_path) is None


def test_numbers_read_to_three_significant_digits() -> None:
    from bsf_engine.display import number

    assert [number(v) for v in (2.3594777584075928, 0.041337, 1234.567, 98.3333)] == [
        "2.36",
        "0.0413",
        "1235",
        "98.3",
    ]
    assert number(7) == "7" and number("x") == "x" and number(None) == "None"


def test_progress_is_thinned_to_about_every_tenth_share() -> None:
    thinner = views.ProgressThinner()

    def progress(task: str, done: int, total: int | None = 100) -> dict:
        return {"kind": "progress", "stage": "s", "task": task, "done": done, "total": total}

    kept = [d for d in range(1, 101) if thinner.keep(progress("step", d))]
    assert kept[0] == 1 and kept[-1] == 100 and 10 <= len(kept) <= 12
    assert thinner.keep({"kind": "metric", "name": "loss", "value": 1.0})
    # a task that starts over each epoch: after its first round, only each round's end
    rounds = [[d for d in range(1, 35) if thinner.keep(progress("batch", d, 34))] for _ in "ab"]
    assert rounds[0][0] == 1 and rounds[0][-1] == 34 and rounds[1] == [34]
    # the same task name in another stage is another task
    assert thinner.keep({**progress("step", 1), "stage": "other"})


def test_batches_and_samples_are_numbered_from_0_in_one_place(tmp_path) -> None:
    assert views.sample_place(0, 5) == "batch 0, sample 5"
    assert views.sample_place(1, 9, 3, 10) == "batch 1 (0-2), sample 9 (0-9)"
    project = tmp_path / "p"
    (project / "spikes" / "test").mkdir(parents=True)
    (project / "project.toml").write_text("")
    assert views.spike_folder(project / "spikes" / "test") == (project, "test")
    assert views.spike_folder(tmp_path / "snn_vgg11") == (tmp_path / "snn_vgg11", None)


def test_every_energy_number_names_its_model(finished, tmp_path) -> None:
    from bsf_engine import display

    from .handmade import PROJECT, make_finished_project

    reduction = json.loads((finished / "report.json").read_text())["methods"]["bsf_grid"][
        "reduction_pct"
    ]
    assert reduction is not None
    row = views.project_row(finished)
    assert row.energy_model == "spikesim"
    assert row.energy == f"SpikeSim energy {-reduction:+.1f}%"
    status = {r.name: r for r in views.stage_rows(project_status(Project.open(finished)))}
    assert status["report"].metric == row.energy  # `bsf status` and the Overview tab
    assert status["exit"].metric.startswith("SpikeSim ")  # the posterior policy's change
    assert views.energy_view(finished).model_label == "SpikeSim"
    assert display.energy_change(None, "syops") == "—"
    assert display.energy_change(12.5, "syops", digits=2) == "SyOPs energy -12.50%"
    assert display.energy_model(None) == "model unknown"

    syops = make_finished_project(tmp_path / "other", PROJECT + '\n[energy]\nmodel = "syops"\n')
    other = views.project_row(syops)
    assert other.energy.startswith("SyOPs energy ")
    assert views.energy_view(syops).model_label == "SyOPs"
    note = views.mixed_models_note({"tiny": row.energy_model, "other": other.energy_model})
    assert note == (
        "energy models differ (SpikeSim: tiny; SyOPs: other): compare energies within one "
        "model only"
    )
    assert views.mixed_models_note({"tiny": "spikesim", "copy": "spikesim"}) == ""


def test_stage_progress_counts_the_inner_units_share_into_the_outer() -> None:
    """Hand-worked: a simulation of 4 batches of T = 300, resumed after batch 1."""
    progress = views.StageProgress("simulate-test")
    assert progress.order == ("batch", "timestep")
    progress.update("batch", 1, 4)
    assert progress.amount("batch") == 1.0 and progress.amount("timestep") == 0.0
    progress.update("timestep", 150, 300)
    assert progress.amount("batch") == 1.5 and progress.amount("timestep") == 150.0
    progress.update("timestep", 300, 300)
    assert progress.amount("batch") == 2.0
    progress.update("batch", 2, 4)  # the batch is written: its timesteps no longer count
    assert progress.amount("batch") == 2.0
    progress.update("timestep", 30, 300)
    assert progress.amount("batch") == 2.1
    progress.update("batch", 4, 4)
    progress.update("timestep", 300, 300)  # never past the total
    assert progress.amount("batch") == 4.0
    # a stage without nested tasks, or none at all: each task as reported
    tune = views.StageProgress("tune")
    tune.update("load", 2, 4)
    tune.update("step", 10, 100)
    assert (tune.amount("load"), tune.amount("step"), tune.amount("other")) == (2.0, 10.0, 0.0)
    assert views.StageProgress(None).order == ()
