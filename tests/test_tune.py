"""α tuning against direct evaluation over the full grid, and the reference procedure."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.special import beta as scipy_beta

from bsf_engine import alpha as search
from bsf_engine import fusion
from bsf_engine.spikes.store import encode_batch
from bsf_engine.tune import TuneSettings, tune_source


def synthetic_counts(steps=40, batch=30, classes=5, seed=0):
    """Cumulative counts with a label-driven final head and a noisier IC."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, batch)
    final_rate = np.full((batch, classes), 0.08)
    final_rate[np.arange(batch), labels] = 0.3
    ic_rate = rng.uniform(0.05, 0.25, (batch, classes))
    ic_rate[np.arange(batch), labels] += 0.1
    final = rng.random((steps, batch, classes)) < final_rate
    ic = rng.random((steps, batch, classes)) < ic_rate
    return final, ic, labels


def direct_correct(m, k, n, labels, alphas, numerics="exact"):
    out = np.zeros((m.shape[0], len(alphas)), dtype=np.int64)
    for j, a in enumerate(alphas):
        r = fusion.posterior_mean(float(a), m, k, n, numerics)
        out[:, j] = (r.argmax(-1) == labels).sum(1).numpy()
    return out


@pytest.mark.parametrize("numerics", ["exact", "reference"])
def test_grid_correct_equals_direct_evaluation(numerics) -> None:
    final, ic, labels = synthetic_counts()
    m = torch.from_numpy(np.cumsum(final, 0, dtype=np.int32))
    k = torch.from_numpy(np.cumsum(ic, 0, dtype=np.int32))
    n = torch.arange(1, 41)
    alphas = torch.arange(0, 101, dtype=torch.float64)
    got = search.grid_correct(m, k, n, torch.from_numpy(labels), alphas, numerics)
    expected = direct_correct(m, k, n, torch.from_numpy(labels), alphas, numerics)
    assert np.array_equal(got.numpy(), expected)


def test_evidence_sums_equal_a_high_precision_evaluation() -> None:
    import mpmath as mp

    mp.mp.dps = 40
    final, ic, _ = synthetic_counts(steps=12, batch=8, classes=3)
    m = torch.from_numpy(np.cumsum(final, 0, dtype=np.int32))
    k = torch.from_numpy(np.cumsum(ic, 0, dtype=np.int32))
    n = torch.arange(1, 13)
    alphas = torch.tensor([0.0, 0.5, 1.0, 7.0, 100.0], dtype=torch.float64)
    got = search.evidence_sums(m, k, n, alphas)
    assert torch.isinf(got[:, 0]).all()
    for i in range(0, 12, 3):
        for j in range(1, 5):
            total = mp.mpf(0)
            for mm, kk in zip(m[i].reshape(-1).tolist(), k[i].reshape(-1).tolist()):
                e = min(max(mp.mpf(kk) / (i + 1), mp.mpf("1e-6")), 1 - mp.mpf("1e-6"))
                a = mp.mpf(float(alphas[j]))
                b = a * (1 / e - 1)
                total += mp.log(mp.beta(mm + a, i + 1 - mm + b)) - mp.log(mp.beta(a, b))
            assert got[i, j].item() == pytest.approx(float(total), abs=1e-9)
            per_entry = fusion.log_evidence(float(alphas[j]), m[i], k[i], float(i + 1)).sum()
            assert per_entry.item() == pytest.approx(float(total), abs=1e-9)


def test_knots_follow_t() -> None:
    knots = search.knots_for(3000)
    assert knots == [*range(0, 500, 10), *range(500, 3000, 100), 2999]
    small = search.knots_for(50)
    assert small[0] == 0 and small[-1] == 49 and small == sorted(set(small))
    curve = np.arange(3000.0) ** 0.5
    approx = search.approximate(curve, knots)
    assert np.array_equal(approx[knots], curve[knots])


def write_batches(folder, batches=3, steps=30, batch=20, classes=4, seed=0):
    folder.mkdir(parents=True)
    entries = []
    for i in range(batches):
        final, ic, labels = synthetic_counts(steps, batch, classes, seed + i)
        data = encode_batch(
            labels,
            np.arange(i * batch, (i + 1) * batch),
            {"ic1": ic, "final": final},
            np.zeros((steps, 0)),
            steps,
        )
        (folder / f"batch_{i:05d}.npz").write_bytes(data)
        entries.append(
            {"index": i, "file": f"batch_{i:05d}.npz", "samples": batch, "labels": labels.tolist()}
        )
    manifest = {
        "format": "bsf-spikes",
        "version": 1,
        "timesteps": steps,
        "num_classes": classes,
        "heads": ["ic1", "final"],
        "batches": entries,
        "complete": True,
        "samples": batches * batch,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_reference_numerics_equal_a_direct_transcription(tmp_path) -> None:
    # T = 120: two blocks of 50 and a remainder the reference never reaches (α stays 0);
    # unequal files (per-file float32 means, then the mean over files, differ from a pooled
    # mean in the last bits)
    from bsf_engine.spikes import open_spikes

    from . import authors

    write_batches(tmp_path / "tune", steps=120, batch=12, classes=10)
    source = open_spikes(tmp_path / "tune")
    batches = [
        (b.labels, b.head("final").astype(np.float32), b.head("ic1").astype(np.float32))
        for b in source
    ]
    result = tune_source(source, TuneSettings(np.arange(0.0, 101.0), "reference"))
    for mode in ("grid", "emp"):
        raw, correct = authors.alpha_search_batches(batches, 120, mode)
        assert np.array_equal(result[f"alpha_{mode}"], raw), mode
        if mode == "grid":
            assert np.array_equal(result["correct"][:100], correct[:100])
    assert (result["alpha_emp"][:100] > 0).all() and (result["alpha_emp"][100:] == 0).all()


def test_float32_per_file_means_are_the_references() -> None:
    # two files of one sample each, three classes, two steps: per file a float32 mean of
    # the chosen α; then each divided by the file count in float32 and added in float64,
    # in the order the folder lists the files
    alphas = np.arange(0.0, 101.0)
    by_sample = np.array([[[1, 2, 4], [7, 7, 7]], [[3, 3, 9], [1, 1, 2]]])  # [S, t, class]
    per_file = search.reference_file_means(alphas, by_sample.transpose(1, 0, 2), [0, 1, 2])
    assert per_file.dtype == np.float32
    assert per_file.tolist() == [[np.float32(7 / 3), 7.0], [5.0, np.float32(4 / 3)]]
    steps = np.zeros((2, 60), dtype=np.float32)
    steps[:, :2] = per_file
    curve = search.reference_average(steps, [1, 0])
    assert curve.dtype == np.float64
    assert curve[0] == 2.5 + float(np.float32(7 / 3)) / 2 == 3.6666666269302368
    assert curve[0] != (7 / 3 + 5) / 2  # a float64 pooled mean: bsf's exact way
    assert curve[1] == 3.5 + float(np.float32(4 / 3)) / 2
    assert (curve[50:] == 0).all()  # past the last full block of 50


def test_exact_tuning_picks_the_grid_argmax(tmp_path) -> None:
    from bsf_engine.spikes import open_spikes

    write_batches(tmp_path / "tune", seed=5)
    alphas = np.arange(0.0, 21.0)
    result = tune_source(open_spikes(tmp_path / "tune"), TuneSettings(alphas, "exact"))
    correct = result["correct"]
    # ties go to the smaller α
    for t in range(30):
        best = correct[t].max()
        assert result["alpha_grid"][t] == alphas[np.nonzero(correct[t] == best)[0][0]]
        assert result["accuracy_grid"][t] == best / 60
    assert np.array_equal(result["alpha_emp"], alphas[result["evidence"].argmax(1)])
    assert (result["alpha_emp"] > 0).all()
    assert result["accuracy_final"][-1] == correct[-1, 0] / 60


def random_counts(seed: int, steps: int, batch: int, classes: int):
    """Cumulative counts with rates anywhere in [0, 1]: many exact ties, M = N, K = 0, K = N."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, batch)
    rates = rng.choice([0.0, 0.05, 0.3, 0.6, 1.0], size=(2, batch, classes))
    rates = np.clip(rates + rng.uniform(-0.05, 0.05, rates.shape), 0, 1)
    spikes = rng.random((2, steps, batch, classes)) < rates[:, None]
    m, k = np.cumsum(spikes, axis=1, dtype=np.int32)
    return m, k, labels


GRIDS = {
    "integers": np.arange(0.0, 101.0),
    "halves": np.arange(0.5, 30.0, 0.5),
    "uneven": np.array([0.0, 0.1, 0.2, 1.0, 3.0, 7.0, 50.0, 1000.0]),
}


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("numerics", ["exact", "reference"])
@pytest.mark.parametrize("seed", range(6))
def test_grid_crossings_equal_direct_evaluation(seed, numerics, grid) -> None:
    m, k, labels = random_counts(seed, steps=25 + 5 * seed, batch=30, classes=2 + seed)
    alphas = torch.from_numpy(GRIDS[grid])
    n = torch.arange(1, m.shape[0] + 1)
    mt, kt, lt = torch.from_numpy(m), torch.from_numpy(k), torch.from_numpy(labels)
    got = search.grid_correct(mt, kt, n, lt, alphas, numerics)
    assert np.array_equal(got.numpy(), direct_correct(mt, kt, n, lt, alphas, numerics))
    groups = torch.from_numpy(np.arange(30) % 4)
    per_group = search.grid_correct(mt, kt, n, lt, alphas, numerics, groups, 4)
    for g in range(4):
        chosen = groups == g
        expected = direct_correct(mt[:, chosen], kt[:, chosen], n, lt[chosen], alphas, numerics)
        assert np.array_equal(per_group[g].numpy(), expected)


def test_evidence_sums_at_large_n_equal_per_entry_sums() -> None:
    # large N and varied E take the Stirling kernels (near and far) and the K ≪ N path
    m, k, _ = random_counts(7, steps=400, batch=40, classes=6)
    alphas = torch.arange(0.0, 101.0, dtype=torch.float64)
    n = torch.arange(1, 401)
    steps = [0, 3, 50, 199, 399]
    got = search.evidence_sums(m[steps], k[steps], n[steps], alphas)
    for row, t in enumerate(steps):
        for j in (1, 2, 10, 55, 100):
            per_entry = fusion.log_evidence(
                float(alphas[j]), torch.from_numpy(m[t]), torch.from_numpy(k[t]), float(t + 1)
            )
            expected = per_entry.sum().item()
            assert got[row, j].item() == pytest.approx(expected, rel=1e-12, abs=1e-8)


@pytest.mark.parametrize("grid", ["integers", "uneven"])
@pytest.mark.parametrize("seed", range(4))
def test_reference_emp_argmax_equals_scipy_on_every_entry(seed, grid) -> None:
    m, k, _ = random_counts(seed, steps=60, batch=25, classes=4)
    alphas = GRIDS[grid]
    steps = [0, 1, 5, 20, 59]
    n = np.arange(1, 61, dtype=np.float64)[steps]
    got = alphas[search.reference_emp_choice(m[steps], k[steps], n, alphas)]
    with np.errstate(all="ignore"):
        mm = m[steps].astype(np.float64)[..., None]
        e = k[steps].astype(np.float64)[..., None] / n[:, None, None, None] + 1e-16
        b = alphas * (1 / e - 1)
        nn = n[:, None, None, None]
        ratio = scipy_beta(mm + alphas + 1, nn - mm + b) / (scipy_beta(alphas + 1, b) + 1e-9)
    assert np.array_equal(got, alphas[ratio.argmax(-1)])  # every entry, not only their sum


def test_grid_counts_break_exact_ties_by_the_numerics_formula() -> None:
    # one sample of label 1 at N = 3: class 0 has (M, K) = (2, 2), class 1 (3, 1); at
    # α = 1 their posterior means are equal in real numbers. bsf's formula rounds them
    # equal (class 0 wins: wrong), the authors' rounds class 1 up (right)
    m = torch.tensor([[[0, 1]], [[1, 2]], [[2, 3]]], dtype=torch.int32)
    k = torch.tensor([[[1, 1]], [[2, 1]], [[2, 1]]], dtype=torch.int32)
    labels, alphas, n = torch.tensor([1]), torch.tensor([0.0, 1.0, 2.0]), torch.arange(1, 4)
    exact = search.grid_correct(m, k, n, labels, alphas, "exact")
    reference = search.grid_correct(m, k, n, labels, alphas, "reference")
    assert exact[2].tolist() == [1, 0, 0] and reference[2].tolist() == [1, 1, 0]
    assert np.array_equal(exact[:2].numpy(), reference[:2].numpy())
    for numerics, got in (("exact", exact), ("reference", reference)):
        assert np.array_equal(got.numpy(), direct_correct(m, k, n, labels, alphas, numerics))


def test_distinct_pairs_keep_counts_past_int32_keys() -> None:
    # T > 46,340: M·base + K no longer fits int32
    m = np.array([[[50_000, 3, 50_000]]], dtype=np.int32)
    k = np.array([[[49_999, 50_000, 49_999]]], dtype=np.int32)
    offsets, mm, kk, weight = search.distinct_pairs(m, k)
    assert offsets.tolist() == [0, 2]
    assert sorted(zip(mm.tolist(), kk.tolist(), weight.tolist(), strict=True)) == [
        (3, 50_000, 1.0),
        (50_000, 49_999, 2.0),
    ]
