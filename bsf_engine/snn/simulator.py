"""The time-chunked IF simulator.

A chunk of Tc timesteps goes through each layer as one batched operation
(conv/linear on [Tc·B, …]); only the neuron update scans over time. The
membrane of every population carries across chunks, the analog input layer's
current is computed once per batch, and the chunk length comes from a memory
budget, so peak memory does not grow with T.

Recorded per batch: every head's output spikes [T, B, K] (bool) and the number
of spikes each population emits at each step [T, L] (for data-dependent energy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..models.net import ConvBlock, MultiExitNet, ResidualBlock
from .network import Population, populations
from .neuron import if_scan

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
# Default chunk cap: past ~16–32 steps per chunk the conv batch is large enough
# that longer chunks only cost memory (measured with benchmarks/simulate.py).
DEFAULT_MAX_CHUNK = 32


@dataclass
class SimulationResult:
    heads: dict[str, Tensor]  # name -> bool [T, B, K]
    counts: Tensor  # int64 [T, L], spikes emitted per population and step, summed over the batch
    populations: list[Population]
    timesteps: int


def chunk_for_budget(
    pops: list[Population],
    batch: int,
    element_bytes: int,
    budget: int,
    cap: int = DEFAULT_MAX_CHUNK,
) -> int:
    """Longest chunk whose live tensors (about 3× the biggest layer) fit the budget."""
    biggest = max(p.neurons for p in pops)
    per_step = 3 * biggest * batch * element_bytes
    return int(max(1, min(cap, budget // max(per_step, 1))))


class Simulator:
    """Simulates a converted (BN-free, normalised) MultiExitNet as IF neurons."""

    def __init__(
        self,
        model: MultiExitNet,
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        output_delay: bool = False,
        init_mem: float = 0.0,
        chunk: int | None = None,
        memory_budget: int = 1 << 30,
    ) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        # bf16/fp16 spikes and currents, but the membrane integrates in float32
        self.state_dtype = torch.float64 if dtype == torch.float64 else torch.float32
        self.output_delay = output_delay
        self.init_mem = init_mem
        self.pops = populations(model)
        self.pop_index = {p.name: i for i, p in enumerate(self.pops)}
        self.head_names = model.head_names
        self.taps = {model.tapped_block(h): h for h in model.head_names if h != "final"}
        # channels_last speeds up oneDNN/cuDNN convs; float64 keeps the reference layout
        self.memory_format = (
            torch.contiguous_format if dtype == torch.float64 else torch.channels_last
        )
        self.model = model.to(self.device, dtype).eval()
        if self.memory_format is torch.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # the analog input layer integrates an exact (membrane-dtype) current
        first = model.stem if model.stem is not None else model.blocks[0]
        self.first_conv = _copy_conv(first.conv, self.device, self.state_dtype)
        self.chunk = chunk
        self.memory_budget = memory_budget

    def chunk_length(self, batch: int) -> int:
        if self.chunk is not None:
            return self.chunk
        size = torch.tensor([], dtype=self.dtype).element_size()
        return chunk_for_budget(self.pops, batch, max(size, 4), self.memory_budget)

    @torch.no_grad()
    def run(
        self,
        x: Tensor,
        timesteps: int,
        progress: Callable[[int], None] | None = None,
    ) -> SimulationResult:
        """Simulate `timesteps` steps for images x [B, C, H, W] (already normalised)."""
        batch = x.shape[0]
        x = x.to(self.device, self.state_dtype)
        if self.memory_format is torch.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self._first_current = self.first_conv(x)
        self._v = {
            p.name: torch.full(
                (batch, *p.shape), self.init_mem, dtype=self.state_dtype, device=self.device
            )
            for p in self.pops
        }
        self._last = (
            {
                p.name: torch.zeros((batch, *p.shape), dtype=self.dtype, device=self.device)
                for p in self.pops
            }
            if self.output_delay
            else {}
        )
        classes = self.model.spec.num_classes
        heads = {
            h: torch.zeros((timesteps, batch, classes), dtype=torch.bool) for h in self.head_names
        }
        counts = torch.zeros((timesteps, len(self.pops)), dtype=torch.int64)
        chunk = self.chunk_length(batch)
        start = 0
        while start < timesteps:
            steps = min(chunk, timesteps - start)
            self._batch, self._steps = batch, steps
            self._counts = torch.zeros(
                (steps, len(self.pops)), dtype=torch.float64, device=self.device
            )
            outputs = self._chunk()
            for name, spikes in outputs.items():
                heads[name][start : start + steps] = spikes.view(steps, batch, classes).bool().cpu()
            counts[start : start + steps] = self._counts.round().long().cpu()
            start += steps
            if progress is not None:
                progress(start)
        self._first_current = None
        self._v = self._last = {}
        return SimulationResult(heads, counts, self.pops, timesteps)

    # -- one chunk ------------------------------------------------------------------
    def _buffer(self, shape: tuple[int, ...]) -> Tensor:
        out = torch.empty((self._steps * self._batch, *shape), dtype=self.dtype, device=self.device)
        if len(shape) == 3 and self.memory_format is torch.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def _fire(self, name: str, currents: Tensor, constant: bool = False) -> Tensor:
        """Integrate currents into population `name`; returns the spikes it emits."""
        pop = self.pops[self.pop_index[name]]
        # spikes overwrite the currents in place (each step reads its current first)
        out = self._buffer(pop.shape) if constant else currents
        spikes = if_scan(currents, self._v[name], out, constant=constant)
        if self.output_delay:
            spikes = self._delay(name, spikes)
        dims = tuple(range(1, spikes.dim()))
        per_row = spikes.sum(dim=dims, dtype=torch.float64)
        self._counts[:, self.pop_index[name]] = per_row.view(self._steps, self._batch).sum(1)
        return spikes

    def _delay(self, name: str, spikes: Tensor) -> Tensor:
        batch = self._batch
        shifted = torch.empty_like(spikes)
        shifted[:batch] = self._last[name]
        shifted[batch:] = spikes[:-batch]
        self._last[name] = spikes[-batch:].clone()
        return shifted

    def _head(self, name: str, tapped: Tensor) -> Tensor:
        pooled = tapped.mean(dim=(2, 3))
        pooled = self._fire(f"heads.{name}.pool", pooled)
        return self._fire(f"heads.{name}", self.model.heads[name].fc(pooled))

    def _chunk(self) -> dict[str, Tensor]:
        model = self.model
        outputs: dict[str, Tensor] = {}
        current = self._first_current
        if model.stem is not None:
            spikes = self._fire("stem", current, constant=True)
            first_block = 0
        else:
            spikes = self._fire("blocks.0", current, constant=True)
            first_block = 1
            if 0 in self.taps:
                outputs[self.taps[0]] = self._head(self.taps[0], spikes)
        for index in range(first_block, len(model.blocks)):
            block = model.blocks[index]
            if isinstance(block, ResidualBlock):
                mid = self._fire(f"blocks.{index}.mid", block.conv1(spikes))
                current = block.conv2(mid)
                current.add_(block.shortcut(spikes))
                spikes = self._fire(f"blocks.{index}", current)
            else:
                assert isinstance(block, ConvBlock)
                spikes = self._fire(f"blocks.{index}", block.conv(spikes))
            if index in self.taps:
                outputs[self.taps[index]] = self._head(self.taps[index], spikes)
        outputs["final"] = self._head("final", spikes)
        return outputs


def _copy_conv(conv: nn.Conv2d, device: torch.device, dtype: torch.dtype) -> nn.Conv2d:
    copy = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        bias=conv.bias is not None,
    )
    copy.load_state_dict(conv.state_dict())
    return copy.to(device, dtype).eval()
