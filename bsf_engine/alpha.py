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

Reference numerics reproduce the authors' procedure to the bit: E = K/N + 1e-16 and
their posterior-mean formula (`fusion.mean_at_rate`); grid: per file (batch) the
argmax of correct counts; empirical Bayes: for each (t, sample, class) the argmax
over α of B(M+α+1, N−M+α(1/E−1)) / (B(α+1, α(1/E−1)) + 1e-9) with scipy's beta in
float64 (underflow and all), averaged per file in float32 (numpy's mean of their
float32 array). Both are then averaged over files as they do it: each file's
float32 value divided by the file count in float32, accumulated in float64 in the
order the folder lists the files, and steps past the last full block of 50 stay 0.
The approximation goes through scipy's interp1d.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from . import fusion
from .fusion import lgamma_diff
from .states import Numerics


def knots_for(timesteps: int) -> list[int]:
    """Dense early, sparse late; for T = 3000 the reference's 0, 10, …, 500, 600, …, 2999."""
    last = timesteps - 1
    dense = max(1, round(timesteps / 300))
    sparse = max(dense, round(timesteps / 30))
    switch = round(timesteps / 6)
    knots = set(range(0, min(switch, last), dense)) | set(range(switch, last, sparse)) | {last}
    return sorted(k for k in knots if 0 <= k <= last)


def approximate(curve: np.ndarray, knots: list[int], numerics: str = Numerics.EXACT) -> np.ndarray:
    """Piecewise-linear interpolation of a per-step curve through its values at the knots
    (reference numerics: with scipy's interp1d, as the reference does; its rounding
    between knots differs from numpy's interp in the last bit)."""
    steps = np.arange(len(curve))
    knots = np.asarray(knots, dtype=np.int64)
    if numerics == Numerics.REFERENCE:
        from scipy.interpolate import interp1d

        return interp1d(knots, curve[knots], kind="linear")(steps)
    return np.interp(steps, knots, curve[knots])


def grid_correct(
    m: torch.Tensor,
    k: torch.Tensor,
    n: torch.Tensor,
    labels: torch.Tensor,
    alphas: torch.Tensor,
    numerics: str = Numerics.EXACT,
    groups: torch.Tensor | None = None,
    num_groups: int = 1,
) -> torch.Tensor:
    """int64 [tb, A] (or [G, tb, A] with `groups`): correct classifications per step and α.

    m, k: cumulative final/IC counts [tb, S, K]; n: steps [tb]; labels [S]; groups:
    the group (reference batch) of each sample, to count per group.

    Never evaluates the α grid per sample. Against the label y, a class c with
    M_c ≥ M_y and K_c ≥ K_y (one strictly) wins at every α > 0 (the posterior mean
    grows with M and with E), one with both ≤ loses at every α > 0; otherwise the
    difference of posterior means changes sign once on α > 0, at the positive root of
    (α + M_y)(α/E_c + N) − (α + M_c)(α/E_y + N). The label is right on the α between
    its rivals' crossings: a run [lo, hi) of grid indices, added to a difference array.
    Each crossing is placed on the grid with the same floating-point comparison that
    `fusion.predict` makes, at the grid points around the computed root, so the counts
    equal a direct evaluation exactly. α = 0 is the final head's argmax (ties →
    smallest class).
    """
    steps, samples, classes = m.shape
    small_counts = torch.int16 if int(n.max()) < 2**15 else torch.int32
    m = m.to(small_counts)
    k = k.to(small_counts)
    labels = labels.long()
    grouped = groups is not None
    group = groups.long() if grouped else torch.zeros(samples, dtype=torch.long)
    count = len(alphas)
    positive = (alphas > 0).nonzero(as_tuple=True)[0]
    a_pos = alphas[positive]
    width = len(positive) + 1
    y = labels.view(1, samples, 1).expand(steps, samples, 1)
    dm = m - m.gather(-1, y)  # > 0: the class has more final spikes than the label
    dk = k - k.gather(-1, y)
    before = torch.arange(classes).view(1, 1, classes) < labels.view(1, samples, 1)
    either = dm | dk  # ≥ 0 iff both are; 0 iff both are (the label itself included)
    # a class at least as good in both counts beats the label at every α > 0 (exact
    # ties go to the smaller class)
    never = ((either >= 0) & ((either != 0) | before)).any(dim=-1)  # [tb, S]
    final_right = ~((dm > 0) | ((dm == 0) & before)).any(dim=-1)  # α = 0: the final head
    opposite = (dm ^ dk) < 0  # signs differ (0 counts as positive)
    contested = opposite & (dm != 0) & (dk != 0) & ~never.unsqueeze(-1)
    step_group = torch.arange(steps).view(-1, 1) + steps * group.view(1, -1)  # [tb, S]
    lo = torch.zeros((steps, samples), dtype=torch.long)
    hi = torch.full((steps, samples), width - 1, dtype=torch.long)
    where = contested.nonzero(as_tuple=False)
    if where.numel():
        ti, si, ci = where.unbind(1)
        yi = labels[si]
        nn = n[ti].double()
        my, mc = m[ti, si, yi].double(), m[ti, si, ci].double()
        ey = fusion.ic_rate(k[ti, si, yi], nn, numerics)
        ec = fusion.ic_rate(k[ti, si, ci], nn, numerics)
        root = _crossing(my, mc, ey, ec, nn)
        label_first = yi < ci
        index = torch.searchsorted(a_pos, root)  # first grid α ≥ the root
        wins_small = my > mc  # the label wins for small α only (else for large α only)
        # outcome at the grid points j−2 … j+1 around it, as fusion.predict computes it
        flip = torch.full_like(index, -1)
        for offset in (-2, -1, 0, 1):
            j = (index + offset).clamp(0, len(a_pos) - 1)
            a = a_pos[j]
            ry = fusion.mean_at_rate(a, my, ey, nn, numerics)
            rc = fusion.mean_at_rate(a, mc, ec, nn, numerics)
            label_wins = torch.where(label_first, ry >= rc, ry > rc)
            changed = torch.where(wins_small, ~label_wins, label_wins)
            inside = (index + offset >= 0) & (index + offset < len(a_pos))
            first = changed & inside & (flip < 0)
            flip = torch.where(first, index + offset, flip)
        flip = torch.where(flip < 0, (index + 2).clamp(max=len(a_pos)), flip)
        pair = ti * samples + si
        hi.view(-1).scatter_reduce_(0, pair[wins_small], flip[wins_small], "amin")
        lo.view(-1).scatter_reduce_(0, pair[~wins_small], flip[~wins_small], "amax")
    right = ~never & (lo < hi)
    cell = step_group[right] * (width + 1)
    diff = torch.bincount(cell + lo[right], minlength=num_groups * steps * (width + 1))
    diff = diff - torch.bincount(cell + hi[right], minlength=num_groups * steps * (width + 1))
    runs = diff.view(num_groups, steps, width + 1).cumsum(dim=-1)[..., : width - 1]
    correct = torch.zeros((num_groups, steps, count), dtype=torch.int64)
    correct[..., positive] = runs
    zero = (alphas == 0).nonzero(as_tuple=True)[0]
    if zero.numel():
        per_group = torch.zeros(num_groups * steps, dtype=torch.int64)
        per_group.index_add_(0, step_group.reshape(-1), final_right.reshape(-1).long())
        correct[..., zero] = per_group.view(num_groups, steps, 1)
    return correct if grouped else correct[0]


def _crossing(my, mc, ey, ec, n) -> torch.Tensor:
    """The positive root of (α + M_y)(α/E_c + N) − (α + M_c)(α/E_y + N), stably.

    Its constant and quadratic coefficients have opposite signs for a contested pair,
    so the roots have opposite signs; the larger one is taken.
    """
    a2 = 1.0 / ec - 1.0 / ey
    a1 = my / ec - mc / ey
    a0 = n * (my - mc)
    disc = (a1 * a1 - 4.0 * a2 * a0).clamp_min(0.0).sqrt()
    q = -0.5 * (a1 + torch.copysign(disc, a1))
    return torch.maximum(q / a2, a0 / q)


class EvidenceTables:
    """What every step shares: the positive α, and L(α, M) = lgamma(M + α) − lgamma(α) for
    M = 0 … max_n."""

    def __init__(self, alphas: torch.Tensor, max_n: int) -> None:
        self.alphas = alphas[alphas > 0]
        counts = torch.arange(max_n + 1, dtype=torch.float64).view(-1, 1)
        self.m_term = lgamma_diff(self.alphas.view(1, -1), counts)  # [max_n+1, A+]


STIRLING_MIN = 20.0  # below, lgamma itself; above, Stirling's series to 1/y⁵ (error < 5e-13)
LARGE_X = 1e5  # α·ρ beyond this: L(αρ, n) without cancellation (lgamma(αρ) alone is ~1e6)
FAR = 60.0  # from here two terms of Stirling's tail suffice
PAIR_BLOCK = 1024  # (M, K) pairs evaluated over the α grid at once (stays in cache)


def distinct_pairs(m: np.ndarray, k: np.ndarray):
    """Per step of a block, the distinct (M, K) and how often each occurs.

    m, k: [tb, S, K] counts. Returns (offsets [tb+1], M, K, weight): step i's pairs are
    [offsets[i], offsets[i+1]). One radix sort of int32 keys for the whole block.
    """
    steps = m.shape[0]
    base = int(max(m.max(initial=0), k.max(initial=0))) + 1
    # int32 keys sort fastest; past T = 46,340 the key M·base + K needs int64
    keys = m.reshape(steps, -1).astype(np.int32 if base * base < 2**31 else np.int64)
    keys *= base
    keys += k.reshape(steps, -1)
    keys.sort(axis=1)
    new = np.empty(keys.shape, dtype=bool)
    new[:, 0] = True
    np.not_equal(keys[:, 1:], keys[:, :-1], out=new[:, 1:])
    starts = np.flatnonzero(new)
    weight = np.diff(np.append(starts, keys.size)).astype(np.float64)
    unique = keys.reshape(-1)[starts]
    offsets = np.searchsorted(starts, np.arange(steps + 1) * keys.shape[1])
    return offsets, unique // base, unique % base, weight


def evidence_sums(
    m: torch.Tensor | np.ndarray,
    k: torch.Tensor | np.ndarray,
    n: torch.Tensor,
    alphas: torch.Tensor,
    tables: EvidenceTables | None = None,
) -> torch.Tensor:
    """float64 [tb, A]: Σ over samples and classes of the log evidence (exact numerics).

    With L(x, n) = lgamma(x + n) − lgamma(x), β = αρ, ρ = 1/E − 1, α + β = α/E:
    log B(M+α, N−M+β) − log B(α, β) = L(α, M) + L(αρ, N − M) − L(α/E, N).
    Per step, over the distinct (M, K) pairs with their multiplicities: L(α, M) from a
    table (an M histogram times it), L(α/E, N) once per distinct K, and L(αρ, N − M)
    as lgamma(αρ + N − M) per pair (Stirling's series, in cache-sized blocks) minus
    lgamma(αρ) per distinct K. Where αρ is large (K ≪ N: E is clipped at 1e-6 when
    K = 0, and αρ reaches 1e8) that split would cancel, so those pairs take the
    cancellation-free `lgamma_diff`.
    """
    m = np.asarray(m)
    k = np.asarray(k)
    steps = m.shape[0]
    tables = tables or EvidenceTables(alphas, int(n.max()))
    a = tables.alphas
    out = torch.full((steps, len(alphas)), -torch.inf, dtype=torch.float64)
    positive = alphas > 0
    offsets, m_all, k_all, w_all = distinct_pairs(m, k)
    m_all, k_all, w_all = (torch.from_numpy(x) for x in (m_all, k_all, w_all))
    for i in range(steps):
        big_n = int(n[i])
        pairs = slice(int(offsets[i]), int(offsets[i + 1]))
        mu_t, ku_t, w = m_all[pairs], k_all[pairs].long(), w_all[pairs]
        m_hist = torch.bincount(mu_t.long(), weights=w, minlength=big_n + 1)
        value = m_hist @ tables.m_term[: big_n + 1]  # Σ L(α, M)
        k_weight = torch.bincount(ku_t, weights=w, minlength=big_n + 1)
        e = fusion.ic_rate(torch.arange(big_n + 1), float(big_n))
        rho = torch.ones_like(e) / e - 1.0
        present = (k_weight > 0).nonzero(as_tuple=True)[0]
        kw, e_k, rho_k = k_weight[present], e[present].view(-1, 1), rho[present].view(-1, 1)
        large = rho_k.view(-1) * a.max() > LARGE_X
        if bool(large.any()):  # − Σ L(α/E, N), cancellation-free
            total = torch.full((1, 1), float(big_n), dtype=torch.float64)
            value -= kw[large] @ lgamma_diff(a.view(1, -1) / e_k[large], total)
        if bool((~large).any()):  # − Σ [L(α/E, N) + lgamma(αρ)] (the split form's K part)
            x = a.view(1, -1) / e_k[~large]
            per_k = lgamma_fast(x + big_n).sub_(lgamma_fast(x)).add_(lgamma_fast(rho_k[~large] * a))
            value -= kw[~large] @ per_k
        rho_p = rho[ku_t]
        rest = big_n - mu_t.double()
        split = rho_p * a.max() <= LARGE_X
        value += _lgamma_sums(rho_p[split], rest[split], w[split], a)
        if bool((~split).any()):
            x = rho_p[~split].view(-1, 1) * a.view(1, -1)
            value += w[~split] @ lgamma_diff(x, rest[~split].view(-1, 1))
        out[i, positive] = value
    return out


def lgamma_fast(y: torch.Tensor) -> torch.Tensor:
    """lgamma of [rows, A] with every row ascending: lgamma itself on the leading columns
    that reach below STIRLING_MIN, Stirling's series (about 3× faster) on the rest."""
    if y.numel() == 0:
        return y.clone()
    cut = int((y.amin(dim=0) < STIRLING_MIN).sum())
    if cut == 0:
        return _stirling(y)
    if cut == y.shape[1]:
        return torch.lgamma(y)
    return torch.cat([torch.lgamma(y[:, :cut]), _stirling(y[:, cut:])], dim=1)


def _stirling(y: torch.Tensor) -> torch.Tensor:
    """lgamma(y) for y ≥ STIRLING_MIN (see `_stirling_body`)."""
    out = y.clone()
    _stirling_body(out, *(torch.empty_like(y) for _ in range(3)))
    return out.add_(0.5 * math.log(2 * math.pi)).sub_(y)


def _stirling_body(y: torch.Tensor, inv: torch.Tensor, t: torch.Tensor, u: torch.Tensor) -> None:
    """y ← (y − ½)·log y + 1/(12y) − 1/(360y³) + 1/(1260y⁵) in place: lgamma(y) + y − ½·log 2π
    to < 5e-13 at y ≥ 20. Works in the given buffers: freshly allocated temporaries of
    this size are mmap'd and page-faulted on every call, several times slower."""
    torch.reciprocal(y, out=inv)
    torch.log(y, out=t)
    y.sub_(0.5).mul_(t)
    torch.mul(inv, inv, out=t)
    torch.mul(t, 1 / 1260, out=u)
    u.sub_(1 / 360).mul_(t).add_(1 / 12).mul_(inv)
    y.add_(u)


def _stirling_far(y: torch.Tensor, inv: torch.Tensor, t: torch.Tensor, _: torch.Tensor) -> None:
    """`_stirling_body` without the 1/(1260y⁵) term: below 1e-12 at y ≥ FAR."""
    torch.reciprocal(y, out=inv)
    torch.log(y, out=t)
    y.sub_(0.5).mul_(t)
    torch.mul(inv, inv, out=t)
    t.mul_(-1 / 360).add_(1 / 12).mul_(inv)
    y.add_(t)


def _lgamma_sums(rho: torch.Tensor, rest: torch.Tensor, weight: torch.Tensor, a: torch.Tensor):
    """Σ_p w_p · lgamma(α·ρ_p + n_p) for every α, [A]."""
    total = torch.zeros(len(a), dtype=torch.float64)
    if rho.numel() == 0:
        return total
    low = rho * a[0] + rest < STIRLING_MIN
    if bool(low.any()):  # few pairs: lgamma itself
        y = torch.addr(rest[low].view(-1, 1), rho[low], a)
        total += weight[low] @ torch.lgamma(y)
        rho, rest, weight = rho[~low], rest[~low], weight[~low]
    # Stirling: lgamma(y) = (y − ½)·log y − y + ½·log 2π + 1/(12y) − 1/(360y³) + 1/(1260y⁵);
    # Σ w·(½·log 2π − y) is linear in α and added once.
    total += weight.sum() * (0.5 * math.log(2 * math.pi)) - (weight @ rest) - a * (weight @ rho)
    work = torch.empty((4, min(PAIR_BLOCK, rho.numel()), len(a)), dtype=torch.float64)
    far = rho * a[0] + rest >= FAR
    for subset, body in ((far, _stirling_far), (~far, _stirling_body)):
        rho_s, rest_s, weight_s = rho[subset], rest[subset], weight[subset]
        for start in range(0, rho_s.numel(), PAIR_BLOCK):
            stop = min(start + PAIR_BLOCK, rho_s.numel())
            y, inv, t, u = work[:, : stop - start]
            torch.addr(rest_s[start:stop].view(-1, 1), rho_s[start:stop], a, out=y)
            body(y, inv, t, u)
            total += weight_s[start:stop] @ y
    return total


DEAD_PRIOR = 1e-27  # B(α+1, αρ) below this: B + 1e-9 rounds to 1e-9 (half its ulp is 1e-25)
UNDERFLOW_LOG = -746.0  # log B below this: scipy's beta returns exactly 0 (exp underflows)


def reference_emp_choice(
    m: np.ndarray, k: np.ndarray, n: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """int64 [tb, S, K]: the grid index of the reference's argmax α for every entry.

    The reference takes, for every (t, sample, class), the first argmax over the grid of
    ratio(α) = B(M+α+1, N−M+αρ) / (B(α+1, αρ) + 1e-9) with scipy's beta in float64
    (ρ = 1/E − 1, E = K/N + 1e-16). The same floats are computed here, but only where
    they can be the maximum:
    - once per distinct (M, K) of a step (every entry of the pair gets its choice);
    - the denominator once per distinct K, α by α until B(α+1, αρ) < 1e-27: from there on
      it is exactly 1e-9 (B decreases in α), so the ratio there is the numerator over a
      constant, and the numerator decreases in α: the first such α (plus one more, as a
      guard) is the only candidate beyond. A pair whose maximum lands on the guard is
      evaluated on the whole grid;
    - a pair whose numerator underflows to 0 at the smallest α > 0 (log B < −746 in log
      space) underflows at every α > 0: all its ratios are 0 and its argmax is the first α;
    - at α = 0, B(α+1, 0) = ∞: the ratio is 0, or NaN when M = N (NaN wins numpy's argmax).
    """
    from scipy.special import beta

    steps = m.shape[0]
    offsets, m_all, k_all, _ = distinct_pairs(m, k)
    chosen_all = np.zeros(len(m_all), dtype=np.int64)  # grid index of each pair's argmax
    count = len(alphas)
    with np.errstate(all="ignore"):
        for i in range(steps):
            big_n = float(n[i])
            pairs = slice(int(offsets[i]), int(offsets[i + 1]))
            mm = m_all[pairs].astype(np.float64)
            k_values, row = np.unique(k_all[pairs], return_inverse=True)
            e = k_values.astype(np.float64) / big_n + fusion.REFERENCE_EPSILON
            shape = 1.0 / e - 1.0
            denominator, live = _reference_denominators(shape, alphas, beta)
            chosen = chosen_all[pairs]
            todo = ~_all_zero_or_nan(mm, big_n, shape[row], alphas)
            cand = np.minimum(live[row] + 2, count)  # candidate columns 0 … cand−1
            cand = np.where(todo, cand, 0)
            index = np.flatnonzero(todo)
            if index.size:
                cols, seg = _segments(cand[index])
                p = index[seg]
                a = alphas[cols]
                values = beta(mm[p] + a + 1.0, big_n - mm[p] + a * shape[row[p]])
                values /= denominator[row[p], cols]
                first = _segment_argmax(values, cand[index])
                chosen[index] = first
                guard = index[(first == cand[index] - 1) & (cand[index] < count)]
                for q in guard:  # the maximum sits on the guard: the whole grid
                    a = alphas
                    full = beta(mm[q] + a + 1.0, big_n - mm[q] + a * shape[row[q]])
                    chosen[q] = int(np.argmax(full / denominator[row[q]]))
    return chosen_all[pair_of_entries(m, k, offsets, m_all, k_all)].reshape(m.shape)


def pair_of_entries(m, k, offsets, m_all, k_all) -> np.ndarray:
    """For every entry of [tb, S, K] (flattened), the index of its pair in `distinct_pairs`'
    output (pairs are sorted by step, then by key)."""
    steps = m.shape[0]
    base = int(max(m.max(initial=0), k.max(initial=0))) + 1
    step_of_pair = np.repeat(np.arange(steps, dtype=np.int64), np.diff(offsets))
    span = base * base
    pair_keys = step_of_pair * span + m_all.astype(np.int64) * base + k_all
    entry_keys = m.reshape(steps, -1).astype(np.int64) * base + k.reshape(steps, -1)
    entry_keys += (np.arange(steps, dtype=np.int64) * span).reshape(-1, 1)
    return np.searchsorted(pair_keys, entry_keys.reshape(-1))


REFERENCE_TIME_BATCH = 50  # the reference tunes steps in blocks of 50; a last partial block
# is never reached, so its α stays 0 (T = 3000 has none)


def reference_file_means(alphas: np.ndarray, choice: np.ndarray, bounds: np.ndarray):
    """float32 [files, tb]: per file, the mean of the chosen α over its samples and
    classes, as the reference computes it: numpy's float32 mean of a float32
    [tb, samples, classes] array (its pairwise summation, its float32 division)."""
    values = np.asarray(alphas, dtype=np.float32)[choice]
    return np.stack(
        [
            np.mean(np.ascontiguousarray(values[:, lo:hi]), axis=(1, 2))
            for lo, hi in itertools.pairwise(bounds)
        ]
    )


def reference_average(per_file: np.ndarray, order) -> np.ndarray:
    """float64 [T]: the reference's α(t) from per-file float32 values [files, T]: each
    divided by the number of files in float32, added into a float64 curve in the order
    the reference lists its files; the steps past the last full block of 50 stay 0."""
    files, steps = per_file.shape
    curve = np.zeros(steps)
    for index in order:
        curve += per_file[index] / files
    curve[steps // REFERENCE_TIME_BATCH * REFERENCE_TIME_BATCH :] = 0.0
    return curve


def _reference_denominators(shape: np.ndarray, alphas: np.ndarray, beta):
    """B(α+1, α·shape) + 1e-9 per K row [R, A], and how many leading α keep B ≥ 1e-27."""
    rows = len(shape)
    out = np.full((rows, len(alphas)), 1e-9)
    live = np.zeros(rows, dtype=np.int64)
    alive = np.arange(rows)
    for j, a in enumerate(alphas):
        if alive.size == 0:
            break
        value = beta(a + 1.0, a * shape[alive])
        out[alive, j] = value + 1e-9
        keep = value >= DEAD_PRIOR
        live[alive[keep]] = j + 1
        alive = alive[keep]
    return out, live


def _all_zero_or_nan(mm: np.ndarray, big_n: float, shape: np.ndarray, alphas: np.ndarray):
    """Pairs whose argmax is the first α without evaluating: NaN at α = 0 (M = N), or a
    numerator that underflows at every α > 0 (ratios all 0; α = 0's is 0 too)."""
    decided = np.zeros(len(mm), dtype=bool)
    if alphas[0] == 0:
        decided |= mm == big_n
    positive = alphas[alphas > 0]
    if positive.size == 0:
        return decided
    a = float(positive[0])
    first = torch.from_numpy(mm + a + 1.0)
    second = torch.from_numpy(big_n - mm + a * shape)
    with torch.no_grad():
        log_b = torch.lgamma(first) - lgamma_diff(second.clamp_min(1e-300), first)
    return decided | (log_b.numpy() < UNDERFLOW_LOG)


def _segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of the given lengths: the position within its segment and the segment
    of every element."""
    seg = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return np.arange(seg.size) - starts[seg], seg


def _segment_argmax(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """numpy's argmax per segment: the first maximum, or the first NaN if there is one."""
    starts = np.cumsum(lengths) - lengths
    top = np.maximum.reduceat(values, starts)  # NaN propagates, as in argmax
    top_each = np.repeat(top, lengths)
    hit = (values == top_each) | (np.isnan(values) & np.isnan(top_each))
    where = np.flatnonzero(hit)
    return where[np.searchsorted(where, starts)] - starts
