"""Spike files: bsf's layout round-trips exactly; the reference layouts read the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsf_engine.errors import DataError
from bsf_engine.spikes import open_spikes
from bsf_engine.spikes.codec import decode_counts, encode_counts, pack_head, unpack_head
from bsf_engine.spikes.store import FORMAT, VERSION, encode_batch, read_batch_file, sha256_bytes
from bsf_engine.spikes.summary import accuracy_over_time, running_prediction, summarize


def random_spikes(t=37, b=5, k=4, rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((t, b, k)) < rate


def test_pack_unpack_round_trip_for_any_length() -> None:
    for t in (1, 7, 8, 9, 64, 1001):
        spikes = random_spikes(t=t)
        packed = pack_head(spikes)
        assert packed.shape == (5, 4, -(-t // 8)) and packed.dtype == np.uint8
        assert np.array_equal(unpack_head(packed, t), spikes)


def test_counts_round_trip() -> None:
    counts = np.random.default_rng(1).integers(0, 10**6, (50, 12))
    assert np.array_equal(decode_counts(encode_counts(counts)), counts)


def test_batch_file_round_trip_and_same_bytes(tmp_path) -> None:
    heads = {"ic2": random_spikes(seed=1), "final": random_spikes(seed=2)}
    counts = np.arange(37 * 3).reshape(37, 3)
    labels = np.array([3, 1, 0, 2, 2])
    data = encode_batch(labels, np.arange(10, 15), heads, counts, 37)
    assert data == encode_batch(labels, np.arange(10, 15), heads, counts, 37)  # deterministic
    path = tmp_path / "batch_00000.npz"
    path.write_bytes(data)
    batch = read_batch_file(path, sha256_bytes(data))
    assert batch.timesteps == 37 and batch.heads == ["ic2", "final"]
    assert np.array_equal(batch.labels, labels)
    assert np.array_equal(batch.indices, np.arange(10, 15))
    for name, spikes in heads.items():
        assert np.array_equal(batch.head(name), spikes)
        assert np.array_equal(batch.cumulative(name), np.cumsum(spikes, axis=0))
        for t in (0, 8, 13, 37):
            assert np.array_equal(batch.counts_at(name, t), spikes[:t].sum(axis=0))
    assert np.array_equal(batch.counts, counts)
    with np.load(path) as npz:  # an ordinary npz
        assert set(npz.files) >= {"labels", "head_final", "counts"}


def test_corrupt_and_tampered_files_are_reported(tmp_path) -> None:
    heads = {"final": random_spikes()}
    data = encode_batch(np.zeros(5, int), np.arange(5), heads, np.zeros((37, 1)), 37)
    path = tmp_path / "batch_00000.npz"
    path.write_bytes(data[:-40])
    with pytest.raises(DataError, match=r"corrupt spike file \(BadZipFile\); delete it"):
        read_batch_file(path)
    path.write_bytes(data)
    with pytest.raises(DataError, match=r"checksum differs from manifest\.json"):
        read_batch_file(path, "0" * 64)


def write_reference_test(folder, batches=2, t=30, b=4, k=3, ic=6):
    folder.mkdir(parents=True)
    (folder.parent / "command.json").write_text(json.dumps({"ic_index": ic, "model": "vgg19"}))
    truth = []
    for i in range(batches):
        labels = np.arange(b) % k + i
        labels %= k
        final = random_spikes(t, b, k, seed=i).astype(np.float32)
        mid = random_spikes(t, b, k, seed=10 + i).astype(np.float32)
        np.savez_compressed(
            folder / f"output_{i}.npz", labels=labels.astype(np.int64), final=final, mid=mid
        )
        truth.append((labels, final, mid))
    return truth


def test_reference_test_folder(tmp_path) -> None:
    truth = write_reference_test(tmp_path / "run" / "snn_vgg19")
    source = open_spikes(tmp_path / "run" / "snn_vgg19")
    assert source.kind == "reference-test"
    assert (source.timesteps, source.num_classes, source.num_batches) == (30, 3, 2)
    assert source.heads == ["ic6", "final"]
    assert source.samples == 8
    for i, batch in enumerate(source):
        labels, final, mid = truth[i]
        assert np.array_equal(batch.labels, labels)
        assert np.array_equal(batch.head("final"), final.astype(bool))
        assert np.array_equal(batch.head("ic6"), mid.astype(bool))
    summary = summarize(source)
    assert summary["samples"] == 8 and summary["label_counts"] == [3, 3, 2]


def test_reference_tuning_folder(tmp_path) -> None:
    folder = tmp_path / "train"
    folder.mkdir()
    for i in range(3):
        np.savez_compressed(folder / f"labels_{i}.npz", l=np.array([i, i, 0]))
        np.savez_compressed(
            folder / f"-1_output_{i}.npz", o=random_spikes(20, 3, 4, seed=i).astype(np.float32)
        )
        np.savez_compressed(
            folder / f"6_output_{i}.npz", o=random_spikes(20, 3, 4, seed=9 + i).astype(np.float32)
        )
    source = open_spikes(tmp_path)  # the parent of train/ works too
    assert source.kind == "reference-tune"
    assert source.heads == ["ic6", "final"]
    assert source.num_batches == 3 and source.timesteps == 20
    assert source.labels().tolist() == [0, 0, 0, 1, 1, 0, 2, 2, 0]
    assert np.array_equal(source.batch(2).head("final"), random_spikes(20, 3, 4, seed=2))


def test_unknown_paths_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        open_spikes(tmp_path / "nope")
    with pytest.raises(DataError, match="no spikes here"):
        open_spikes(tmp_path)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="not a spike file"):
        open_spikes(tmp_path / "x.txt")


def test_running_prediction_and_accuracy_curve(tmp_path) -> None:
    cumulative = np.array([[0, 0, 0], [0, 1, 0], [2, 1, 0], [2, 1, 3]])
    assert running_prediction(cumulative).tolist() == [-1, 1, 0, 2]
    write_reference_test(tmp_path / "r" / "snn", batches=1, t=16, b=4, k=3)
    source = open_spikes(tmp_path / "r" / "snn")
    steps, acc = accuracy_over_time(source, "final", points=16)
    batch = source.batch(0)
    expected = (running_prediction(batch.cumulative("final"))[-1] == batch.labels).mean()
    assert steps[-1] == 16 and acc[-1] == pytest.approx(expected)


def test_inspect_reference_folder_and_single_batch(cli, tmp_path) -> None:
    write_reference_test(tmp_path / "run" / "snn_vgg19", batches=2, t=24, b=4, k=3, ic=6)
    result = cli(
        "inspect", tmp_path / "run" / "snn_vgg19", "--batch", "1", "--sample", "2", "--accuracy"
    )
    assert result.exit_code == 0, result.stderr
    assert "(reference-test)" in result.stdout
    assert "ic6, final" in result.stdout and "8 in 2 batches" in result.stdout
    assert "ic6: output spikes" in result.stdout and "final: predicts" in result.stdout
    heads = {"final": random_spikes(seed=3), "ic1": random_spikes(seed=4)}
    data = encode_batch(np.array([0, 1, 2, 3, 0]), np.arange(5), heads, np.zeros((37, 2)), 37)
    (tmp_path / "b.npz").write_bytes(data)
    result = cli("inspect", tmp_path / "b.npz", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["kind"] == "bsf-batch" and summary["timesteps"] == 37
    assert summary["label_counts"] == [2, 1, 1, 1]


def test_a_listed_batch_file_that_is_gone_is_named_with_its_fix(handmade_folder, cli) -> None:
    folder = handmade_folder / "spikes" / "test"
    (folder / "batch_00001.npz").unlink()
    hint = (
        f"batch_00001.npz missing or truncated; `bsf simulate {handmade_folder} --split test` "
        f"(or `bsf run {handmade_folder}`) simulates it again"
    )
    summary = json.loads(cli("inspect", folder, "--json").stdout)
    assert summary["complete"] is False and summary["broken_batches"] == ["batch_00001.npz"]
    assert summary["problem"] == hint
    result = cli("inspect", folder)
    assert result.exit_code == 0, result.stderr
    assert "complete" not in result.stdout.replace("incomplete", "")
    assert "batch_00001.npz missing or truncated" in result.stdout
    status = json.loads(cli("status", handmade_folder, "--json").stdout)["stages"]
    assert status["simulate-test"]["state"] == "partial"


def test_old_spikes_left_aside_are_settled_by_the_next_simulation(tmp_path) -> None:
    from bsf_engine.spikes.store import aside_folder, recover_set_aside, write_manifest

    folder = tmp_path / "spikes" / "test"
    aside = aside_folder(folder)
    aside.mkdir(parents=True)
    (aside / "batch_00000.npz").write_bytes(b"old")
    assert recover_set_aside(folder) == (
        f"restored {folder} (an --overwrite run stopped before its first batch)"
    )
    assert (folder / "batch_00000.npz").read_bytes() == b"old" and not aside.exists()
    assert recover_set_aside(folder) is None
    folder.rename(aside)
    folder.mkdir()
    write_manifest(folder, {"format": FORMAT, "version": VERSION, "batches": [{"index": 0}]})
    assert recover_set_aside(folder) == (
        f"removed {aside} (the spikes an --overwrite run replaced)"
    )
    assert not aside.exists() and (folder / "manifest.json").is_file()
