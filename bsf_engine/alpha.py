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
from .fusion import lgamma_diff

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

    For α > 0 the posterior mean grows strictly with M and with E, so a class that
    is at least as good in both (better in one) wins at every α > 0. A sample
    whose label beats every class that way is right at every α > 0; one whose
    label is beaten by some class is wrong at every α > 0; only the rest are
    evaluated over the grid, on the label and its remaining competitors. α = 0
    is the final head's argmax (ties → smallest class).
    """
    steps, batch, classes = m.shape
    m = m.long()
    k = k.long()
    y = labels.view(1, batch, 1).expand(steps, batch, 1)
    my, ky = m.gather(-1, y), k.gather(-1, y)
    cls = torch.arange(classes).view(1, 1, classes)
    label_first = labels.view(1, batch, 1) < cls  # label index below the class: wins ties
    equal = (my == m) & (ky == k)
    y_beats = ((my >= m) & (ky >= k) & ((my > m) | (ky > k))) | (equal & label_first)
    c_beats = ((m >= my) & (k >= ky) & ((m > my) | (k > ky))) | (equal & ~label_first)
    is_label = cls == labels.view(1, batch, 1)
    always = (y_beats | is_label).all(dim=-1)
    never = (c_beats & ~is_label).any(dim=-1)
    correct = torch.zeros((steps, len(alphas)), dtype=torch.int64)
    correct += always.sum(dim=1, dtype=torch.int64).unsqueeze(1)
    zero = alphas == 0
    if zero.any():  # α = 0: the final head alone
        final_right = (m.argmax(dim=-1) == labels.view(1, -1)).sum(dim=1, dtype=torch.int64)
        correct[:, zero] = final_right.unsqueeze(1)
    positive = (~zero).nonzero(as_tuple=True)[0]
    open_ = (~always & ~never).nonzero(as_tuple=False)
    if open_.numel() == 0 or positive.numel() == 0:
        return correct
    a = alphas[positive]
    rivals = ~(y_beats | is_label)[open_[:, 0], open_[:, 1]]  # [P, K]
    single = rivals.sum(dim=-1) == 1
    for subset, one in ((open_[single], True), (open_[~single], False)):
        for start in range(0, subset.shape[0], PAIR_CHUNK):
            pairs = subset[start : start + PAIR_CHUNK]
            ti, bi = pairs[:, 0], pairs[:, 1]
            mm, kk = m[ti, bi].double(), k[ti, bi].double()  # [P, K]
            nn = n[ti].double().unsqueeze(-1)  # [P, 1]
            e = fusion.ic_rate(kk, nn, numerics)
            label = labels[bi]
            if one:
                rival = rivals[single][start : start + PAIR_CHUNK].float().argmax(dim=-1)
                cols = torch.stack([label, rival], dim=1)  # [P, 2]
                mm, e = mm.gather(1, cols), e.gather(1, cols)
                av = a.view(1, -1, 1)
                r = (av + mm.unsqueeze(1)) / (av / e.unsqueeze(1) + nn.unsqueeze(1))  # [P, A, 2]
                label_wins = torch.where(
                    (label < rival).unsqueeze(1), r[..., 0] >= r[..., 1], r[..., 0] > r[..., 1]
                )
            else:
                av = a.view(1, -1, 1)
                r = (av + mm.unsqueeze(1)) / (av / e.unsqueeze(1) + nn.unsqueeze(1))  # [P, A, K]
                label_wins = r.argmax(dim=-1) == label.unsqueeze(1)
            hits = torch.zeros((pairs.shape[0], len(alphas)), dtype=torch.int64)
            hits[:, positive] = label_wins.long()
            correct.index_add_(0, ti, hits)
    return correct


class EvidenceTables:
    """lgamma values shared by every step: lgamma(M + α) for M = 0 … max_n, and lgamma(α)."""

    def __init__(self, alphas: torch.Tensor, max_n: int) -> None:
        self.alphas = alphas[alphas > 0]
        counts = torch.arange(max_n + 1, dtype=torch.float64).view(-1, 1)
        self.m_plus_alpha = torch.lgamma(counts + self.alphas.view(1, -1))  # [max_n+1, A+]
        self.alpha = torch.lgamma(self.alphas)


def evidence_sums(
    m: torch.Tensor,
    k: torch.Tensor,
    n: torch.Tensor,
    alphas: torch.Tensor,
    tables: EvidenceTables | None = None,
) -> torch.Tensor:
    """float64 [tb, A]: Σ over samples and classes of the log evidence (exact numerics).

    With L(x, n) = lgamma(x + n) − lgamma(x), β = αρ, ρ = 1/E − 1, α + β = α/E:
    log B(M+α, N−M+β) − log B(α, β) = L(α, M) + L(αρ, N − M) − L(α/E, N).
    L(α, M) comes from a table over M and α, L(α/E, N) once per distinct K, and
    L(αρ, N − M) once per distinct (M, K) pair, weighted by its multiplicity.
    L is evaluated without cancellation (`lgamma_diff`): with E clipped at 1e-6, αρ
    reaches 1e8 and lgamma itself 1e9, where a plain difference loses 1e-7.
    """
    steps = m.shape[0]
    tables = tables or EvidenceTables(alphas, int(n.max()))
    a = tables.alphas.view(1, -1)
    out = torch.full((steps, len(alphas)), -torch.inf, dtype=torch.float64)
    positive = alphas > 0
    for i in range(steps):
        big_n = int(n[i])
        # one int64 key per (M, K) pair: a 1-D unique is far faster than unique(dim=0)
        key = m[i].reshape(-1).long() * (big_n + 1) + k[i].reshape(-1).long()
        unique, weight = torch.unique(key, return_counts=True)
        weight = weight.double()
        mu, ku = unique // (big_n + 1), unique % (big_n + 1)
        value = weight @ tables.m_plus_alpha[mu] - weight.sum() * tables.alpha  # L(α, M)
        kv, inverse = torch.unique(ku, return_inverse=True)
        kweight = torch.zeros(len(kv), dtype=torch.float64).index_add_(0, inverse, weight)
        e = fusion.ic_rate(kv, float(big_n)).view(-1, 1)
        rho = torch.ones_like(e) / e - 1.0
        total = torch.full((1, 1), float(big_n), dtype=torch.float64)
        value -= kweight @ lgamma_diff(a / e, total)  # L(α/E, N)
        rest = (big_n - mu).double().view(-1, 1)
        value += weight @ lgamma_diff(a * rho[inverse], rest)  # L(αρ, N − M)
        out[i, positive] = value
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
