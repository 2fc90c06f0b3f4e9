"""The plain step-by-step simulator: the obvious loop, kept as the test oracle.

Every layer runs once per timestep on a batch of B, the input layer's conv
included; no chunking, no in-place reuse, no layout tricks. It runs on the CPU
unless given a device; the records it returns are on the CPU either way.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from ..models.net import MultiExitNet
from ..models.walk import HeadLayer, walk
from .network import populations
from .neuron import if_step
from .simulator import SimulationResult, float32_convolutions


@torch.no_grad()
def simulate_stepwise(
    model: MultiExitNet,
    x: Tensor,
    timesteps: int,
    *,
    dtype: torch.dtype = torch.float64,
    output_delay: bool = False,
    init_mem: float = 0.0,
    device: torch.device | str = "cpu",
) -> SimulationResult:
    device = torch.device(device)
    with float32_convolutions(device, dtype):
        return _simulate(model, x, timesteps, dtype, output_delay, init_mem, device)


def _simulate(
    model: MultiExitNet,
    x: Tensor,
    timesteps: int,
    dtype: torch.dtype,
    output_delay: bool,
    init_mem: float,
    device: torch.device,
) -> SimulationResult:
    model = copy.deepcopy(model).to(device, dtype).eval()
    x = x.to(device, dtype)
    batch = x.shape[0]
    pops = populations(model)
    index = {p.name: i for i, p in enumerate(pops)}
    v = {p.name: torch.full((batch, *p.shape), init_mem, dtype=dtype, device=device) for p in pops}
    last = {p.name: torch.zeros((batch, *p.shape), dtype=dtype, device=device) for p in pops}
    classes = model.spec.num_classes
    heads = {
        h: torch.zeros((timesteps, batch, classes), dtype=torch.bool) for h in model.head_names
    }
    counts = torch.zeros((timesteps, len(pops)), dtype=torch.int64)

    def fire(t: int, name: str, current: Tensor) -> Tensor:
        spikes = if_step(current, v[name])
        if output_delay:
            spikes, last[name] = last[name], spikes
        counts[t, index[name]] = int(spikes.sum().item())
        return spikes

    for t in range(timesteps):
        s = x
        for layer in walk(model.spec):
            if isinstance(layer, HeadLayer):
                pooled = fire(t, layer.pool, s.mean(dim=(2, 3)))
                fc = model.heads[layer.name].fc
                heads[layer.name][t] = fire(t, layer.output, fc(pooled)).bool()
            elif layer.kind == "residual":
                block = model.layer(layer)
                mid = fire(t, layer.mid, block.conv1(s))
                s = fire(t, layer.name, block.conv2(mid) + block.shortcut(s))
            else:
                s = fire(t, layer.name, model.layer(layer).conv(s))
    return SimulationResult(heads, counts, pops, timesteps)
