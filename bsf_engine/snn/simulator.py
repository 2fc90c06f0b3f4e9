"""The time-chunked IF simulator.

A chunk of Tc timesteps goes through each layer as one batched operation
(conv/linear on [Tc·B, …]); only the neuron update scans over time. The
membrane of every population carries across chunks, the analog input layer's
current is computed once per batch, and the chunk length comes from a memory
budget, so peak memory does not grow with T.

On the CPU (float32), convolutions of spike maps run as exact-integer u8×s8
convolutions where oneDNN supports them (see spikeconv.py); elsewhere they run
in the simulation dtype. bf16/fp16 keep a float32 membrane.

CUDA options (off by default until measured; benchmarks/simulate.py --device cuda
compares them): `scan` picks how the neuron update runs (scans.py: a loop of tensor
ops, torch.compile, or a Triton kernel), `cuda_graph` replays each full chunk as one
captured CUDA graph. Every option gives the same spikes.

Recorded per batch: every head's output spikes [T, B, K] (bool) and the number
of spikes each population emits at each step [T, L] (for data-dependent energy).
"""

from __future__ import annotations

import contextlib
import copy
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..models.net import MultiExitNet, ResidualBlock
from ..models.walk import FeatureLayer, HeadLayer, walk
from . import scans, spikeconv
from .network import Population, populations
from .neuron import if_scan

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
# Chunk length. On the CPU, convs over more than ~16 MB of input thrash the caches
# (measured: a u8 conv at 256 rows of 64×32×32 costs 3× per row what it costs at
# 64), so the CPU runs sub-batches of 64 images and sizes chunks so the largest
# layer's chunk stays near 16 MB: one step for CIFAR-sized VGGs, 32 for the digits
# net. On a GPU longer chunks of the whole batch mean fewer, larger kernels.
MAX_CHUNK = 32
CPU_CHUNK_BYTES = 16 << 20
CPU_MEMORY_BUDGET = 1 << 30
# on CUDA the default budget is this share of the device's free memory when the
# simulator is made: the rest is for cuDNN workspaces, the records and fragmentation
CUDA_BUDGET_SHARE = 0.5
DEFAULT_SUB_BATCH = {"cpu": 64, "cuda": None}
# u8 convolutions pay off where a layer's output map is large (measured: 1.8-2.8×
# faster than float32 at ≥ 8×8 outputs, slower at 4×4 and below, where M is small)
INTEGER_MIN_PIXELS = 64
INTEGER_MIN_CHANNELS = 64  # and below 64 input channels (the digits net) float32 wins


@dataclass
class SimulationResult:
    heads: dict[str, Tensor]  # name -> bool [T, B, K]
    counts: Tensor  # int64 [T, L], spikes emitted per population and step, summed over the batch
    populations: list[Population]
    timesteps: int


def default_memory_budget(device: torch.device | str) -> int:
    """Bytes a chunk's activations may take: half the free memory of a CUDA device, else
    1 GiB (on the CPU the cache target below decides the chunk long before that)."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            free = torch.cuda.mem_get_info(device)[0]
        except (RuntimeError, AssertionError):
            return CPU_MEMORY_BUDGET
        return int(free * CUDA_BUDGET_SHARE)
    return CPU_MEMORY_BUDGET


@contextlib.contextmanager
def float32_convolutions(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """float32 on CUDA means float32: cuDNN's default TF32 would round the weights to
    10-bit mantissas. (The flags are process-wide: set for the duration only.)"""
    if device.type != "cuda" or dtype != torch.float32:
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def chunk_for_budget(
    pops: list[Population], batch: int, element_bytes: int, budget: int, cap: int
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
        memory_budget: int | None = None,
        conv_backend: str = "auto",
        sub_batch: int | str | None = "auto",
        scan: str = "loop",
        cuda_graph: bool = False,
    ) -> None:
        """memory_budget: bytes for a chunk's activations (default_memory_budget if None).
        scan: "loop", "compile" or "triton" (CUDA; see scans.py). cuda_graph: capture a
        full chunk once per batch size and replay it (CUDA)."""
        self.device = torch.device(device)
        if scan not in scans.SCANS:
            raise ValueError(f"scan {scan!r}: use one of {', '.join(scans.SCANS)}")
        if scan == "triton" and not scans.triton_supported(self.device):
            raise ValueError("scan 'triton' needs a CUDA device and Triton")
        if cuda_graph and self.device.type != "cuda":
            raise ValueError("cuda_graph needs a CUDA device")
        self.scan = scan
        self.cuda_graph = cuda_graph
        self._capture: _Capture | None = None
        self.dtype = dtype
        # bf16/fp16 spikes and currents, but the membrane integrates in float32
        self.state_dtype = torch.float64 if dtype == torch.float64 else torch.float32
        self.output_delay = output_delay
        self.init_mem = init_mem
        self.pops = populations(model)
        self.pop_index = {p.name: i for i, p in enumerate(self.pops)}
        self.head_names = model.head_names
        self.layers = list(walk(model.spec))
        self.features = [layer for layer in self.layers if isinstance(layer, FeatureLayer)]
        self.model = copy.deepcopy(model).to(self.device, dtype).eval()
        # the analog input layer integrates an exact (membrane-dtype) current
        first = model.layer(self.features[0])
        self.first_conv = _copy_conv(first.conv, self.device, self.state_dtype)
        self.integer_convs = self._integer_convs(conv_backend)
        # cuDNN prefers channels_last; on the CPU float convs measured faster in the
        # default layout (u8 convs convert their input to channels_last themselves)
        self.channels_last = self.device.type == "cuda"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.cl_pops = self._channels_last_populations()
        self.chunk = chunk
        self.memory_budget = (
            default_memory_budget(self.device) if memory_budget is None else memory_budget
        )
        kind = "cuda" if self.device.type == "cuda" else "cpu"
        self.sub_batch = DEFAULT_SUB_BATCH[kind] if sub_batch == "auto" else sub_batch

    def _channels_last_populations(self) -> set[str]:
        """Populations whose currents, membranes and spikes live in channels_last.

        Elementwise ops over tensors of mixed layouts are several times slower, so a
        population takes the layout of the conv feeding it (u8 convs return
        channels_last), and the input layer the layout its consumer converts from.
        """
        if self.channels_last:
            return {p.name for p in self.pops if len(p.shape) == 3}
        names = set()
        for layer in self.features[1:]:
            block = self.model.layer(layer)
            if isinstance(block, ResidualBlock):
                if block.conv1 in self.integer_convs:
                    names.add(layer.mid)
                if block.conv2 in self.integer_convs:
                    names.add(layer.name)
            elif block.conv in self.integer_convs:
                names.add(layer.name)
        if len(self.features) > 1 and _input_conv(self.model.layer(self.features[1])) in (
            self.integer_convs
        ):
            names.add(self.features[0].name)
        return names

    def _integer_convs(self, backend: str) -> dict[nn.Module, spikeconv.IntegerSpikeConv]:
        if backend not in ("auto", "float", "integer"):
            raise ValueError(f"conv_backend {backend!r}: use auto, float or integer")
        wanted = backend == "integer" or (
            backend == "auto" and self.device.type == "cpu" and self.dtype == torch.float32
        )
        if not wanted:
            return {}
        shapes = {}
        for layer in self.features[1:]:  # the first reads the analog image
            block = self.model.layer(layer)
            if isinstance(block, ResidualBlock):
                shapes[block.conv1] = layer.in_shape
                shapes[block.conv2] = layer.shape
                shapes[block.shortcut] = layer.in_shape
            else:
                shapes[block.conv] = layer.in_shape
        convs = {}
        for conv, shape in shapes.items():
            out_h = (shape[1] + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1
            out_w = (shape[2] + 2 * conv.padding[1] - conv.kernel_size[1]) // conv.stride[1] + 1
            small = out_h * out_w < INTEGER_MIN_PIXELS or conv.in_channels < INTEGER_MIN_CHANNELS
            if backend == "auto" and small:
                continue
            fast = spikeconv.integer_conv(conv, (2, *shape))
            if fast is None:  # backend missing or inexact here: stay on float everywhere
                if backend == "integer":
                    raise RuntimeError("integer spike convolutions are not available here")
                return {}
            convs[conv] = fast
        return convs

    def chunk_length(self, batch: int) -> int:
        """Timesteps per chunk for a (sub-)batch of `batch` images."""
        if self.chunk is not None:
            return self.chunk
        size = max(torch.tensor([], dtype=self.dtype).element_size(), 4)
        chunk = chunk_for_budget(self.pops, batch, size, self.memory_budget, MAX_CHUNK)
        if self.device.type == "cpu":
            biggest = max(p.neurons for p in self.pops) * batch * size
            chunk = min(chunk, max(1, CPU_CHUNK_BYTES // biggest))
        return chunk

    @torch.no_grad()
    def run(
        self,
        x: Tensor,
        timesteps: int,
        progress: Callable[[int], None] | None = None,
    ) -> SimulationResult:
        """Simulate `timesteps` steps for images x [B, C, H, W] (already normalised).

        Images are independent, so a batch may run as sub-batches one after the
        other with exactly the same result.
        """
        with float32_convolutions(self.device, self.dtype):
            return self._run_batches(x, timesteps, progress)

    def _run_batches(
        self, x: Tensor, timesteps: int, progress: Callable[[int], None] | None
    ) -> SimulationResult:
        batch = x.shape[0]
        size = self.sub_batch or batch
        if size >= batch:
            return self._run(x, timesteps, progress)
        classes = self.model.spec.num_classes
        heads = {
            h: torch.zeros((timesteps, batch, classes), dtype=torch.bool) for h in self.head_names
        }
        counts = torch.zeros((timesteps, len(self.pops)), dtype=torch.int64)
        starts = list(range(0, batch, size))
        for index, start in enumerate(starts):

            def part_progress(t: int, index: int = index) -> None:
                if progress is not None:
                    progress((index * timesteps + t) // len(starts))

            part = self._run(x[start : start + size], timesteps, part_progress)
            for name, spikes in part.heads.items():
                heads[name][:, start : start + size] = spikes
            counts += part.counts
        return SimulationResult(heads, counts, self.pops, timesteps)

    def _run(
        self,
        x: Tensor,
        timesteps: int,
        progress: Callable[[int], None] | None,
    ) -> SimulationResult:
        batch = x.shape[0]
        chunk = self.chunk_length(batch)
        x = x.to(self.device, self.state_dtype)
        first_current = self._layout(self.pops[0].name, self.first_conv(x))
        capture = self._captured(batch, chunk, first_current) if self.cuda_graph else None
        state = capture.state if capture is not None else self._new_state(batch, first_current)
        classes = self.model.spec.num_classes
        # the records stay on the device until the end: no synchronisation per chunk
        heads = {
            h: torch.zeros((timesteps, batch, classes), dtype=torch.bool, device=self.device)
            for h in self.head_names
        }
        counts = torch.zeros((timesteps, len(self.pops)), dtype=torch.int64, device=self.device)
        pending: deque[torch.cuda.Event] = deque()
        start = 0
        while start < timesteps:
            steps = min(chunk, timesteps - start)
            state.steps = steps
            if capture is not None and steps == chunk:
                outputs = self._graph_chunk(capture)
            else:
                state.counts = torch.zeros(
                    (steps, len(self.pops)), dtype=torch.float64, device=self.device
                )
                outputs = self._chunk(state)
            for name, spikes in outputs.items():
                heads[name][start : start + steps] = spikes.reshape(steps, batch, classes).bool()
            counts[start : start + steps] = state.counts.round().long()
            start += steps
            if self.device.type == "cuda":
                # at most two chunks queued ahead of the GPU, so progress means work done
                pending.append(torch.cuda.Event())
                pending[-1].record()
                if len(pending) > 2:
                    pending.popleft().synchronize()
            if progress is not None:
                progress(start)
        return SimulationResult(
            {h: s.cpu() for h, s in heads.items()}, counts.cpu(), self.pops, timesteps
        )

    # -- CUDA graphs ----------------------------------------------------------------
    def _captured(self, batch: int, chunk: int, first_current: Tensor) -> _Capture:
        """The (batch, chunk) capture with its state reset for a new batch of images.

        A graph replays fixed addresses: the membranes, the input current and the
        counts live in the capture and are reset in place; one capture is kept."""
        if self._capture is None or self._capture.key != (batch, chunk):
            self._capture = None  # free the old graph's memory before making the new state
            state = self._new_state(batch, torch.empty_like(first_current))
            counts = torch.zeros((chunk, len(self.pops)), dtype=torch.float64, device=self.device)
            self._capture = _Capture((batch, chunk), state, counts)
        capture = self._capture
        state = capture.state
        state.first_current.copy_(first_current)
        for v in state.v.values():
            v.fill_(self.init_mem)
        for last in state.last.values():
            last.zero_()
        return capture

    def _graph_chunk(self, capture: _Capture) -> dict[str, Tensor]:
        """One full chunk: the first ever runs eagerly (it compiles kernels and picks
        cuDNN algorithms, which a capture must not do), the second is captured, every
        one from then on replays the graph."""
        state = capture.state
        state.counts = capture.counts
        if capture.graph is None and not capture.warm:
            capture.warm = True
            return self._chunk(state)
        if capture.graph is None:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                capture.outputs = self._chunk(state)
            capture.graph = graph
        capture.graph.replay()
        assert capture.outputs is not None
        return capture.outputs

    def _new_state(self, batch: int, first_current: Tensor) -> _State:
        """Fresh membranes (and last spikes, with the output delay) for a batch."""
        state = _State(
            batch,
            first_current,
            {p.name: self._state_tensor(p, batch, self.init_mem) for p in self.pops},
        )
        if self.output_delay:
            state.last = {p.name: self._state_tensor(p, batch, 0.0, self.dtype) for p in self.pops}
        return state

    def _state_tensor(
        self, pop: Population, batch: int, value: float, dtype: torch.dtype | None = None
    ) -> Tensor:
        """A population's membrane (or last spikes) for a batch, in its layout."""
        full = torch.full(
            (batch, *pop.shape), value, dtype=dtype or self.state_dtype, device=self.device
        )
        return self._layout(pop.name, full)

    # -- one chunk ------------------------------------------------------------------
    def _layout(self, name: str, tensor: Tensor) -> Tensor:
        """`tensor` in the layout of population `name` (a no-op when it already is)."""
        if tensor.dim() == 4 and name in self.cl_pops:
            return tensor.contiguous(memory_format=torch.channels_last)
        return tensor.contiguous()

    def _fire(self, state: _State, name: str, currents: Tensor, constant: bool = False) -> Tensor:
        """Integrate currents into population `name`; returns the spikes it emits."""
        index = self.pop_index[name]
        pop = self.pops[index]
        counted = False
        if self.scan == "compile":
            currents = self._layout(name, currents)
            spikes = scans.compiled_scan(
                currents, state.v[name], state.steps, self.dtype, constant=constant
            )
        else:
            if constant or currents.dtype != self.dtype:
                out = torch.empty(
                    (state.steps * state.batch, *pop.shape), dtype=self.dtype, device=self.device
                )
                out = self._layout(name, out)
            else:
                currents = self._layout(name, currents)
                out = currents  # spikes overwrite the currents (each step reads its own first)
            if self.scan == "triton":
                # the kernel counts too, but the delayed spikes are the ones to count
                column = None if self.output_delay else state.counts[:, index]
                spikes = scans.triton_scan(currents, state.v[name], out, constant, column)
                counted = column is not None
            else:
                spikes = if_scan(currents, state.v[name], out, constant=constant)
        if self.output_delay:
            spikes = self._delay(state, name, spikes)
        if counted:
            return spikes
        # per image and step a count is at most the population size (< 2^24): exact in float32
        dims = tuple(range(1, spikes.dim()))
        per_row = spikes.sum(dim=dims, dtype=torch.float32)
        per_step = per_row.view(state.steps, state.batch).sum(1, dtype=torch.float64)
        state.counts[:, index] = per_step
        return spikes

    def _delay(self, state: _State, name: str, spikes: Tensor) -> Tensor:
        batch = state.batch
        shifted = torch.empty_like(spikes)
        shifted[:batch] = state.last[name]
        shifted[batch:] = spikes[:-batch]
        state.last[name].copy_(spikes[-batch:])  # in place: a CUDA graph reads this address
        return shifted

    def _convs(self, layers: list[nn.Conv2d], spikes: Tensor) -> list[Tensor]:
        """Each layer applied to the same spikes (converted to uint8 once if needed)."""
        if not any(layer in self.integer_convs for layer in layers):
            return [layer(self._float_layout(spikes)) for layer in layers]
        # same-dtype float ops are fast on the CPU; mixed uint8 ones are not, so the
        # scan stays in float32 and only the conv input is converted
        as_bytes = spikes.to(torch.uint8, memory_format=torch.channels_last)
        outputs = []
        for layer in layers:
            fast = self.integer_convs.get(layer)
            outputs.append(fast(as_bytes) if fast is not None else layer(spikes))
        return outputs

    def _float_layout(self, spikes: Tensor) -> Tensor:
        # float convs on the CPU run faster in the default layout
        if self.device.type == "cpu" and spikes.dim() == 4:
            return spikes.contiguous()
        return spikes

    def _head(self, state: _State, head: HeadLayer, tapped: Tensor) -> Tensor:
        pooled = tapped.mean(dim=(2, 3))
        pooled = self._fire(state, head.pool, pooled)
        return self._fire(state, head.output, self.model.heads[head.name].fc(pooled))

    def _chunk(self, state: _State) -> dict[str, Tensor]:
        """One chunk of steps through every layer, in the walk's order."""
        outputs: dict[str, Tensor] = {}
        if self.scan == "triton" and not self.output_delay:
            state.counts.zero_()  # the kernels add into it (a replayed graph reuses it)
        first = self.features[0]
        spikes = state.first_current
        for layer in self.layers:
            if isinstance(layer, HeadLayer):
                outputs[layer.name] = self._head(state, layer, spikes)
            elif layer is first:
                spikes = self._fire(state, layer.name, spikes, constant=True)
            elif layer.kind == "residual":
                block = self.model.layer(layer)
                inner, shortcut = self._convs([block.conv1, block.shortcut], spikes)
                mid = self._fire(state, layer.mid, inner)
                (current,) = self._convs([block.conv2], mid)
                current.add_(shortcut)
                spikes = self._fire(state, layer.name, current)
            else:
                (current,) = self._convs([self.model.layer(layer).conv], spikes)
                spikes = self._fire(state, layer.name, current)
        return outputs


@dataclass
class _State:
    """The scratch of one (sub-)batch's simulation, kept for one `_run` call: the input
    layer's current, every population's membrane (and last spikes, with the output
    delay), and the current chunk's length and spike counts."""

    batch: int
    first_current: Tensor
    v: dict[str, Tensor]
    last: dict[str, Tensor] = field(default_factory=dict)
    steps: int = 0
    counts: Tensor = field(default_factory=lambda: torch.empty(0))


@dataclass
class _Capture:
    """A CUDA graph of one full chunk for a (batch, chunk length), with the state and the
    counts it reads and writes, and the head spikes it leaves (overwritten each replay)."""

    key: tuple[int, int]
    state: _State
    counts: Tensor
    warm: bool = False
    graph: torch.cuda.CUDAGraph | None = None
    outputs: dict[str, Tensor] | None = None


def _input_conv(block: nn.Module) -> nn.Conv2d:
    """The conv that reads a block's input."""
    return block.conv1 if isinstance(block, ResidualBlock) else block.conv


def _copy_conv(conv: nn.Conv2d, device: torch.device, dtype: torch.dtype) -> nn.Conv2d:
    copy_ = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        bias=conv.bias is not None,
    )
    copy_.load_state_dict(conv.state_dict())
    return copy_.to(device, dtype).eval()
