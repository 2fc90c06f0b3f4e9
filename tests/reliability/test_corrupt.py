"""Corrupt artifacts are found and named, with the fix; a rerun repairs what it can."""

from __future__ import annotations

import json

import numpy as np
import torch

from bsf_engine.runs import store

from .conftest import bsf, snapshot


def test_a_damaged_spike_batch(baseline, fresh, cli) -> None:
    folder = fresh()
    path = folder / "spikes" / "test" / "batch_00002.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: found by its checksum when read
    path.write_bytes(bytes(data))
    result = cli("report", folder)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"error: {path}: corrupt spike file (checksum differs from manifest.json); delete it "
        "and rerun `bsf simulate` to make it again"
    )
    path.write_bytes(bytes(data[:1000]))  # truncated: found by its size without reading
    status = json.loads(cli("status", folder, "--json").stdout)["stages"]["simulate-test"]
    assert status["state"] == "partial"
    assert status["reasons"] == [
        "batch_00002.npz is missing or truncated; `bsf run` simulates it again"
    ]
    result = cli("run", folder)
    assert result.exit_code == 0, result.stderr
    assert snapshot(folder) == baseline[1]


def test_truncated_and_misshapen_alpha(fresh, cli) -> None:
    folder = fresh()
    alpha = folder / "alpha.npz"
    original = alpha.read_bytes()
    alpha.write_bytes(original[: len(original) // 3])
    result = cli("report", folder)
    assert result.exit_code == 2
    assert result.stderr == f"error: {alpha}: unreadable (BadZipFile); rerun `bsf tune`\n"
    alpha.write_bytes(original)
    with np.load(alpha) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["alpha_grid_approx"] = arrays["alpha_grid_approx"][:10]
    np.savez(alpha, **arrays)
    result = cli("report", folder)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {alpha}: tuned for T = 10, the test spikes have T = 160"
    )


def test_nan_weights(fresh, cli) -> None:
    folder = fresh()
    saved = torch.load(folder / "snn.pt", weights_only=False)
    key = next(k for k, v in saved["state_dict"].items() if v.is_floating_point())
    saved["state_dict"][key].view(-1)[0] = float("nan")
    torch.save(saved, folder / "snn.pt")
    result = cli("simulate", folder, "--split", "test", "--overwrite")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'snn.pt'}: NaN/inf in {key}; rerun `bsf convert {folder} --force`\n"
    )
    assert (folder / "spikes" / "test" / "manifest.json").is_file()  # nothing was replaced


def test_a_garbled_manifest(baseline, fresh, cli) -> None:
    folder = fresh()
    manifest = folder / "spikes" / "tune" / "manifest.json"
    manifest.write_text('{"format": "bsf-spi')
    result = cli("tune", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {manifest}: corrupt (not JSON); delete the folder's manifest.json and rerun "
        "`bsf simulate --overwrite`\n"
    )
    status = json.loads(cli("status", folder, "--json").stdout)["stages"]["simulate-tune"]
    assert status["state"] == "corrupt" and "manifest.json is unreadable" in status["reasons"][0]
    # a corrupt stage is redone; in a process like the baseline's (the same CPU threads:
    # the tuning's float sums depend on their count)
    result = bsf("run", folder)
    assert result.returncode == 0, result.stderr
    assert snapshot(folder) == baseline[1]


def test_garbled_event_lines_are_skipped(baseline, cli) -> None:
    run = sorted((baseline[0] / "runs").iterdir())[-1]
    events = run / "events.jsonl"
    good, _ = store.read_events(events)
    copy = baseline[0].parent / "garbled-run"
    copy.mkdir(exist_ok=True)
    (copy / "run.json").write_text((run / "run.json").read_text())
    lines = events.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"\x00\xff not json\n")
    (copy / "events.jsonl").write_bytes(b"".join(lines) + b'{"kind": "log", "mes')
    result = cli("logs", copy, "--all")  # every line: the count below is of all of them
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == len(good)  # the garbled and torn lines skipped
    assert result.stdout.splitlines()[-1].endswith("end      done")


def test_truncated_or_empty_artifacts_are_redone_by_a_plain_run(baseline, fresh, cli) -> None:
    folder = fresh()
    snn = folder / "snn.pt"
    snn.write_bytes(snn.read_bytes()[: snn.stat().st_size // 2])
    (folder / "alpha.npz").write_bytes(b"")
    (folder / "report.json").write_text('{"split": "te')
    status = json.loads(cli("status", folder, "--json").stdout)["stages"]
    assert {name: s["state"] for name, s in status.items()} == {
        "train": "done",
        "convert": "corrupt",
        "simulate-tune": "stale",  # snn.pt changed since
        "tune": "corrupt",
        "simulate-test": "stale",
        "report": "corrupt",
        "exit": "stale",  # alpha.npz changed since
    }
    assert status["convert"]["reasons"][0].startswith(f"{snn}: unreadable (truncated")
    assert status["report"]["reasons"] == [
        f"{folder / 'report.json'} is unreadable; `bsf run` redoes it"
    ]
    result = bsf("run", folder)  # as the baseline ran (the same threads, see above)
    assert result.returncode == 0, result.stderr
    assert snapshot(folder) == baseline[1]


def test_a_checkpoint_of_another_network_is_refused_and_retrained(project_copy, cli) -> None:
    folder = project_copy
    ann = folder / "ann.pt"
    saved = torch.load(ann, weights_only=False)
    saved["spec"]["arch"] = "vgg11"  # as if copied in from a vgg11 project
    torch.save(saved, ann)
    snn = (folder / "snn.pt").read_bytes()
    result = cli("convert", folder, "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {ann}: holds arch vgg11, but project.toml and ann.json say arch vggtiny; "
        f"rerun `bsf train {folder} --force`\n"
    )
    assert (folder / "snn.pt").read_bytes() == snn
    status = json.loads(cli("status", folder, "--json").stdout)["stages"]["train"]
    assert status["state"] == "corrupt" and "holds arch vgg11" in status["reasons"][0]
    result = cli("run", folder)
    assert result.exit_code == 0, result.stderr
    assert torch.load(ann, weights_only=False)["spec"]["arch"] == "vggtiny"
    status = json.loads(cli("status", folder, "--json").stdout)["stages"]
    assert {s["state"] for s in status.values()} == {"done"}
