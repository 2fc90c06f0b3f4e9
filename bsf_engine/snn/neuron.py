"""The non-leaky integrate-and-fire neuron: threshold 1, reset by subtraction.

Per step: v ← v + I;  s ← [v ≥ 1];  v ← v − s.  The chunked simulator and the
step-by-step oracle both run exactly these operations in this order, which is
why their spikes agree exactly in float64.

Layout: a chunk of Tc steps for a batch of B is stored as [Tc·B, …] (time
outermost), so step t is the contiguous slab of rows t·B … t·B + B − 1 and a
stateless layer (conv, linear) runs on the whole chunk as one batch.

if_scan is the simulator's default scan; scans.py holds two more of the same
(torch.compile, a Triton kernel) for GPUs, which give the same spikes.
"""

from __future__ import annotations

import torch
from torch import Tensor

THRESHOLD = 1.0


def if_step(current: Tensor, v: Tensor) -> Tensor:
    """One step of one population; updates `v` in place, returns spikes in v's dtype."""
    v.add_(current)
    spikes = torch.ge(v, THRESHOLD).to(v.dtype)
    v.sub_(spikes)
    return spikes


def if_scan(currents: Tensor, v: Tensor, out: Tensor, constant: bool = False) -> Tensor:
    """Integrate a chunk; `out` ([Tc·B, …], the spikes' dtype) receives every step's spikes.

    `currents` is [Tc·B, …] in the same layout, or — with `constant` — the [B, …]
    current of a layer whose input does not change (the analog input layer).
    `v` ([B, …], the membrane dtype) is updated in place and carries to the next chunk.
    """
    batch = v.shape[0]
    steps = out.shape[0] // batch
    for t in range(steps):
        rows = slice(t * batch, (t + 1) * batch)
        v.add_(currents if constant else currents[rows])
        spikes = out[rows]
        torch.ge(v, THRESHOLD, out=spikes)  # writes 0/1 straight into the spikes' dtype
        v.sub_(spikes)
    return out
