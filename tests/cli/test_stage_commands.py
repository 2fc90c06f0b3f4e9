"""`bsf new`, `validate` and each stage's own command: output, exit codes, and one-line
errors that leave files alone."""

from __future__ import annotations

import json
import os

import torch

from bsf_engine.config import load_config
from tests.conftest import TINY_DIGITS


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


def _files(folder) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_csv_path_that_is_a_file_is_refused_before_any_work(handmade_folder, cli) -> None:
    folder = handmade_folder
    (folder / "out.csv").write_text("mine\n")
    before = _files(folder)
    result = cli("report", folder, "--csv", folder / "out.csv")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --csv {folder / 'out.csv'}: a file, not a folder; give a folder (created if "
        "missing) for curves.csv and summary.csv\n"
    )
    result = cli("report", folder, "--csv", folder / "out.csv" / "csv")
    assert result.exit_code == 2
    assert f"{folder / 'out.csv'} is a file, not a folder" in result.stderr
    assert _files(folder) == before  # report.json was not rewritten


def test_files_where_bsf_keeps_folders_are_named(handmade_folder, cli) -> None:
    folder = handmade_folder
    spikes = folder / "spikes" / "test"
    for path in sorted(spikes.iterdir()):
        path.unlink()
    spikes.rmdir()
    spikes.write_text("not a folder\n")
    before = _files(folder)
    message = (
        f"error: {spikes}: a file where bsf keeps a folder; move it away or delete it, then rerun\n"
    )
    result = cli("simulate", folder, "--split", "test")
    assert (result.exit_code, result.stderr) == (2, message)
    assert _files(folder) == before
    spikes.unlink()
    (folder / "runs").write_text("not a folder\n")
    before = _files(folder)
    result = cli("run", folder, "--from", "simulate-test")  # (report would need it first)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'runs'}: a file where bsf keeps a folder; move it away or delete "
        "it, then rerun\n"
    )
    assert _files(folder) == before  # and the lock it took is released


def test_a_folder_in_the_lock_files_place_is_named(handmade_folder, cli) -> None:
    folder = handmade_folder
    (folder / ".bsf.lock").mkdir()
    message = (
        f"error: {folder / '.bsf.lock'}: not a file, so not bsf's lock file (bsf writes it "
        "there); move it away or delete it, then rerun\n"
    )
    for command in ("run", "report"):
        result = cli(command, folder, *(("--from", "report") if command == "run" else ()))
        assert (result.exit_code, result.stderr) == (2, message), command
    assert (folder / ".bsf.lock").is_dir()


def test_a_report_with_other_options_is_a_variant_beside_the_projects(handmade_folder, cli) -> None:
    """`bsf report --energy syops` (or --numerics, --target unlike project.toml's) never
    replaces report.json: `bsf run` and `bsf status` still show the project's SpikeSim
    report, and the variant is kept under a name that says what it is."""
    folder = handmade_folder
    project_report = (folder / "report.json").read_bytes()
    result = cli("report", folder, "--energy", "syops", "--json")
    assert result.exit_code == 0, result.stderr
    variant = json.loads(result.stdout)
    assert (variant["energy_model"], variant["variant"]) == ("syops", "syops")
    assert json.loads((folder / "report-syops.json").read_text())["methods"] == variant["methods"]
    assert f"wrote {folder / 'report-syops.json'}, a variant" in result.stderr
    assert (folder / "report.json").read_bytes() == project_report
    table = cli("report", folder, "--numerics", "reference", "--target", "0.9")
    assert table.exit_code == 0, table.stderr
    assert "SpikeSim energy; target" in table.stdout
    assert (folder / "report-reference-target0.9.json").is_file()
    assert (folder / "report.json").read_bytes() == project_report

    status = cli("status", folder)
    assert status.exit_code == 0 and "SpikeSim energy -" in status.stdout
    assert "SyOPs" not in status.stdout and "stale" not in status.stdout
    run = cli("run", folder)
    assert run.exit_code == 0, run.stderr
    assert "every stage is done" in run.stderr
    assert "SpikeSim energy; target" in run.stdout and "SyOPs" not in run.stdout
    assert "accuracy against SpikeSim energy" in run.stdout

    # options equal to project.toml's make the project's report, not a variant
    result = cli("report", folder, "--energy", "spikesim", "--target", "0.97", "--json")
    assert "variant" not in json.loads(result.stdout) and "a variant" not in result.stderr
    assert json.loads((folder / "report.json").read_text())["energy_model"] == "spikesim"


def test_tuning_with_other_numerics_is_a_variant_the_matching_report_reads(
    handmade_folder, cli
) -> None:
    """`bsf tune --numerics reference` on an exact project keeps alpha.npz (the project
    stays done) and writes alpha-reference.npz, which `bsf report --numerics reference`
    fuses with; a report with the project's numerics still reads alpha.npz."""
    folder = handmade_folder
    project_alpha = (folder / "alpha.npz").read_bytes()
    result = cli("tune", folder, "--numerics", "reference")
    assert result.exit_code == 0, result.stderr
    assert f"wrote {folder / 'alpha-reference.npz'}, {folder / 'alpha-reference.json'}" in (
        result.stdout
    )
    assert "alpha.npz is unchanged" in result.stdout
    assert (folder / "alpha.npz").read_bytes() == project_alpha
    summary = json.loads((folder / "alpha-reference.json").read_text())
    assert (summary["numerics"], summary["variant"]) == ("reference", "reference")
    status = cli("status", folder)
    assert status.exit_code == 0 and "stale" not in status.stdout

    reference = json.loads(cli("report", folder, "--numerics", "reference", "--json").stdout)
    assert reference["alpha_files"]["grid"] == "alpha-reference.npz (reference numerics)"
    assert "alpha-reference.npz" in reference["inputs"] and "alpha.npz" not in reference["inputs"]
    exact = json.loads(cli("report", folder, "--json").stdout)
    assert exact["alpha_files"]["grid"] == "alpha.npz (exact numerics)"

    # tuning with the project's numerics writes alpha.npz and leaves the variant alone
    again = cli("tune", folder)
    assert again.exit_code == 0 and "unchanged" not in again.stdout
    assert (folder / "alpha-reference.npz").is_file()
