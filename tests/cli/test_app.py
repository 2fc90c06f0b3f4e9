"""What every `bsf` command shares: version, help, the project argument, one-line errors."""

from __future__ import annotations

import pytest

from bsf_engine import __version__


def test_version_and_help(cli) -> None:
    assert cli("--version").stdout.strip() == f"bsf {__version__}"
    result = cli("-h")
    assert result.exit_code == 0
    for command in ("new", "validate", "info", "train", "convert"):
        assert command in result.stdout


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


def test_every_help_is_in_plain_words(cli) -> None:
    from bsf_engine import stages
    from bsf_engine.cli import COMMANDS

    for name, _ in COMMANDS:
        text = cli(name, "-h").stdout
        usage = text.splitlines()[0]
        assert "{" not in usage and "<" not in usage, usage
        for typer_label in ("<str>", "<int>", "<float>", "<list[", "range>"):
            assert typer_label not in text, f"bsf {name} -h: {typer_label}"
    run_help = " ".join(cli("run", "-h").stdout.split())
    assert " → ".join(stages.NAMES) in run_help  # the registry's names, simulate-tune …
    assert "--until STAGE" in run_help and "--from STAGE" in run_help
    assert "--threads N" in run_help and "bsf run [OPTIONS] PROJECT" in run_help


def test_new_suggests_running_the_project(cli, tmp_path) -> None:
    result = cli("new", tmp_path / "fresh")
    assert result.exit_code == 0 and f"bsf run {tmp_path / 'fresh'}" in result.stderr
