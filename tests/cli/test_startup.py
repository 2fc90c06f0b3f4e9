"""The commands a user (or the TUI's poll) runs often start light: each runs in a fresh
interpreter on a finished project and must not have imported torch or numpy (nor
Textual) by the time it ends."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bsf_engine.runs import store
from bsf_engine.states import RunState

HEAVY = ("torch", "torchvision", "numpy", "scipy", "sklearn", "textual", "bsf_tui")
RUN_ID = "20260101-120000-abcd"


def _probe(args: list[str], cwd) -> tuple[int, list[str], str]:
    """Run one command as the `bsf` console script does; its exit code, the heavy packages
    it loaded, and its output."""
    code = (
        "import json, sys\n"
        f"heavy = {HEAVY!r}\n"
        "args = json.loads(sys.argv[1])\n"
        "sys.argv = ['bsf', *args]\n"
        "from bsf_engine.cli import main\n"
        "try:\n"
        "    main()\n"
        "    rc = 0\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code or 0\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "print(json.dumps([rc, loaded]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, cwd=cwd
    )
    assert result.returncode == 0, result.stdout + result.stderr
    *output, last = result.stdout.splitlines()
    rc, loaded = json.loads(last)
    return rc, loaded, "\n".join(output) + result.stderr


def _add_run(folder) -> None:
    """A finished run of the project, with its events, for `ps` and `logs`."""
    run = store.create(folder, RUN_ID, stages=["report"], pid=None)
    for event in (
        {"time": 1767268800.0, "stage": None, "kind": "start", "stages": ["report"]},
        {"time": 1767268801.0, "stage": "report", "kind": "artifact", "path": "report.json"},
        {"time": 1767268802.0, "stage": None, "kind": "end", "state": "done"},
    ):
        store.append_event(run.events_path, event)
    run.update(state=RunState.DONE, started_at=1767268800.0, ended_at=1767268802.0)


@pytest.mark.parametrize(
    "command",
    [
        ["status", "{project}"],
        ["status", "{project}", "--json"],
        ["ps", "{projects}", "--all"],
        ["logs", RUN_ID, "--folder", "{projects}"],
        ["validate", "{project}"],
        ["new", "{projects}/fresh"],
        ["info", "{project}"],
        ["-h"],
    ],
    ids=lambda c: " ".join(c[:1] + [a for a in c[1:] if a.startswith("-")]),
)
def test_everyday_commands_never_import_torch_or_numpy(handmade_folder, command) -> None:
    _add_run(handmade_folder)
    where = {"project": str(handmade_folder), "projects": str(handmade_folder.parent)}
    args = [a.format(**where) for a in command]
    rc, loaded, output = _probe(args, handmade_folder.parent)
    assert rc == 0, output
    assert loaded == [], f"`bsf {' '.join(command)}` imported {loaded}"
    if command[0] == "logs":
        assert "end      done" in output
    if command[0] == "ps":
        assert RUN_ID in output


@pytest.mark.parametrize("dataset", ["cifar10", "mnist", "tiny-imagenet", "imagefolder"])
def test_validate_and_info_find_a_datasets_files_without_torch_or_numpy(tmp_path, dataset) -> None:
    from tests import fakedata

    root = tmp_path / "data"
    writers = {
        "cifar10": fakedata.write_cifar,
        "mnist": fakedata.write_mnist,
        "tiny-imagenet": fakedata.write_tiny_imagenet,
        "imagefolder": fakedata.write_imagefolder,
    }
    writers[dataset](root)
    project = tmp_path / "p"
    project.mkdir()
    size = "image_size = 16\n" if dataset == "imagefolder" else ""
    (project / "project.toml").write_text(f'[data]\ndataset = "{dataset}"\nroot = "{root}"\n{size}')
    for command in (["validate", str(project)], ["info", str(project)]):
        rc, loaded, output = _probe(command, tmp_path)
        assert rc == 0, output
        assert loaded == [], f"`bsf {command[0]}` on {dataset} imported {loaded}"
