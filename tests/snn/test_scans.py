"""The simulator's scan options and CUDA settings, as far as the CPU can check them.

`compile` (torch.compile, Inductor's C++ backend here) runs for real; the Triton kernel
runs under Triton's CPU interpreter in a subprocess; the CUDA-graph path only on a GPU
(tests/snn/test_cuda.py), here just its refusal on the CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bsf_engine.snn import scans
from bsf_engine.snn.neuron import if_scan
from bsf_engine.snn.oracle import simulate_stepwise
from bsf_engine.snn.simulator import (
    CPU_MEMORY_BUDGET,
    Simulator,
    default_memory_budget,
    float32_convolutions,
)
from tests.snn.test_simulator import converted, identical

ROOT = Path(__file__).resolve().parents[2]


def bf16_agrees(got, reference) -> None:
    """bf16 currents with a float32 membrane against the float64 oracle. Single spikes
    differ (8-20% on random networks: rounding moves threshold crossings), so this
    compares what is read from them: each output neuron's firing rate within 0.02 on
    average (0.1 at most), each population's total spikes within 5%, and the predicted
    class (most spikes of the final head) for at least 3 images in 4."""
    for head in got.heads:
        diff = (got.heads[head].float().mean(0) - reference.heads[head].float().mean(0)).abs()
        assert diff.mean() <= 0.02 and diff.max() <= 0.1, head
    totals, expected = got.counts.sum(0).double(), reference.counts.sum(0).double()
    assert ((totals - expected).abs() <= 0.05 * expected.clamp(min=20)).all()
    argmax = got.heads["final"].sum(0).argmax(1) == reference.heads["final"].sum(0).argmax(1)
    assert argmax.float().mean() >= 0.75


def test_scan_options_are_checked() -> None:
    model = converted("vggtiny", (2,))
    with pytest.raises(ValueError, match="scan"):
        Simulator(model, scan="fast")
    with pytest.raises(ValueError, match="cuda_graph"):
        Simulator(model, cuda_graph=True)
    if not scans.interpreting():
        with pytest.raises(ValueError, match="triton"):
            Simulator(model, scan="triton")


@pytest.mark.parametrize(
    ("arch", "ics", "options"),
    [
        ("vggtiny", (2,), {"init_mem": 0.3}),
        ("vgg11", (0,), {"output_delay": True}),
        ("resnet18", (1, 6), {}),
    ],
)
def test_compiled_scan_equals_oracle_in_float64(arch, ics, options) -> None:
    model = converted(arch, ics, 8)
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    expected = simulate_stepwise(model, x, 11, dtype=torch.float64, **options)
    sim = Simulator(model, dtype=torch.float64, chunk=4, sub_batch=4, scan="compile", **options)
    got = sim.run(x, 11)  # chunks of 4, 4 and 3 steps
    assert identical(got, expected)
    assert sum(h.sum().item() for h in got.heads.values()) > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_compiled_scan_gives_the_loops_spikes(dtype) -> None:
    model = converted("vgg11", (3,), 16, width=0.25)
    x = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    loop = Simulator(model, dtype=dtype, chunk=8).run(x, 16)
    compiled = Simulator(model, dtype=dtype, chunk=8, scan="compile").run(x, 16)
    assert identical(compiled, loop)


def test_compiled_scan_keeps_channels_last() -> None:
    currents = torch.rand(12, 4, 5, 6).contiguous(memory_format=torch.channels_last)
    v = torch.zeros(3, 4, 5, 6).contiguous(memory_format=torch.channels_last)
    v_loop = v.clone()
    expected = if_scan(currents.clone(), v_loop, torch.empty_like(currents))
    got = scans.compiled_scan(currents, v, 4, torch.float32)
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, expected) and torch.equal(v, v_loop)
    with pytest.raises(ValueError, match="memory format"):
        scans.compiled_scan(currents, v.contiguous(), 4, torch.float32)


def test_bf16_agrees_with_the_float64_oracle() -> None:
    model = converted("vgg11", (3,), 16)
    x = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    reference = simulate_stepwise(model, x, 64, dtype=torch.float64)
    bf16_agrees(Simulator(model, dtype=torch.bfloat16).run(x, 64), reference)


TRITON_CHECK = """
import json, torch
from bsf_engine.snn.oracle import simulate_stepwise
from bsf_engine.snn.simulator import Simulator
from tests.snn.test_simulator import converted, identical

results = {}
x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
for arch, ics, options in (
    ("vgg11", (2, 5), {}),
    ("resnet18", (3,), {"output_delay": True, "init_mem": 0.5}),
):
    model = converted(arch, ics, 8)
    expected = simulate_stepwise(model, x, 7, dtype=torch.float64, **options)
    sim = Simulator(model, dtype=torch.float64, chunk=3, scan="triton", **options)
    results[f"{arch} float64 vs oracle"] = identical(sim.run(x, 7), expected)
model = converted("vgg11", (3,), 8)
for dtype in (torch.float32, torch.bfloat16):
    loop = Simulator(model, dtype=dtype, chunk=4).run(x, 6)
    triton = Simulator(model, dtype=dtype, chunk=4, scan="triton").run(x, 6)
    results[f"vgg11 {dtype} vs loop"] = identical(triton, loop)
print(json.dumps(results))
"""


@pytest.mark.skipif(not scans.triton_importable(), reason="Triton is not installed")
def test_triton_scan_under_the_interpreter_equals_oracle_and_loop() -> None:
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", TRITON_CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == 4 and all(results.values()), results


@pytest.mark.parametrize("options", [{}, {"output_delay": True, "init_mem": 0.5}])
def test_graph_state_is_reset_per_batch_and_kept_per_size(monkeypatch, options) -> None:
    """The CUDA-graph path's bookkeeping on the CPU: its static membranes, input current,
    last spikes and counts, reset in place for every batch and kept per batch size, with
    each chunk run eagerly where a GPU would replay it."""
    model = converted("resnet18", (3,), 8)
    gen = torch.Generator().manual_seed(5)
    batches = [torch.randn(n, 3, 8, 8, generator=gen) for n in (4, 4, 3, 4)]
    plain = Simulator(model, dtype=torch.float64, chunk=3, **options)
    staged = Simulator(model, dtype=torch.float64, chunk=3, **options)
    staged.cuda_graph = True  # past the constructor's CUDA check: no graph is made below
    chunks: list[tuple[int, int]] = []

    def eager_chunk(capture):
        capture.state.counts = capture.counts
        chunks.append(capture.key)
        return staged._chunk(capture.state)

    monkeypatch.setattr(staged, "_graph_chunk", eager_chunk)
    for x in batches:
        assert identical(staged.run(x, 11), plain.run(x, 11))  # 3 full chunks, 2 steps eager
    assert chunks == [(4, 3)] * 6 + [(3, 3)] * 3 + [(4, 3)] * 3


def test_default_memory_budget(monkeypatch) -> None:
    assert default_memory_budget("cpu") == CPU_MEMORY_BUDGET
    assert Simulator(converted("vggtiny", (2,))).memory_budget == CPU_MEMORY_BUDGET
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (80 << 30, 141 << 30))
    assert default_memory_budget("cuda") == 40 << 30

    def no_gpu(device=None):
        raise RuntimeError("no CUDA GPUs are available")

    monkeypatch.setattr(torch.cuda, "mem_get_info", no_gpu)
    assert default_memory_budget("cuda:0") == CPU_MEMORY_BUDGET


def test_float32_on_cuda_turns_tf32_off_for_the_run_only() -> None:
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    cuda = torch.device("cuda")
    with float32_convolutions(cuda, torch.float32):
        assert not torch.backends.cudnn.allow_tf32
        assert not torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before
    for device, dtype in ((cuda, torch.bfloat16), (torch.device("cpu"), torch.float32)):
        with float32_convolutions(device, dtype):
            assert torch.backends.cudnn.allow_tf32 == before[0]
