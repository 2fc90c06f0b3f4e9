"""The `bsf` commands: output, exit codes, and one-line errors that leave files alone."""

from __future__ import annotations

import json
import os

import pytest
import torch

from bsf_engine import __version__
from bsf_engine.config import load_config
from tests.conftest import TINY_DIGITS


def test_version_and_help(cli) -> None:
    assert cli("--version").stdout.strip() == f"bsf {__version__}"
    result = cli("-h")
    assert result.exit_code == 0
    for command in ("new", "validate", "info", "train", "convert"):
        assert command in result.stdout


def test_new_writes_a_valid_commented_project(cli, tmp_path) -> None:
    folder = tmp_path / "c10"
    result = cli("new", folder, "--dataset", "cifar10", "--root", "/data")
    assert result.exit_code == 0, result.stderr
    config = load_config(folder / "project.toml")
    assert (config.data.dataset, config.model.arch, config.ics) == ("cifar10", "vgg19", [6])
    assert config.simulate.timesteps == 3000
    text = (folder / "project.toml").read_text()
    assert "# percentile = 99.9" in text  # every other key shown at its default


def test_new_with_arch_and_several_ics(cli, tmp_path) -> None:
    folder = tmp_path / "r18"
    result = cli(
        "new",
        folder,
        "--dataset",
        "cifar100",
        "--arch",
        "resnet18",
        "--ic",
        "1",
        "--ic",
        "5",
        "--root",
        "/data",
    )
    assert result.exit_code == 0, result.stderr
    assert load_config(folder / "project.toml").ics == [1, 5]


def test_new_refuses_bad_input_and_writes_nothing(cli, tmp_path) -> None:
    folder = tmp_path / "bad"
    result = cli("new", folder, "--arch", "vgg11", "--ic", "20")
    assert result.exit_code == 2
    assert result.stderr == "error: [model] ic = 20: vgg11 has 8 blocks (0-7)\n"
    assert not folder.exists()
    result = cli("new", folder, "--dataset", "cifar")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --dataset cifar: unknown dataset; did you mean")
    result = cli("new", folder, "--arch", "resnet50")
    assert result.exit_code == 2
    assert "--arch resnet50: unknown architecture" in result.stderr


def test_new_never_overwrites(cli, make_project) -> None:
    folder = make_project("# mine\n")
    result = cli("new", folder)
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: {folder / 'project.toml'}: already exists; edit it, or "
        "choose another name\n"
    )
    assert (folder / "project.toml").read_text() == "# mine\n"


def test_unknown_project(cli, tmp_path) -> None:
    result = cli("info", tmp_path / "nope")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'nope'}: no such project folder; create one "
        f"with `bsf new {tmp_path / 'nope'}`\n"
    )
    (tmp_path / "empty").mkdir()
    result = cli("train", tmp_path / "empty")
    assert result.exit_code == 2
    assert "no project.toml here" in result.stderr


def test_project_by_name_under_projects(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("new", "demo").exit_code == 0
    result = cli("validate", "demo")
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: projects/demo (digits, vggtiny, IC at block 2)")


def test_info_lists_blocks_and_macs(cli, make_project) -> None:
    folder = make_project(
        '[data]\ndataset = "cifar10"\nroot = "/nowhere"\n[model]\narch = "vgg19"\nic = 6\n'
    )
    result = cli("info", folder)  # needs no dataset files
    assert result.exit_code == 0, result.stderr
    assert "→ ic6" in result.stdout
    assert "IC at block 6: 47.9% of feature MACs" in result.stdout
    assert "train: missing" in result.stdout
    payload = json.loads(cli("info", folder, "--json").stdout)
    assert payload["ic_mac_fraction"]["ic6"] == pytest.approx(0.4785, abs=1e-4)
    assert len(payload["layers"]) == 18
    assert payload["artifacts"]["convert"]["state"] == "missing"


def test_convert_before_train_is_refused(cli, make_project) -> None:
    folder = make_project()
    result = cli("convert", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'ann.pt'}: missing; run `bsf train {folder}` first\n"
    )
    assert sorted(os.listdir(folder)) == ["project.toml"]


def test_train_then_convert_and_guard_rails(cli, make_project) -> None:
    folder = make_project()
    result = cli("train", folder)
    assert result.exit_code == 0, result.stderr
    assert "val (tune split)" in result.stdout and "final" in result.stdout
    result = cli("convert", folder)
    assert result.exit_code == 0, result.stderr
    assert "normalised" in result.stdout and "heads.final" in result.stdout
    snn = (folder / "snn.pt").read_bytes()

    # a changed [train] section makes ann.pt stale: convert refuses, nothing is touched
    (folder / "project.toml").write_text(TINY_DIGITS.replace("lr = 0.05", "lr = 0.01"))
    result = cli("convert", folder)
    assert result.exit_code == 2
    assert "different [data]/[model]/[train] config" in result.stderr
    assert (folder / "snn.pt").read_bytes() == snn
    result = cli("train", folder)
    assert result.exit_code == 2
    assert result.stderr.endswith("pass --force to retrain and replace it\n")

    # NaN weights in ann.pt are detected
    (folder / "project.toml").write_text(TINY_DIGITS)
    saved = torch.load(folder / "ann.pt", weights_only=False)
    key = next(k for k in saved["state_dict"] if k.endswith("conv.weight"))
    saved["state_dict"][key][0, 0, 0, 0] = float("nan")
    torch.save(saved, folder / "ann.pt")
    result = cli("convert", folder, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'ann.pt'}: NaN/inf in {key}; rerun `bsf train {folder} --force`\n"
    )
    assert (folder / "snn.pt").read_bytes() == snn

    # a truncated ann.pt is detected
    (folder / "ann.pt").write_bytes(b"PK\x03\x04 truncated")
    result = cli("convert", folder, "--force")
    assert result.exit_code == 2
    assert "unreadable" in result.stderr and "Traceback" not in result.stderr


def test_unexpected_errors_are_one_line_unless_debug(cli, make_project, monkeypatch) -> None:
    from bsf_engine import train

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(train, "run", boom)
    folder = make_project()
    result = cli("train", folder)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unexpected RuntimeError: disk on fire (rerun with --debug for the traceback)\n"
    )
    with pytest.raises(RuntimeError):
        cli("--debug", "train", folder)


def test_simulate_bad_input_is_one_line(cli, make_project) -> None:
    folder = make_project()
    result = cli("simulate", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'snn.pt'}: missing; run `bsf convert {folder}` first\n"
    )
    result = cli("simulate", folder, "--split", "val")
    assert result.exit_code == 2
    assert result.stderr == "error: split 'val': choose tune or test\n"
    result = cli("simulate", folder, "--dtype", "int4")
    assert result.exit_code == 2
    assert "dtype 'int4': choose one of float32, float64, bfloat16, float16" in result.stderr
    assert sorted(os.listdir(folder)) == ["project.toml"]


def test_inspect_bad_path(cli, tmp_path) -> None:
    result = cli("inspect", tmp_path / "missing")
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'missing'}: no such file or folder\n"


def test_tune_and_report_before_simulate_are_one_line(cli, make_project) -> None:
    folder = make_project()
    for command, split in (("tune", "tune"), ("report", "test")):
        result = cli(command, folder)
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: {folder / 'spikes' / split}: no {split} spikes; "
            f"run `bsf simulate {folder} --split {split}` first\n"
        )
    assert sorted(os.listdir(folder)) == ["project.toml"]
