"""Three implementations of one chunk's IF scan, all giving the same spikes.

- `loop` (neuron.if_scan): a Python loop of in-place tensor ops, three kernels per
  step; the default, and the only one the CPU path has ever used.
- `compile`: the same scan through torch.compile (Inductor). The loop over the
  chunk's steps unrolls into one fused kernel per call that keeps the membrane in
  registers: each step reads its current and writes its spikes once, where the loop
  reads and writes the membrane three times. Runs on the CPU (C++) and CUDA (Triton).
- `triton`: a hand-written Triton kernel doing what `compile` generates, with the
  chunk length a runtime argument (one compilation per dtype, not per chunk length)
  and the per-step spike count of the population fused in (exact: float64 atomic adds
  of integers). CUDA only; on the CPU it runs under Triton's interpreter
  (TRITON_INTERPRET=1), which is how the tests check it without a GPU.

Every implementation runs, per element, exactly the operations of neuron.if_step in
the same order and dtypes (v + I in the membrane dtype, compare with the threshold,
subtract the 0/1 spike), so the spikes agree bit for bit.

All of them see a chunk as flat memory: the [Tc·B, …] currents and spikes and the
[B, …] membrane are dense tensors in one memory format, so element i of step t sits
at t·n + i of the chunk and at i of the membrane (n = B × the population's neurons).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any

import torch
from torch import Tensor

from .neuron import THRESHOLD

SCANS = ("loop", "compile", "triton")
TRITON_BLOCK = 1024  # elements per Triton program (8 per thread at 4 warps)


def _flat(tensor: Tensor, rows: int | None = None) -> Tensor:
    """A dense tensor's memory as [n] (or [rows, n/rows]), whatever its memory format."""
    if rows is None:
        return tensor.as_strided((tensor.numel(),), (1,))
    return tensor.as_strided((rows, tensor.numel() // rows), (tensor.numel() // rows, 1))


def same_order(a: Tensor, b: Tensor) -> bool:
    """Whether a and b lay their elements out in the same order (their first dims aside)."""
    if a.is_contiguous() and b.is_contiguous():
        return True
    if a.dim() == 4 and b.dim() == 4:
        cl = torch.channels_last
        return a.is_contiguous(memory_format=cl) and b.is_contiguous(memory_format=cl)
    return False


def _check(currents: Tensor, v: Tensor, out: Tensor, constant: bool) -> int:
    """The chunk's number of steps, once the tensors are known to fit the flat view."""
    if not (same_order(currents, v) and same_order(out, v)):
        raise ValueError("currents, membrane and spikes must share one dense memory format")
    steps = out.shape[0] // v.shape[0]
    if out.numel() != steps * v.numel():
        raise ValueError("spikes must hold a whole number of steps of the membrane")
    if currents.numel() != (v.numel() if constant else out.numel()):
        raise ValueError("currents must hold one step (constant) or the whole chunk")
    return steps


# -- torch.compile --------------------------------------------------------------------
def _scan_body(currents: Tensor, v: Tensor, steps: int, dtype: torch.dtype) -> Tensor:
    """currents [Tc, n] (or [n]: constant), v [n] (updated in place) -> spikes [Tc, n].

    Functional on purpose: Inductor writes a returned stack straight into its output,
    where writing into a given tensor (out.copy_) costs a temporary and a second pass.
    """
    constant = currents.dim() == 1
    x = v
    spikes = []
    for t in range(steps):
        x = x + (currents if constant else currents[t])
        s = (x >= THRESHOLD).to(dtype)
        x = x - s
        spikes.append(s)
    v.copy_(x)
    return torch.stack(spikes)


@functools.cache
def _compiled() -> Any:
    import torch._dynamo

    # one compiled kernel per (chunk length, dtypes, constant or not): a simulation uses
    # two chunk lengths, but a process running several (tests, benchmarks) uses more
    # than dynamo's default of 8 recompilations per function
    config = torch._dynamo.config
    if hasattr(config, "recompile_limit"):
        config.recompile_limit = max(config.recompile_limit, 64)
    else:  # torch < 2.6
        config.cache_size_limit = max(config.cache_size_limit, 64)
    return torch.compile(_scan_body, fullgraph=True)


def compiled_scan(
    currents: Tensor, v: Tensor, steps: int, dtype: torch.dtype, constant: bool = False
) -> Tensor:
    """neuron.if_scan through torch.compile: returns a new [Tc·B, …] tensor of spikes
    (dtype `dtype`, in v's memory format) instead of filling a given one."""
    if not same_order(currents, v):
        raise ValueError("currents and membrane must share one dense memory format")
    if currents.numel() != (1 if constant else steps) * v.numel():
        raise ValueError("currents must hold one step (constant) or the whole chunk")
    flat_v = _flat(v)
    flat_in = _flat(currents) if constant else _flat(currents, steps)
    # the neuron count varies by layer and batch: one kernel serves them all
    torch._dynamo.maybe_mark_dynamic(flat_v, 0)
    torch._dynamo.maybe_mark_dynamic(flat_in, flat_in.dim() - 1)
    flat_out = _compiled()(flat_in, flat_v, steps, dtype)
    batch = v.shape[0]
    shape = (steps * batch, *v.shape[1:])
    strides = (v.numel() // batch, *v.stride()[1:])
    return flat_out.as_strided(shape, strides)


# -- Triton ---------------------------------------------------------------------------
def triton_importable() -> bool:
    return importlib.util.find_spec("triton") is not None


def interpreting() -> bool:
    """Triton's CPU interpreter is on (it runs kernels on CPU tensors, slowly)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def triton_supported(device: torch.device) -> bool:
    if not triton_importable():
        return False
    if device.type == "cuda":
        return True
    return device.type == "cpu" and interpreting()


@functools.cache
def _kernel() -> Any:
    import triton
    import triton.language as tl

    @triton.jit
    def if_scan_kernel(
        currents,
        v_ptr,
        out,
        counts,
        n,
        steps,
        counts_stride,
        threshold,
        CONSTANT: tl.constexpr,
        COUNT: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        inside = offsets < n
        v = tl.load(v_ptr + offsets, mask=inside, other=0.0)
        source = currents + offsets
        target = out + offsets
        if CONSTANT:
            current = tl.load(source, mask=inside, other=0.0).to(v.dtype)
        # pointers advance by n a step (a chunk can hold more than 2^31 elements)
        for _ in range(steps):
            if not CONSTANT:
                current = tl.load(source, mask=inside, other=0.0).to(v.dtype)
                source += n
            v = v + current
            fired = (v >= threshold) & inside
            spikes = fired.to(v.dtype)
            tl.store(target, spikes.to(out.dtype.element_ty), mask=inside)
            target += n
            v = v - spikes
            if COUNT:
                tl.atomic_add(counts, tl.sum(fired.to(tl.int32), axis=0).to(tl.float64))
                counts += counts_stride
        tl.store(v_ptr + offsets, v, mask=inside)

    return if_scan_kernel


def triton_scan(
    currents: Tensor,
    v: Tensor,
    out: Tensor,
    constant: bool = False,
    counts: Tensor | None = None,
) -> Tensor:
    """neuron.if_scan as one Triton kernel; same arguments and result. With `counts`
    (float64, [Tc], zeroed by the caller) the number of spikes of every step is added."""
    steps = _check(currents, v, out, constant)
    n = v.numel()
    if counts is not None and (counts.dtype != torch.float64 or counts.shape[0] != steps):
        raise ValueError("counts must be float64 with one entry per step")
    blocks = (n + TRITON_BLOCK - 1) // TRITON_BLOCK
    _kernel()[(blocks,)](
        currents,
        v,
        out,
        counts if counts is not None else v,  # unused without COUNT
        n,
        steps,
        counts.stride(0) if counts is not None else 0,
        THRESHOLD,
        CONSTANT=constant,
        COUNT=counts is not None,
        BLOCK=TRITON_BLOCK,
    )
    return out
