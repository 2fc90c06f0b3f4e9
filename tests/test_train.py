"""Training: seeded, resumable to the same weights, refuses to overwrite other results."""

from __future__ import annotations

import json

import pytest
import torch

from bsf_engine import train
from bsf_engine.errors import ArtifactExistsError, DivergedError, Interrupted
from bsf_engine.events import Events, RecordingEvents
from bsf_engine.models.spec import ModelSpec
from bsf_engine.project import Project
from bsf_engine.stages import TRAIN
from tests.conftest import TINY_DIGITS

FOUR_EPOCHS = TINY_DIGITS.replace("epochs = 3", "epochs = 4")


class StopAfterEpoch(Events):
    """Stops the stage at the safe point after epoch k, as a cancel would."""

    def __init__(self, k: int) -> None:
        self.k, self.epoch = k, 0

    def progress(self, task, done, total, unit, **info) -> None:
        if task == "epoch":
            self.epoch = done

    def checkpoint(self) -> None:
        if self.epoch >= self.k:
            raise Interrupted(f"stopped after epoch {self.epoch}")


class CtrlCInEpoch(Events):
    """Raises KeyboardInterrupt in the middle of epoch k (1-based), like Ctrl-C."""

    def __init__(self, k: int) -> None:
        self.k, self.epoch = k, 0

    def progress(self, task, done, total, unit, **info) -> None:
        if task == "epoch":
            self.epoch = done
        elif task == "batch" and self.epoch == self.k - 1 and done == 3:
            raise KeyboardInterrupt


def weights(project: Project) -> dict[str, torch.Tensor]:
    return torch.load(project.layout.ann_pt, weights_only=False)["state_dict"]


def assert_same_weights(a: Project, b: Project) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.fixture
def reference(make_project) -> Project:
    project = Project.open(make_project(FOUR_EPOCHS, "reference"))
    train.run(project)
    return project


def test_resume_after_a_cancel_gives_the_same_weights(make_project, reference) -> None:
    project = Project.open(make_project(FOUR_EPOCHS, "resumed"))
    with pytest.raises(Interrupted):
        train.run(project, StopAfterEpoch(2))
    assert project.layout.train_checkpoint.is_file() and not project.layout.ann_pt.exists()
    events = RecordingEvents()
    train.run(project, events)
    assert any("after epoch 2" in e["message"] for e in events.of_kind("log"))
    assert_same_weights(project, reference)
    assert not project.layout.train_checkpoint.exists()
    history = json.loads(project.layout.ann_json.read_text())["history"]
    ref_history = json.loads(reference.layout.ann_json.read_text())["history"]
    assert [h["loss"] for h in history] == [h["loss"] for h in ref_history]


def test_resume_after_ctrl_c_mid_epoch_gives_the_same_weights(make_project, reference) -> None:
    project = Project.open(make_project(FOUR_EPOCHS, "ctrlc"))
    with pytest.raises(KeyboardInterrupt):
        train.run(project, CtrlCInEpoch(3))
    saved = torch.load(project.layout.train_checkpoint, weights_only=False)
    assert saved["epoch"] == 2
    train.run(project)
    assert_same_weights(project, reference)


def test_ann_json_records_accuracy_split_and_stamp(reference) -> None:
    meta = json.loads(reference.layout.ann_json.read_text())
    assert set(meta["accuracy"]) == {"val", "test"}
    assert set(meta["accuracy"]["test"]) == {"ic2", "final"}
    assert meta["final_test_accuracy"] == meta["accuracy"]["test"]["final"]
    assert meta["split"]["sizes"] == {"train": 1079, "tune": 359, "test": 359}
    assert meta["stamp"]["config_hash"] == TRAIN.config_hash(reference.config)
    assert len(meta["history"]) == 4
    split = json.loads(reference.layout.split_json.read_text())
    assert split["digest"] == meta["split"]["digest"]
    assert len(split["indices"]["tune"]) == 359
    goal = meta["ic_weight_goal"]["ic2"]
    assert 0.3 < goal < 0.45  # share of vggtiny conv MACs up to block 2


def test_ic_weight_schedule_grows_linearly_to_the_goal(make_project) -> None:
    spec = ModelSpec("vggtiny", 1, 8, 10, (2,), width=0.25)
    text = TINY_DIGITS.replace("lr = 0.05", "lr = 0.05\nic_weight_goal = 0.5\nepochs = 10")
    text = text.replace("epochs = 3\n", "")
    project = Project.open(make_project(text, "sched"))
    assert train.ic_weights(project, spec, 0) == {"ic2": pytest.approx(0.01)}
    assert train.ic_weights(project, spec, 5) == {"ic2": pytest.approx(0.01 + 0.5 * 0.49)}


def test_up_to_date_training_is_skipped_and_changed_config_refused(make_project) -> None:
    folder = make_project()
    project = Project.open(folder)
    first = train.run(project)
    before = project.layout.ann_pt.read_bytes()
    events = RecordingEvents()
    assert train.run(project, events) == first
    assert "up to date" in events.of_kind("log")[0]["message"]
    (folder / "project.toml").write_text(TINY_DIGITS.replace("lr = 0.05", "lr = 0.02"))
    changed = Project.open(folder)
    with pytest.raises(ArtifactExistsError, match="pass --force to retrain"):
        train.run(changed)
    assert project.layout.ann_pt.read_bytes() == before
    train.run(changed, force=True)
    assert TRAIN.is_current(changed)


def test_checkpoint_of_another_config_is_not_resumed(make_project) -> None:
    folder = make_project(FOUR_EPOCHS)
    with pytest.raises(Interrupted):
        train.run(Project.open(folder), StopAfterEpoch(1))
    (folder / "project.toml").write_text(FOUR_EPOCHS.replace("lr = 0.05", "lr = 0.02"))
    with pytest.raises(ArtifactExistsError, match=r"different .* config; pass --force"):
        train.run(Project.open(folder))
    assert torch.load(folder / "train.ckpt", weights_only=False)["epoch"] == 1


DIVERGING = TINY_DIGITS.replace("lr = 0.05", "lr = 10").replace(
    "width = 0.25", "width = 0.25\nbatchnorm = false"
)


def test_a_diverging_loss_stops_training_and_says_to_lower_lr(cli, make_project) -> None:
    """Without BatchNorm, lr = 10 sends the digits net's loss to nan within epoch 1: the
    stage stops there (exit 2) instead of finishing with nan weights and chance accuracy."""
    folder = make_project(DIVERGING)
    result = cli("train", folder)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: [train] lr = 10: the training loss became ")
    assert " in epoch 1 (by batch " in lines[-1]
    assert lines[-1].endswith("; lower `[train] lr`")
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["project.toml"]  # nothing saved


def test_divergence_keeps_the_last_good_checkpoint(make_project, monkeypatch) -> None:
    folder = make_project(FOUR_EPOCHS)
    with pytest.raises(Interrupted):
        train.run(Project.open(folder), StopAfterEpoch(1))
    saved = (folder / "train.ckpt").read_bytes()
    real = train.ic_weights
    monkeypatch.setattr(
        train,
        "ic_weights",
        lambda project, spec, epoch: {k: float("nan") for k in real(project, spec, epoch)},
    )
    with pytest.raises(DivergedError) as info:
        train.run(Project.open(folder))
    assert "the training loss became nan in epoch 2" in str(info.value)
    assert "train.ckpt (after epoch 1) is kept" in str(info.value)
    assert (folder / "train.ckpt").read_bytes() == saved
    assert not (folder / "ann.pt").exists()
