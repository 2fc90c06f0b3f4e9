"""Stopping policies: hand-worked scores and exits, the oracle as a bound, calibration on
tune only, streaming independent of batching, fixed t equal to the report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bsf_engine import report, stopping
from bsf_engine.models.spec import ModelSpec
from bsf_engine.spikes.batch import SpikeBatch
from bsf_engine.states import EnergyModel, Method, Numerics
from bsf_engine.stopping import Block, Predictor


class MemorySource:
    """A SpikeSource over batches held in memory."""

    kind = "memory"
    folder = Path("memory")

    def __init__(self, batches: list[SpikeBatch]) -> None:
        self.batches = batches
        self.class_names: list[str] = []

    @property
    def timesteps(self) -> int:
        return self.batches[0].timesteps

    @property
    def heads(self) -> list[str]:
        return self.batches[0].heads

    @property
    def num_classes(self) -> int:
        return self.batches[0].num_classes

    @property
    def num_batches(self) -> int:
        return len(self.batches)

    @property
    def samples(self) -> int:
        return sum(b.size for b in self.batches)

    def batch(self, index: int) -> SpikeBatch:
        return self.batches[index]

    def __iter__(self):
        return iter(self.batches)

    def labels(self) -> np.ndarray:
        return np.concatenate([b.labels for b in self.batches])


def source_of(final: np.ndarray, ic: np.ndarray, labels, sizes=None, counts=True) -> MemorySource:
    """Spikes [T, S, K] of both heads cut into batches of `sizes` (default: one)."""
    labels = np.asarray(labels, dtype=np.int64)
    sizes = sizes or [len(labels)]
    batches, start = [], 0
    for size in sizes:
        part = slice(start, start + size)
        per_layer = None
        if counts:  # two made-up populations: each head's spikes per step
            per_layer = np.stack(
                [final[:, part].sum(axis=(1, 2)), ic[:, part].sum(axis=(1, 2))], axis=1
            ).astype(np.int64)
        batches.append(
            SpikeBatch(
                labels[part],
                final.shape[0],
                dense={"ic": ic[:, part], "final": final[:, part]},
                counts=per_layer,
            )
        )
        start += size
    return MemorySource(batches)


def random_spikes(seed: int, timesteps: int = 30, samples: int = 40, classes: int = 4):
    """Spikes whose label neuron fires fastest for most samples, at varied rates, with a
    noisier IC: every policy has something to decide."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, samples)
    rates = rng.uniform(0.0, 0.35, (samples, classes))
    rates[np.arange(samples), labels] += rng.uniform(0.0, 0.5, samples)
    final = rng.random((timesteps, samples, classes)) < rates
    ic_rates = np.clip(rates + rng.normal(0, 0.15, rates.shape), 0, 1)
    ic = rng.random((timesteps, samples, classes)) < ic_rates
    alpha = rng.uniform(0, 20, timesteps)
    return final, ic, labels, alpha


def one_block(m, k, n, alpha, scale=1.0, numerics=Numerics.EXACT) -> Block:
    return Block(
        torch.tensor(m, dtype=torch.int32),
        torch.tensor(k, dtype=torch.int32),
        torch.tensor(n, dtype=torch.float64),
        torch.tensor(alpha, dtype=torch.float64),
        scale,
        numerics,
    )


def spikesim_curves(timesteps: int) -> stopping.EnergyCurves:
    steps = np.arange(1, timesteps + 1, dtype=np.float64)
    return {EnergyModel.SPIKESIM: {Predictor.FINAL: 2.0 * steps, Predictor.BSF: 3.0 * steps}}


# -- hand-worked scores ---------------------------------------------------------------
def test_confidence_and_entropy_scores_by_hand() -> None:
    # at t = 1, counts [0, 1, 0] and λ/τ = ln 8: logits [0, ln 8, 0], softmax [.1, .8, .1]
    block = one_block([[[0, 1, 0]]], [[[0, 0, 0]]], [1.0], [0.0], scale=math.log(8))
    assert stopping.confidence_score(block).item() == pytest.approx(0.8, abs=1e-12)
    entropy = -(0.8 * math.log(0.8) + 2 * 0.1 * math.log(0.1))
    assert stopping.entropy_score(block).item() == pytest.approx(
        1 - entropy / math.log(3), abs=1e-12
    )
    assert block.prediction(Predictor.FINAL).item() == 1
    # at t = 2 the same counts are half the rate: logits [0, ln 8 / 2, 0]
    later = one_block([[[0, 1, 0]]], [[[0, 0, 0]]], [2.0], [0.0], scale=math.log(8))
    root = math.sqrt(8)
    assert stopping.confidence_score(later).item() == pytest.approx(root / (root + 2), abs=1e-12)


def test_a_silent_head_is_uniform_and_never_sure() -> None:
    block = one_block([[[0, 0, 0, 0]]], [[[0, 0, 0, 0]]], [5.0], [0.0], scale=10.0)
    assert stopping.confidence_score(block).item() == pytest.approx(0.25)
    assert stopping.entropy_score(block).item() == pytest.approx(0.0, abs=1e-12)


def test_posterior_margin_by_hand() -> None:
    # α = 2, N = 4, M = [3, 1, 0], IC counts [2, 2, 0] → E = [½, ½, 1e-6 (clipped)]
    # a = α + M = [5, 3, 2], b = α(1/E − 1) + N − M = [3, 5, ≈2e6]; means [5/8, 3/8, ≈1e-6]
    # var = ab/((a+b)²(a+b+1)) = 15/576 for both leaders: z = ¼ / √(30/576)
    block = one_block([[[3, 1, 0]]], [[[2, 2, 0]]], [4.0], [2.0])
    assert stopping.posterior_score(block).item() == pytest.approx(
        0.25 / math.sqrt(30 / 576), rel=1e-12
    )
    assert block.prediction(Predictor.BSF).item() == 0


def test_posterior_margin_is_zero_on_a_tie_and_infinite_when_both_are_certain() -> None:
    tie = one_block([[[2, 2, 0]]], [[[1, 1, 1]]], [4.0], [1.0])
    assert stopping.posterior_score(tie).item() == 0.0
    # α = 0: Beta(M, N − M); M = N and M = 0 are point masses, the means differ
    certain = one_block([[[4, 0]]], [[[0, 0]]], [4.0], [0.0])
    assert stopping.posterior_score(certain).item() == math.inf


def test_exit_steps_are_first_crossings_of_the_running_score() -> None:
    scores = torch.tensor(
        [[0.1, 0.2, 0.95], [0.5, 0.2, 0.0], [0.3, 0.2, 0.0], [0.9, 0.2, 0.0]],
        dtype=torch.float64,
    )  # [T = 4, B = 3]
    thresholds = torch.tensor([0.0, 0.4, 0.6, 0.95, 1.0], dtype=torch.float64)
    got = stopping.exit_steps(scores, thresholds)
    # sample 0 reaches 0.4 at step 2 (index 1), 0.6 only at step 4, never 0.95; index 4
    # (= T) is "never": the sample runs to the end
    assert got.tolist() == [[0, 1, 3, 4, 4], [0, 4, 4, 4, 4], [0, 0, 0, 0, 4]]


def test_one_split_by_hand_every_policy() -> None:
    # T = 3, K = 2, two samples (label 0, label 1); λ/τ = 1; α = 0 (BSF = final head)
    final = np.zeros((3, 2, 2), dtype=bool)
    final[0, 0, 0] = final[1, 0, 0] = final[2, 0, 0] = True  # sample 0: class 0 every step
    final[1, 1, 0] = True  # sample 1: class 0 at step 2, class 1 at step 3
    final[2, 1, 1] = True
    ic = np.zeros_like(final)
    source = source_of(final, ic, [0, 1])
    tally = stopping.tally_split(source, "ic", np.zeros(3), 1.0)
    sweeps = stopping.sweeps(tally, spikesim_curves(3))
    # fixed t: step 1 sample 0 right, sample 1 silent → class 0, wrong; step 3: a tie
    # [1, 1] → class 0, wrong
    assert sweeps["fixed-final"].accuracy.tolist() == [0.5, 0.5, 0.5]
    assert sweeps["fixed-final"].energy[EnergyModel.SPIKESIM].tolist() == [2.0, 4.0, 6.0]
    assert sweeps["fixed-bsf"].energy[EnergyModel.SPIKESIM].tolist() == [3.0, 6.0, 9.0]
    # oracle: sample 0 right at step 1; sample 1 never right
    oracle = sweeps["oracle"]
    assert oracle.accuracy.tolist() == [0.5, 0.5, 0.5]
    assert oracle.mean_steps.tolist() == [1.0, 1.0, 1.0]
    # confidence at step 1: sample 0 softmax [e, 1]/(e + 1) = 0.731, sample 1 uniform ½
    confidence = sweeps["confidence"]
    at = int(np.searchsorted(confidence.thresholds, 0.6))  # the first θ ≥ 0.6
    assert 0.6 <= confidence.thresholds[at] < math.e / (math.e + 1)
    # sample 0 exits at 1 (right); sample 1: step 2 [1, 0]/2 → 0.62 ≥ θ only if θ ≤ 0.62
    s1_step2 = math.exp(0.5) / (math.exp(0.5) + 1)
    expected_steps = 1 + (2 if confidence.thresholds[at] <= s1_step2 else 3)
    assert confidence.mean_steps[at] == expected_steps / 2
    assert confidence.accuracy[at] == 0.5
    assert confidence.hist[at].sum() == 2
    # θ = 0: everyone exits at step 1; the largest θ: everyone runs to T
    assert confidence.mean_steps[0] == 1.0 and confidence.mean_steps[-1] == 3.0
    assert confidence.median_steps[-1] == 3.0 and confidence.p95_steps[0] == 1.0


# -- the oracle is a bound --------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_the_oracle_is_at_least_as_accurate_as_every_policy_at_equal_mean_steps(seed) -> None:
    final, ic, labels, alpha = random_spikes(seed)
    tally = stopping.tally_split(source_of(final, ic, labels), "ic", alpha, 3.0)
    sweeps = stopping.sweeps(tally, spikesim_curves(final.shape[0]))
    oracle = sweeps["oracle"]
    # between two budgets the oracle adds the samples of equal cost one by one: linear
    x = np.concatenate([[1.0], oracle.mean_steps])
    y = np.concatenate([[oracle.accuracy[0]], oracle.accuracy])
    for name, sweep in sweeps.items():
        if name == "oracle":
            continue
        bound = np.interp(sweep.mean_steps, x, y)
        assert np.all(sweep.accuracy <= bound + 1e-12), name
    # and it is tight somewhere: a policy that is not an oracle is below it
    assert oracle.accuracy[-1] >= sweeps["fixed-bsf"].accuracy[-1]


# -- streaming ------------------------------------------------------------------------
def test_sweeps_do_not_depend_on_how_the_split_is_batched() -> None:
    final, ic, labels, alpha = random_spikes(11, timesteps=300, samples=50)
    whole = stopping.tally_split(source_of(final, ic, labels), "ic", alpha, 2.0)
    parts = stopping.tally_split(source_of(final, ic, labels, [7, 30, 13]), "ic", alpha, 2.0)
    curves = spikesim_curves(300)
    a, b = stopping.sweeps(whole, curves), stopping.sweeps(parts, curves)
    for name in a:
        for key, values in a[name].arrays().items():
            assert np.array_equal(values, b[name].arrays()[key]), (name, key)


# -- calibration on tune, evaluation on test ------------------------------------------------
def _sweeps_of(final, ic, labels, alpha, timesteps):
    tally = stopping.tally_split(source_of(final, ic, labels), "ic", alpha, 3.0)
    return stopping.sweeps(tally, spikesim_curves(timesteps))


def test_calibration_never_reads_the_test_split() -> None:
    final, ic, labels, alpha = random_spikes(3, timesteps=40, samples=60)
    tune = _sweeps_of(final, ic, labels, alpha, 40)
    same = stopping.operating_points(tune, tune, 0.6, EnergyModel.SPIKESIM)
    # a test split whose every label is wrong: a choice that looked at it would change
    wrong = (labels + 1) % final.shape[2]
    test = _sweeps_of(final, ic, wrong, alpha, 40)
    points = stopping.operating_points(tune, test, 0.6, EnergyModel.SPIKESIM)
    for name, point in points.items():
        if name == "oracle":  # a bound, read off the test split on purpose
            continue
        assert point.index is not None, name
        assert point.index == same[name].index and point.tune == same[name].tune, name
        assert point.test != same[name].test, name  # evaluated on the test split
    # the chosen θ is the cheapest reaching the target on tune
    for name in ("confidence", "posterior"):
        chosen = points[name].index
        sweep = tune[name]
        assert sweep.accuracy[chosen] >= 0.6
        reaching = sweep.energy[EnergyModel.SPIKESIM][sweep.accuracy >= 0.6]
        assert sweep.energy[EnergyModel.SPIKESIM][chosen] == reaching.min()


def test_reductions_are_against_fixed_t_chosen_the_same_way() -> None:
    final, ic, labels, alpha = random_spikes(4, timesteps=40, samples=60)
    tune = _sweeps_of(final, ic, labels, alpha, 40)
    points = stopping.operating_points(tune, tune, 0.6, EnergyModel.SPIKESIM)
    fixed = points["fixed-bsf"].test["energy_J"]
    for point in points.values():
        expected = (fixed - point.test["energy_J"]) / fixed * 100
        assert point.reduction_vs_fixed_bsf_pct == pytest.approx(expected)
    assert points["fixed-bsf"].reduction_vs_fixed_bsf_pct == 0.0


def test_a_target_no_threshold_reaches_leaves_the_point_empty() -> None:
    final, ic, labels, alpha = random_spikes(5)
    tune = _sweeps_of(final, ic, labels, alpha, 30)
    points = stopping.operating_points(tune, tune, 1.01, EnergyModel.SPIKESIM)
    assert all(p.index is None and p.test["energy_J"] is None for p in points.values())
    assert points["posterior"].reduction_vs_fixed_bsf_pct is None


# -- fixed t is today's report ----------------------------------------------------------------
@pytest.mark.parametrize("numerics", list(Numerics))
def test_fixed_t_equals_the_reports_curves_and_headline_exactly(numerics) -> None:
    final, ic, labels, alpha = random_spikes(8, timesteps=200, samples=80, classes=10)
    source = source_of(final, ic, labels, [30, 50])
    accuracy, _, _ = report.accuracy_curves(source, alpha, alpha, "ic", None, numerics)
    tally = stopping.tally_split(source, "ic", alpha, 2.0, numerics)
    spec = ModelSpec("vggtiny", 1, 8, 10, (2,), batchnorm=False)
    from bsf_engine.config import default_config

    energy_cfg = default_config().energy
    curves = report.energy_curves(spec, EnergyModel.SPIKESIM, energy_cfg, 200, None, numerics)
    by_head = {Predictor.FINAL: curves[Method.FINAL], Predictor.BSF: curves[Method.BSF_GRID]}
    sweeps = stopping.sweeps(tally, {EnergyModel.SPIKESIM: by_head})
    assert np.array_equal(sweeps["fixed-final"].accuracy, accuracy[Method.FINAL])
    assert np.array_equal(sweeps["fixed-bsf"].accuracy, accuracy[Method.BSF_GRID])
    energy = sweeps["fixed-bsf"].energy[EnergyModel.SPIKESIM]
    assert np.array_equal(energy, curves[Method.BSF_GRID])
    target = 0.5
    headline = report.headline(accuracy, curves, target, numerics)
    points = stopping.operating_points(sweeps, sweeps, target, EnergyModel.SPIKESIM)
    for policy, method in (("fixed-final", Method.FINAL), ("fixed-bsf", Method.BSF_GRID)):
        read = points[policy].test_read
        assert read["mean_steps"] == headline[method]["steps_to_target"]
        assert read["energy_J"] == headline[method]["energy_to_target_J"]
