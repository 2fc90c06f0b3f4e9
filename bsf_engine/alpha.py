"""Choosing α(t) on tune spikes: per-step correct counts and evidence over the α grid.

Exact numerics (the default):
- grid: correct[t, α] = number of tune samples the fusion classifies correctly;
  α_grid(t) = the smallest α with the most (ties → smaller α).
- empirical Bayes: evidence[t, α] = Σ over samples and classes of the log-space
  Beta-Binomial evidence; α_emp(t) = its argmax over the grid (α > 0: at α = 0
  the prior is improper and the evidence is −∞).
A sample whose final-head top class also has the highest IC rate is classified
the same way at every α (the posterior mean grows with both M and E), so only
the other ("contested") samples are evaluated over the grid.

Reference numerics reproduce the authors' procedure: E = K/N + 1e-16; grid: the
per-batch argmax of correct counts, averaged over batches; empirical Bayes: for
each (t, sample, class) the argmax over α of
B(M+α+1, N−M+α(1/E−1)) / (B(α+1, α(1/E−1)) + 1e-9) with scipy's beta in float64
(underflow and all), averaged over samples, classes and batches.
"""

from __future__ import annotations

import numpy as np
import torch

from . import fusion

PAIR_CHUNK = 4096  # contested (t, sample) pairs evaluated over the grid at once


def knots_for(timesteps: int) -> list[int]:
    """Dense early, sparse late; for T = 3000 the reference's 0, 10, …, 500, 600, …, 2999."""
    last = timesteps - 1
    dense = max(1, round(timesteps / 300))
    sparse = max(dense, round(timesteps / 30))
    switch = round(timesteps / 6)
    knots = set(range(0, min(switch, last), dense)) | set(range(switch, last, sparse)) | {last}
    return sorted(k for k in knots if 0 <= k <= last)


def approximate(curve: np.ndarray, knots: list[int]) -> np.ndarray:
    """Piecewise-linear interpolation of a per-step curve through its values at the knots."""
    steps = np.arange(len(curve))
    return np.interp(steps, knots, curve[knots])


def grid_correct(
    m: torch.Tensor,
    k: torch.Tensor,
    n: torch.Tensor,
    labels: torch.Tensor,
    alphas: torch.Tensor,
    numerics: str = "exact",
) -> torch.Tensor:
    """int64 [tb, A]: correct classifications per step and α for one block of steps.

    m, k: cumulative final/IC counts [tb, B, K]; n: steps [tb]; labels [B].
    """
    first = m.argmax(dim=-1)  # [tb, B]: the final head's choice (and the choice at α = 0)
    k_top = k.gather(-1, first.unsqueeze(-1)).squeeze(-1)
    settled = k_top == k.max(dim=-1).values  # same choice at every α
    right = first == labels.unsqueeze(0)
    correct = (settled & right).sum(dim=1, dtype=torch.int64).unsqueeze(1).repeat(1, len(alphas))
    where = (~settled).nonzero(as_tuple=False)  # [P, 2] (t index, sample)
    for start in range(0, where.shape[0], PAIR_CHUNK):
        pairs = where[start : start + PAIR_CHUNK]
        ti, bi = pairs[:, 0], pairs[:, 1]
        mm, kk = m[ti, bi].double(), k[ti, bi].double()  # [P, K]
        nn = n[ti].double().unsqueeze(-1)  # [P, 1]
        e = fusion.ic_rate(kk, nn, numerics)
        a = alphas.view(1, -1, 1)
        r = (a + mm.unsqueeze(1)) / (a / e.unsqueeze(1) + nn.unsqueeze(1))  # [P, A, K]
        hit = (r.argmax(dim=-1) == labels[bi].unsqueeze(1)).long()  # [P, A]
        correct.index_add_(0, ti, hit)
    return correct


def evidence_sums(
    m: torch.Tensor, k: torch.Tensor, n: torch.Tensor, alphas: torch.Tensor
) -> torch.Tensor:
    """float64 [tb, A]: Σ over samples and classes of the log evidence (exact numerics).

    Identical (M, K) pairs at a step contribute identically, so each distinct pair is
    evaluated once and weighted by its multiplicity.
    """
    steps = m.shape[0]
    out = torch.empty((steps, len(alphas)), dtype=torch.float64)
    positive = alphas > 0
    out[:, ~positive] = -torch.inf
    a = alphas[positive].view(1, -1)
    for i in range(steps):
        pairs = torch.stack([m[i].reshape(-1), k[i].reshape(-1)], dim=1)
        unique, weight = torch.unique(pairs, dim=0, return_counts=True)
        mm = unique[:, 0:1].double()
        kk = unique[:, 1:2].double()
        values = fusion.log_evidence(a, mm, kk, float(n[i]))  # [U, A+]
        out[i, positive] = (values * weight.double().unsqueeze(1)).sum(dim=0)
    return out


def reference_emp_argmax_sum(
    m: np.ndarray, k: np.ndarray, n: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """float64 [tb]: Σ over samples and classes of the reference's per-entry argmax α."""
    from scipy.special import beta

    out = np.zeros(m.shape[0])
    with np.errstate(all="ignore"):
        for i in range(m.shape[0]):
            mm = m[i].reshape(-1, 1).astype(np.float64)
            e = k[i].reshape(-1, 1).astype(np.float64) / n[i] + fusion.REFERENCE_EPSILON
            a = alphas.reshape(1, -1)
            b = a * (1.0 / e - 1.0)
            ratio = beta(mm + a + 1.0, n[i] - mm + b) / (beta(a + 1.0, b) + 1e-9)
            out[i] = alphas[np.argmax(ratio, axis=1)].sum()
    return out
