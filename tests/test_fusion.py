"""The fusion math: hand-worked cases, its limits, and the evidence against brute force."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch

from bsf_engine import fusion


def t(values, dtype=torch.int64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def test_hand_worked_posterior() -> None:
    # N = 10 steps: final head counts M = (6, 3), IC counts K = (2, 8) → E = (0.2, 0.8)
    m, k = t([6, 3]), t([2, 8])
    a, b = fusion.posterior(2.0, m, k, 10)
    # prior Beta(2, 2·(1/0.2 − 1) = 8) and Beta(2, 0.5); posterior adds M and N − M
    assert a.tolist() == pytest.approx([8.0, 5.0])
    assert b.tolist() == pytest.approx([8.0 + 4, 0.5 + 7])
    r = fusion.posterior_mean(2.0, m, k, 10)
    assert r.tolist() == pytest.approx([8 / 20, 5 / 12.5])  # (α + M)/(α/E + N)
    # final head alone says class 0 (6 > 3); the fused estimate says 0.40 vs 0.40 → tie → 0
    assert fusion.predict(2.0, m, k, 10).item() == 0
    # a stronger prior flips it to the IC's choice: α = 4 → 10/30 vs 7/15
    assert fusion.predict(4.0, m, k, 10).item() == 1
    std = fusion.posterior_std(2.0, m, k, 10)
    assert std[0].item() == pytest.approx(math.sqrt(8 * 12 / (20**2 * 21)))


def test_alpha_zero_is_the_final_head_and_huge_alpha_the_ic() -> None:
    gen = torch.Generator().manual_seed(0)
    for n in (1, 7, 100, 3000):
        m = torch.randint(0, n + 1, (500, 10), generator=gen)
        k = torch.randint(0, n + 1, (500, 10), generator=gen)
        assert torch.equal(fusion.predict(0.0, m, k, n), m.argmax(dim=-1))
        huge = fusion.predict(1e12, m, k, n)
        ic = k.argmax(dim=-1)
        unique = (k == k.max(dim=-1, keepdim=True).values).sum(-1) == 1
        assert torch.equal(huge[unique], ic[unique])


def test_time_vector_broadcasts_over_leading_dimension() -> None:
    m = t([[[1, 2]], [[3, 1]]])  # [T=2, B=1, K=2]
    k = t([[[1, 0]], [[2, 2]]])
    n = t([2, 4])
    r = fusion.posterior_mean(1.0, m, k, n)
    assert r[0, 0].tolist() == pytest.approx([(1 + 1) / (1 / 0.5 + 2), (1 + 2) / (1 / 1e-6 + 2)])
    assert r[1, 0].tolist() == pytest.approx([(1 + 3) / (1 / 0.5 + 4), (1 + 1) / (1 / 0.5 + 4)])


def beta_binomial_brute(m: int, n: int, a: float, b: float) -> float:
    """log of ∫ θ^m (1−θ)^(n−m) Beta(θ; a, b) dθ via the product formula, exactly."""
    a, b = Fraction(a), Fraction(b)
    value = Fraction(1)
    for i in range(m):
        value *= a + i
    for j in range(n - m):
        value *= b + j
    for step in range(n):
        value /= a + b + step
    return math.log(value)


@pytest.mark.parametrize(
    ("m", "k", "n", "alpha"),
    [(3, 2, 5, 1.0), (0, 0, 4, 2.5), (7, 7, 7, 0.5), (2, 5, 9, 10.0), (0, 9, 9, 3.0)],
)
def test_log_evidence_equals_brute_force(m, k, n, alpha) -> None:
    got = fusion.log_evidence(alpha, t([m]), t([k]), n).item()
    e = min(max(k / n, fusion.EPSILON), 1 - fusion.EPSILON)
    beta = alpha * (1 / e - 1)
    assert got == pytest.approx(beta_binomial_brute(m, n, alpha, beta), rel=1e-9, abs=1e-9)


def test_log_evidence_does_not_underflow_at_t_3000() -> None:
    m = t([1500, 0, 3000, 2999])
    k = t([1400, 0, 3000, 10])
    values = fusion.log_evidence(5.0, m, k, 3000)
    assert torch.isfinite(values).all()
    assert (values < 0).all() and values.min() < -745  # far below float64's exp range


def _real_mean(alpha: int, m: int, k: int, n: int) -> Fraction:
    return Fraction(alpha + m) / (Fraction(alpha * n, k) + n)


@pytest.mark.parametrize(
    ("n", "alpha", "first", "second", "exact_wins", "reference_wins"),
    [
        (3, 1, (2, 2), (3, 1), 0, 1),
        (5, 1, (2, 2), (3, 1), 0, 1),
        (5, 2, (0, 2), (1, 1), 0, 1),
        (4, 2, (4, 2), (3, 3), 1, 0),
    ],
)
def test_exact_ties_break_differently_under_the_two_formulas(
    n, alpha, first, second, exact_wins, reference_wins
) -> None:
    # two classes' (M, K) with equal posterior means in real numbers; bsf's
    # (α + M)/(α/E + N) and the authors' (α + M)/((α + M) + (α(1/E − 1) + (N − M))) round
    # them differently, so a different class wins (an equal pair: the smaller class)
    assert _real_mean(alpha, *first, n) == _real_mean(alpha, *second, n)
    m, k = t([first[0], second[0]]), t([first[1], second[1]])
    exact = fusion.posterior_mean(float(alpha), m, k, n, "exact")
    reference = fusion.posterior_mean(float(alpha), m, k, n, "reference")
    assert (exact[0] == exact[1]) != (reference[0] == reference[1])
    assert fusion.predict(float(alpha), m, k, n, "exact").item() == exact_wins
    assert fusion.predict(float(alpha), m, k, n, "reference").item() == reference_wins


def test_reference_rate_is_not_clipped_so_a_silent_ic_vetoes() -> None:
    # class 0: many final spikes, IC silent (K = 0); class 1: no final spike, one IC spike.
    # bsf clips E at 1e-6 and keeps class 0; the authors' E = 1e-16 vetoes it.
    m, k, n = t([1000, 0]), t([0, 1]), 3000
    assert fusion.predict(1.0, m, k, n, "exact").item() == 0
    assert fusion.predict(1.0, m, k, n, "reference").item() == 1
    assert fusion.predict(0.0, m, k, n, "reference").item() == 0  # α = 0: the final head
