"""The plain step-by-step simulator: the obvious loop, kept as the test oracle.

Every layer runs once per timestep on a batch of B, the input layer's conv
included; no chunking, no in-place reuse, no layout tricks.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from ..models.net import MultiExitNet, ResidualBlock
from .network import populations
from .neuron import if_step
from .simulator import SimulationResult


@torch.no_grad()
def simulate_stepwise(
    model: MultiExitNet,
    x: Tensor,
    timesteps: int,
    *,
    dtype: torch.dtype = torch.float64,
    output_delay: bool = False,
    init_mem: float = 0.0,
) -> SimulationResult:
    model = copy.deepcopy(model).to(dtype).eval()
    x = x.to(dtype)
    batch = x.shape[0]
    pops = populations(model)
    index = {p.name: i for i, p in enumerate(pops)}
    v = {p.name: torch.full((batch, *p.shape), init_mem, dtype=dtype) for p in pops}
    last = {p.name: torch.zeros((batch, *p.shape), dtype=dtype) for p in pops}
    classes = model.spec.num_classes
    heads = {
        h: torch.zeros((timesteps, batch, classes), dtype=torch.bool) for h in model.head_names
    }
    counts = torch.zeros((timesteps, len(pops)), dtype=torch.int64)
    taps = {model.tapped_block(h): h for h in model.head_names if h != "final"}

    def fire(t: int, name: str, current: Tensor) -> Tensor:
        spikes = if_step(current, v[name])
        if output_delay:
            spikes, last[name] = last[name], spikes
        counts[t, index[name]] = int(spikes.sum().item())
        return spikes

    def head(t: int, name: str, tapped: Tensor) -> None:
        pooled = fire(t, f"heads.{name}.pool", tapped.mean(dim=(2, 3)))
        heads[name][t] = fire(t, f"heads.{name}", model.heads[name].fc(pooled)).bool()

    for t in range(timesteps):
        s = x
        if model.stem is not None:
            s = fire(t, "stem", model.stem.conv(s))
        for i, block in enumerate(model.blocks):
            if isinstance(block, ResidualBlock):
                mid = fire(t, f"blocks.{i}.mid", block.conv1(s))
                s = fire(t, f"blocks.{i}", block.conv2(mid) + block.shortcut(s))
            else:
                s = fire(t, f"blocks.{i}", block.conv(s))
            if i in taps:
                head(t, taps[i], s)
        head(t, "final", s)
    return SimulationResult(heads, counts, pops, timesteps)
