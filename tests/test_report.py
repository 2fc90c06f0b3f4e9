"""Report metrics on hand-made curves, the stage end to end, and reference run folders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bsf_engine import convert, report, simulate, train, tune
from bsf_engine.errors import DataError, MissingArtifactError
from bsf_engine.project import Project
from tests.conftest import TINY_DIGITS
from tests.spikes.test_store import random_spikes


def test_headline_on_hand_made_curves() -> None:
    steps = np.arange(1, 11, dtype=float)
    accuracy = {
        "final": np.array([0, 0, 0.2, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.98]),
        "ic": np.array([0, 0.3, 0.6, 0.8, 0.85, 0.86, 0.86, 0.86, 0.86, 0.86]),
        "bsf_grid": np.array([0, 0.3, 0.6, 0.85, 0.92, 0.96, 0.97, 0.98, 0.98, 0.98]),
        "bsf_emp": np.array([0, 0.2, 0.5, 0.8, 0.9, 0.95, 0.97, 0.97, 0.98, 0.98]),
    }
    energy = {
        "final": steps * 1.0,
        "ic": steps * 0.5,
        "bsf_grid": steps * 1.1,
        "bsf_emp": steps * 1.1,
    }
    out = report.headline(accuracy, energy, target=0.95)
    assert out["final"]["steps_to_target"] == 7 and out["final"]["energy_to_target_J"] == 7.0
    assert out["bsf_grid"]["steps_to_target"] == 6
    assert out["bsf_grid"]["reduction_pct"] == pytest.approx((7.0 - 6.6) / 7.0 * 100)
    assert out["bsf_emp"]["reduction_pct"] == pytest.approx((7.0 - 6.6) / 7.0 * 100)
    assert out["ic"]["steps_to_target"] is None and out["ic"]["reduction_pct"] is None
    # AUC: trapezoid of accuracy over energy from 0 up to final-only's 7.0 J
    final_auc = np.trapezoid([0, *accuracy["final"][:7]], [0, *energy["final"][:7]])
    assert out["final"]["auc"] == pytest.approx(final_auc)
    keep = energy["bsf_grid"] <= 7.0
    grid_auc = np.trapezoid([0, *accuracy["bsf_grid"][keep]], [0, *energy["bsf_grid"][keep]])
    assert out["bsf_grid"]["auc_increase_pct"] == pytest.approx(
        (grid_auc - final_auc) / final_auc * 100
    )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rep") / "proj"
    folder.mkdir()
    text = TINY_DIGITS.replace("epochs = 3", "epochs = 6") + (
        "\n[simulate]\ntimesteps = 60\nbatch_size = 200\noutput_delay = true\n"
    )
    (folder / "project.toml").write_text(text)
    project = Project.open(folder)
    train.run(project)
    convert.run(project)
    simulate.run(project, split="tune")
    simulate.run(project, split="test")
    return folder


def test_tune_then_report_end_to_end(simulated, tmp_path, cli) -> None:
    folder = tmp_path / "p"
    shutil.copytree(simulated, folder)
    project = Project.open(folder)
    with pytest.raises(MissingArtifactError, match="run `bsf tune` first"):
        report.run(project)
    summary = tune.run(project)
    assert summary["numerics"] == "exact" and summary["timesteps"] == 60
    assert summary["samples"] == 359
    with np.load(folder / "alpha.npz") as z:
        assert z["alpha_grid"].shape == (60,) and z["correct"].shape == (60, 101)
        assert np.array_equal(z["alpha_grid_approx"][z["knots"]], z["alpha_grid"][z["knots"]])
    result = report.run(project)
    saved = json.loads((folder / "report.json").read_text())
    assert saved["methods"] == json.loads(json.dumps(result["methods"]))
    ann = json.loads((folder / "ann.json").read_text())["final_test_accuracy"]
    assert result["target"] == pytest.approx(0.97 * ann)
    final = result["curves"]["accuracy"]["final"]
    assert final[-1] == pytest.approx(result["methods"]["final"]["accuracy_at_T"])
    syops = report.run(project, energy="syops")
    assert syops["energy_model"] == "syops" and syops["variant"] == "syops"
    assert json.loads((folder / "report.json").read_text()) == saved  # still the project's
    assert json.loads((folder / "report-syops.json").read_text())["energy_model"] == "syops"
    assert syops["curves"]["energy_J"]["bsf_grid"][-1] > syops["curves"]["energy_J"]["final"][-1]
    # the command: table, plot, json, csv
    result = cli("report", folder, "--csv", tmp_path / "csv")
    assert result.exit_code == 0, result.stderr
    assert "BSF grid" in result.stdout and "accuracy against SpikeSim energy" in result.stdout
    assert (tmp_path / "csv" / "curves.csv").read_text().startswith("t,acc_final,")
    data = json.loads(cli("report", folder, "--json", "--target", "0.9").stdout)
    assert data["target_fraction"] == 0.9
    assert cli("report", folder, "--energy", "joules").exit_code == 2


def test_tune_needs_complete_tune_spikes(make_project) -> None:
    project = Project.open(make_project())
    with pytest.raises(MissingArtifactError, match="--split tune` first"):
        tune.run(project)


def write_reference_run(folder, steps=40, batch=10, classes=10, batches=2):
    (folder / "snn_vgg11").mkdir(parents=True)
    (folder / "train").mkdir()
    (folder / "command.json").write_text(
        json.dumps({"dataset": "cifar10", "model": "vgg11", "ic_index": 3})
    )
    rng = np.random.default_rng(0)
    for i in range(batches):
        labels = rng.integers(0, classes, batch)
        final = random_spikes(steps, batch, classes, rate=0.1, seed=i)
        final[:, np.arange(batch), labels] |= random_spikes(steps, batch, 1, 0.4, seed=9)[:, :, 0]
        mid = random_spikes(steps, batch, classes, rate=0.1, seed=20 + i)
        np.savez_compressed(
            folder / "snn_vgg11" / f"output_{i}.npz",
            labels=labels,
            final=final.astype(np.float32),
            mid=mid.astype(np.float32),
        )
        np.savez_compressed(folder / "train" / f"labels_{i}.npz", l=labels)
        np.savez_compressed(folder / "train" / f"-1_output_{i}.npz", o=final.astype(np.float32))
        np.savez_compressed(folder / "train" / f"3_output_{i}.npz", o=mid.astype(np.float32))
    return folder


def test_reference_run_folder_tune_and_report(tmp_path, cli) -> None:
    folder = write_reference_run(tmp_path / "ref")
    result = cli("report", folder)
    assert result.exit_code == 2
    assert "no α curves" in result.stderr
    result = cli("tune", folder)
    assert result.exit_code == 0, result.stderr
    assert (folder / "bsf" / "alpha.npz").is_file()
    result = cli("report", folder, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ic_head"] == "ic3" and data["timesteps"] == 40
    assert data["target_basis"].startswith("final-only SNN accuracy")
    # their own α files take precedence and are used as they are
    np.savez_compressed(folder / "division_linear_alpha_grid.npz", y=np.full(40, 3.0))
    np.savez_compressed(folder / "division_linear_alpha_emp.npz", y=np.full(40, 5.0))
    data = json.loads(cli("report", folder, "--json", "--ann-accuracy", "0.5").stdout)
    assert data["curves"]["alpha_grid"] == [3.0] * 40
    assert data["target"] == pytest.approx(0.97 * 0.5)
    assert data["numerics"] == "reference"  # the default on an authors' folder
    assert data["alpha_files"]["grid"] == "division_linear_alpha_grid.npz"
    # their SpikeSim rows: final-only keeps the IC's rows, drops the final head's pool
    energy = data["curves"]["energy_J"]
    assert energy["bsf_grid"][0] - energy["final"][0] == pytest.approx(48.5067e-9, rel=1e-5)
    exact = json.loads(cli("report", folder, "--json", "--numerics", "exact").stdout)
    assert exact["numerics"] == "exact"
    energy = exact["curves"]["energy_J"]["final"]
    assert energy[0] == pytest.approx(4.2434e-6, rel=1e-3)  # VGG11 / CIFAR-10 per step
    result = cli("report", folder, "--numerics", "approximate")
    assert result.exit_code == 2 and "choose exact or reference" in result.stderr
    assert (folder / "bsf" / "report.json").is_file()
    result = cli("report", folder, "--energy", "syops")
    assert result.exit_code == 2 and "needs per-layer spike counts" in result.stderr


def test_reference_command_json_errors(tmp_path) -> None:
    from bsf_engine.reference_run import spec_from_command

    with pytest.raises(DataError, match="model 'vgg13' unknown"):
        spec_from_command({"dataset": "cifar10", "model": "vgg13", "ic_index": 2}, 10)
    with pytest.raises(DataError, match="ic_index missing"):
        spec_from_command({"dataset": "cifar10", "model": "vgg19"}, 10)
