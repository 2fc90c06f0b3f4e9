"""Exact percentiles of very many values with bounded memory.

`torch.quantile` refuses inputs above 2^24 elements and sorting everything
costs memory ∝ n. For a high percentile q only the top (100 − q)% of values
matter, so we stream batches and keep just the k largest seen so far. The
result equals numpy's default ("linear") percentile of all values.
"""

from __future__ import annotations

import math

import torch


class StreamingPercentile:
    """Feed exactly `total` values in any number of `update` calls, then read `value()`."""

    def __init__(self, q: float, total: int) -> None:
        if not 0 <= q <= 100:
            raise ValueError("q must be in [0, 100]")
        if total <= 0:
            raise ValueError("total must be positive")
        self.q, self.total = q, total
        pos = q / 100.0 * (total - 1)
        self._lo = math.floor(pos)
        self._frac = pos - self._lo
        self._k = total - self._lo  # the ascending index `lo` is the k-th largest value
        self._top = torch.empty(0)
        self.seen = 0

    def update(self, values: torch.Tensor) -> None:
        flat = values.detach().reshape(-1).float()
        self.seen += flat.numel()
        if self.seen > self.total:
            raise ValueError(f"fed {self.seen} values, more than the announced {self.total}")
        merged = torch.cat([self._top.to(flat.device), flat])
        if merged.numel() > self._k:
            merged = torch.topk(merged, self._k, sorted=False).values
        self._top = merged

    def value(self) -> float:
        if self.seen != self.total:
            raise ValueError(f"fed {self.seen} values, announced {self.total}")
        top = torch.sort(self._top.double(), descending=True).values
        lower = top[self._k - 1].item()  # ascending index lo
        if self._frac == 0 or self._k < 2:
            return lower
        upper = top[self._k - 2].item()  # ascending index lo + 1
        return lower + (upper - lower) * self._frac
