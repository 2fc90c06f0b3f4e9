"""The BayesianSpikeFusion math, vectorised over any leading dimensions.

Per sample and class after N = t steps: M = final-head spike count, K = IC-head
count, E = K/N clipped into (ε, 1−ε). Prior θ ~ Beta(α, α(1/E − 1)) (mean E),
likelihood M ~ Bin(N, θ), posterior Beta(α + M, α(1/E − 1) + N − M), posterior
mean r = (α + M)/(α/E + N), prediction argmax_c r (ties: the smallest class).
α = 0 is the final head alone; α → ∞ the IC alone.

The empirical-Bayes evidence of α is the Beta-Binomial marginal likelihood
log B(M + α, N − M + β) − log B(α, β), β = α(1/E − 1), computed with lgamma in
log space (no underflow at any N).

`numerics="reference"` is the authors' arithmetic, to the last bit: E = K/N + 1e-16
(no clipping: a class whose IC never fired gets β ≈ α·1e16, so for α > 0 it is
effectively vetoed) and r = (α + M)/((α + M) + (α(1/E − 1) + (N − M))), evaluated in
that order in float64 (the real value is the same as the exact form; its rounding,
and so which class wins an exact tie, is not).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .states import Numerics

EPSILON = 1e-6  # clip of the IC rate E into (ε, 1 − ε)
REFERENCE_EPSILON = 1e-16  # the reference adds this to E and does not clip


def ic_rate(ic_counts: Tensor, n: Tensor | float, numerics: str = Numerics.EXACT) -> Tensor:
    """E = K/N (float64), clipped (exact) or shifted by 1e-16 (reference)."""
    rate = ic_counts.double() / n
    if numerics == Numerics.REFERENCE:
        return rate + REFERENCE_EPSILON
    return rate.clamp(EPSILON, 1.0 - EPSILON)


def _broadcast_n(n: Tensor | float, like: Tensor) -> Tensor | float:
    if isinstance(n, Tensor) and n.dim() == 1 and like.dim() > 1:
        return n.double().view(-1, *([1] * (like.dim() - 1)))
    return n


def _alpha(alpha: float | Tensor) -> Tensor:
    # a tensor, so that α / E is a true division (a Python number divided by a tensor is
    # computed as number · (1/tensor) in torch, which differs in the last bit)
    return torch.as_tensor(alpha, dtype=torch.float64)


def posterior(alpha: float | Tensor, m: Tensor, k: Tensor, n, numerics: str = Numerics.EXACT):
    """(a, b) of the posterior Beta over each class's final-head firing probability."""
    alpha = _alpha(alpha)
    n = _broadcast_n(n, m)
    e = ic_rate(k, n, numerics)
    a = alpha + m.double()
    b = alpha * (torch.ones_like(e) / e - 1.0) + (n - m.double())
    return a, b


def posterior_mean(alpha: float | Tensor, m: Tensor, k: Tensor, n, numerics: str = Numerics.EXACT):
    """r = (α + M)/(α/E + N) (exact), or the reference's rounding of the same value."""
    alpha = _alpha(alpha)
    n = _broadcast_n(n, m)
    return mean_at_rate(alpha, m.double(), ic_rate(k, n, numerics), n, numerics)


def mean_at_rate(alpha, m, e, n, numerics: str = Numerics.EXACT):
    """The posterior mean from float64 α, M, E and N: the one formula every prediction
    and every tie-break uses (`grid_correct` compares with it too)."""
    if numerics == Numerics.REFERENCE:
        a = alpha + m
        return a / (a + (alpha * (torch.ones_like(e) / e - 1.0) + (n - m)))
    return (alpha + m) / (alpha / e + n)


def posterior_std(alpha: float | Tensor, m: Tensor, k: Tensor, n, numerics: str = Numerics.EXACT):
    """Standard deviation of the posterior Beta (0 where it is degenerate)."""
    a, b = posterior(alpha, m, k, n, numerics)
    total = a + b
    var = a * b / (total * total * (total + 1.0))
    return torch.nan_to_num(var, nan=0.0).clamp_min(0.0).sqrt()


def predict(
    alpha: float | Tensor, m: Tensor, k: Tensor, n, numerics: str = Numerics.EXACT
) -> Tensor:
    """argmax over the last (class) dimension of the posterior mean; ties → smallest class."""
    return posterior_mean(alpha, m, k, n, numerics).argmax(dim=-1)


def log_evidence(alpha: float | Tensor, m: Tensor, k: Tensor, n) -> Tensor:
    """log B(M + α, N − M + β) − log B(α, β), elementwise, in float64 (exact numerics).

    Evaluated as L(α, M) + L(β, N − M) − L(α + β, N) with L(x, n) = lgamma(x + n) −
    lgamma(x) (`lgamma_diff`): the plain lgamma formula loses ~1e-6 when E is
    clipped at 1e-6 and β reaches 1e8.
    """
    n = _broadcast_n(n, m)
    e = ic_rate(k, n)
    alpha = _alpha(alpha)
    beta = alpha * (torch.ones_like(e) / e - 1.0)
    m = m.double()
    n = torch.as_tensor(n, dtype=torch.float64)
    return lgamma_diff(alpha, m) + lgamma_diff(beta, n - m) - lgamma_diff(alpha / e, n)


STIRLING_FROM = 10.0


def _stirling_tail(y: torch.Tensor) -> torch.Tensor:
    inv = 1.0 / y
    inv2 = inv * inv
    return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))


def lgamma_diff(x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """lgamma(x + n) − lgamma(x) for x > 0, n ≥ 0, without cancellation at large x.

    From x ≥ 10, Stirling's series gives (x − ½)·log1p(n/x) + n·log(x + n) − n plus
    the difference of the series' tails (error < 1e-13); below, lgamma directly.
    """
    x, n = torch.broadcast_tensors(x, n)
    big = x >= STIRLING_FROM
    if bool(big.all()):
        return _stirling_diff(x, n)
    out = torch.empty_like(x)
    out[big] = _stirling_diff(x[big], n[big])
    small = ~big
    out[small] = torch.lgamma(x[small] + n[small]) - torch.lgamma(x[small])
    return out


def _stirling_diff(x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    top = x + n
    out = torch.log1p(n / x).mul_(x - 0.5)
    out.add_(torch.log(top).mul_(n)).sub_(n)
    return out.add_(_stirling_tail(top)).sub_(_stirling_tail(x))
