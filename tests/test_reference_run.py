"""Reference numerics on an authors' run folder equal their scripts' numbers to the bit.

The fixture is a reference-layout folder of realistic length (T = 3000; several tune
and test files; IC and final heads with different rates; IC counts of 0; exact real
ties between classes), and the oracle is tests/authors.py, their procedures written out.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bsf_engine import alpha as search
from bsf_engine.reference_run import report_reference
from bsf_engine.tune import run_reference

from . import authors

T = 3000
CLASSES = 10
IC_INDEX = 6  # VGG19 / CIFAR-10, the paper's example: 256 channels at 8×8
TIES = [  # (N, α, (M, K) of a rival class 0, (M, K) of the label 1): equal in real numbers
    (3, 1, (2, 2), (3, 1)),
    (4, 1, (2, 2), (3, 1)),
    (5, 1, (2, 2), (3, 1)),
]


def _spikes(rng, labels, boost: float, base: float) -> np.ndarray:
    rates = rng.uniform(0.0, base, (len(labels), CLASSES))
    rates[rates < base / 4] = 0.0  # some classes never fire: K = 0, M = 0
    rates[np.arange(len(labels)), labels] += boost
    return rng.random((T, len(labels), CLASSES)) < rates


def _plant_tie(final: np.ndarray, mid: np.ndarray, sample: int, tie) -> None:
    """Counts at step N for classes 0 and 1 as in `tie`, every other class silent until N."""
    n, _, rival, label = tie
    final[:n, sample] = mid[:n, sample] = False
    for cls, (m, k) in ((0, rival), (1, label)):
        final[:m, sample, cls] = True
        mid[:k, sample, cls] = True


def _plant_veto(final: np.ndarray, mid: np.ndarray, sample: int, label: int) -> None:
    """The label fires on the final head only, a rival once on the IC only: bsf's rule
    (E clipped at 1e-6) keeps the label; the authors' (E = 1e-16) vetoes it."""
    final[:, sample] = mid[:, sample] = False
    final[::3, sample, label] = True
    mid[0, sample, (label + 1) % CLASSES] = True


def _batch(rng, size: int, tied: bool):
    labels = rng.integers(0, CLASSES, size)
    final = _spikes(rng, labels, boost=0.35, base=0.12)
    mid = _spikes(rng, labels, boost=0.15, base=0.2)  # the IC: weaker and noisier
    if tied:
        for sample, tie in enumerate(TIES):
            labels[sample] = 1
            _plant_tie(final, mid, sample, tie)
        _plant_veto(final, mid, len(TIES), labels[len(TIES)])
    return labels, final.astype(np.float32), mid.astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("authors") / "vgg19_cifar10"
    (root / "train").mkdir(parents=True)
    (root / "snn_vgg19").mkdir()
    (root / "command.json").write_text(
        json.dumps({"dataset": "cifar10", "model": "vgg19", "ic_index": IC_INDEX})
    )
    rng = np.random.default_rng(3)
    for i in range(3):  # tuning: labels_i, -1_output_i (final), 6_output_i (IC)
        labels, final, mid = _batch(rng, 5, tied=True)
        np.savez_compressed(root / "train" / f"labels_{i}.npz", l=labels)
        np.savez_compressed(root / "train" / f"-1_output_{i}.npz", o=final)
        np.savez_compressed(root / "train" / f"{IC_INDEX}_output_{i}.npz", o=mid)
    for i in range(2):  # test: output_i with labels, final, mid
        labels, final, mid = _batch(rng, 8, tied=True)
        np.savez_compressed(
            root / "snn_vgg19" / f"output_{i}.npz", labels=labels, final=final, mid=mid
        )
    return root


@pytest.fixture(scope="module")
def theirs(folder):
    """What their scripts compute on the folder, with their α files written as they do."""
    out = {}
    for mode in ("grid", "emp"):
        raw, correct = authors.alpha_search(folder / "train", IC_INDEX, T, mode)
        out[mode] = raw
        out[f"{mode}_approx"] = authors.approximate(raw)
        if mode == "grid":
            out["correct"] = correct
        np.savez(folder / f"alpha_output_{mode}.npz", alpha=raw)
        np.savez(folder / f"division_linear_alpha_{mode}.npz", y=out[f"{mode}_approx"])
    curves = authors.accuracy_curves(folder / "snn_vgg19", out["grid_approx"], out["emp_approx"])
    out["curves"] = curves
    out["fp_acc"] = float(curves["final"][-1])
    (folder / "ann_acc.csv").write_text(f"{IC_INDEX},0.5\n-1,{out['fp_acc']}\n")
    return out


def test_tuning_equals_theirs_to_the_bit(folder, theirs) -> None:
    ours = run_reference(folder)
    assert ours["numerics"] == "reference"
    with np.load(folder / "bsf" / "alpha.npz") as npz:
        for mode in ("grid", "emp"):
            assert np.array_equal(npz[f"alpha_{mode}"], theirs[mode]), mode
            assert np.array_equal(npz[f"alpha_{mode}_approx"], theirs[f"{mode}_approx"]), mode
        assert np.array_equal(npz["correct"], theirs["correct"])
    assert (theirs["emp"] > 0).any() and (theirs["grid"] > 0).any()


def test_the_fixture_has_cells_where_bsfs_own_rule_would_differ(folder, theirs) -> None:
    # the planted ties: bsf's exact formula breaks them the other way, so the reference
    # table above is not equal by luck
    from bsf_engine.spikes import open_spikes
    from bsf_engine.spikes.split_counts import SplitCounts

    counts = SplitCounts(open_spikes(folder / "train"), ("final", f"ic{IC_INDEX}"))
    _, m, k = next(counts.blocks(64))
    args = (torch.from_numpy(m), torch.from_numpy(k), torch.arange(1, 65))
    labels, alphas = torch.from_numpy(counts.labels), torch.arange(0.0, 101.0)
    exact = search.grid_correct(*args, labels, alphas, "exact").numpy()
    reference = search.grid_correct(*args, labels, alphas, "reference").numpy()
    assert np.array_equal(reference, theirs["correct"][:64])
    differ = np.argwhere(exact != reference)
    assert {(int(t) + 1, int(a)) for t, a in differ} >= {(n, a) for n, a, _, _ in TIES}


def test_report_equals_theirs_to_the_bit(folder, theirs) -> None:
    report = report_reference(folder)
    assert report["numerics"] == "reference"
    assert report["alpha_files"] == {
        "grid": "division_linear_alpha_grid.npz",
        "emp": "division_linear_alpha_emp.npz",
    }
    assert report["ann_accuracy"] == theirs["fp_acc"]  # from their ann_acc.csv
    accuracy = report["curves"]["accuracy"]
    names = {"bsf_grid": "grid", "bsf_emp": "emp", "final": "final", "ic": "mid"}
    for ours, their in names.items():
        assert np.array_equal(np.array(accuracy[ours]), theirs["curves"][their]), ours
    vgg19 = [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (256, 1), (256, 1)]
    vgg19 += [(512, 2), (512, 1), (512, 1), (512, 1), (512, 2), (512, 1), (512, 1), (512, 1)]
    final_j, bsf_j = authors.vgg_energy_per_step(vgg19, (3, 32, 32), IC_INDEX, CLASSES)
    energy = report["curves"]["energy_J"]
    steps = np.arange(1, T + 1)
    assert np.array_equal(np.array(energy["final"]), steps * final_j)
    assert np.array_equal(np.array(energy["bsf_grid"]), steps * bsf_j)
    assert (bsf_j - final_j) * 1e9 == pytest.approx(48.5067, abs=1e-4)  # their pool row
    head = authors.headline(theirs["curves"], final_j, bsf_j, theirs["fp_acc"])
    methods = report["methods"]
    assert methods["final"]["energy_to_target_J"] == head["final"]["energy"]
    assert methods["final"]["auc"] == head["final"]["auc"]
    for ours, their in (("bsf_grid", "grid"), ("bsf_emp", "emp")):
        assert methods[ours]["energy_to_target_J"] == head[their]["energy"]
        assert methods[ours]["reduction_pct"] == head[their]["decrease"]
        assert methods[ours]["auc"] == head[their]["auc"]
        assert methods[ours]["auc_increase_pct"] == head[their]["auc_increase"]


def test_exact_numerics_on_the_same_folder_differ(folder, theirs) -> None:
    exact = report_reference(folder, numerics="exact")
    assert exact["numerics"] == "exact"
    accuracy = exact["curves"]["accuracy"]
    # bsf's own rule (E clipped: the planted vetoed label is kept) and its own SpikeSim rows
    assert not np.array_equal(np.array(accuracy["bsf_emp"]), theirs["curves"]["emp"])
    energy = exact["curves"]["energy_J"]
    assert (energy["bsf_grid"][0] - energy["final"][0]) * 1e9 == pytest.approx(0.758, abs=1e-3)
