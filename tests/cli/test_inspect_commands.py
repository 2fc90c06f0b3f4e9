"""`bsf info` and `bsf inspect`."""

from __future__ import annotations

import json

import pytest


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


def test_inspect_bad_path(cli, tmp_path) -> None:
    result = cli("inspect", tmp_path / "missing")
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'missing'}: no such file or folder\n"
