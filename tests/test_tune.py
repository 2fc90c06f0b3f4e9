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


def reference_direct(folder, steps, alphas):
    """A direct numpy transcription of the reference procedure (the slow oracle)."""
    from bsf_engine.spikes import open_spikes

    source = open_spikes(folder)
    grid_argmaxes, emp_sum, entries = [], np.zeros(steps), 0
    for batch in source:
        m = batch.cumulative("final").astype(np.float64)
        k = batch.cumulative("ic1").astype(np.float64)
        n = np.arange(1, steps + 1, dtype=np.float64)[:, None, None]
        e = k / n + 1e-16
        correct = np.zeros((steps, len(alphas)))
        for j, a in enumerate(alphas):
            r = (a + m) / (a / e + n)
            correct[:, j] = (r.argmax(-1) == batch.labels).sum(1)
        grid_argmaxes.append(alphas[correct.argmax(1)])
        with np.errstate(all="ignore"):
            a = alphas[None, None, None, :]
            b = a * (1 / e[..., None] - 1)
            ratio = scipy_beta(m[..., None] + a + 1, n[..., None] - m[..., None] + b) / (
                scipy_beta(a + 1, b) + 1e-9
            )
        emp_sum += alphas[ratio.argmax(-1)].sum(axis=(1, 2))
        entries += m.shape[1] * m.shape[2]
    return np.mean(grid_argmaxes, axis=0), emp_sum / entries


def test_reference_numerics_equal_a_direct_transcription(tmp_path) -> None:
    from bsf_engine.spikes import open_spikes

    write_batches(tmp_path / "tune")
    alphas = np.arange(0.0, 101.0)
    result = tune_source(open_spikes(tmp_path / "tune"), TuneSettings(alphas, "reference"))
    grid, emp = reference_direct(tmp_path / "tune", 30, alphas)
    assert np.array_equal(result["alpha_grid"], grid)
    assert np.allclose(result["alpha_emp"], emp, rtol=0, atol=1e-12)


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
