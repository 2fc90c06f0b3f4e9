"""The simulator on a CUDA GPU: skipped where there is none (benchmarks/gpu_check.sh
runs these on a lent GPU with `-k cuda`).

Every option (scan: loop, compile, triton; CUDA graphs on or off) must give exactly
the step-by-step oracle's spikes in float64, exactly the default path's spikes in
float32 and bf16, float32 close to the float32 oracle, bf16 within the tolerance of
test_scans.bf16_agrees of the float64 oracle.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch

from bsf_engine.snn import scans
from bsf_engine.snn.oracle import simulate_stepwise
from bsf_engine.snn.simulator import Simulator, default_memory_budget
from tests.snn.test_scans import bf16_agrees
from tests.snn.test_simulator import converted, identical

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")

CUDA = "cuda"
SCANS = [s for s in scans.SCANS if s != "triton" or scans.triton_importable()]
OPTIONS: list[dict[str, Any]] = [
    {"scan": s, "cuda_graph": g} for s, g in itertools.product(SCANS, (False, True))
]


def label(options: dict) -> str:
    return options["scan"] + ("+graph" if options["cuda_graph"] else "")


@pytest.mark.parametrize("options", OPTIONS, ids=label)
@pytest.mark.parametrize(
    ("arch", "ics", "neuron"),
    [
        ("vgg11", (2, 5), {}),
        ("resnet18", (3,), {"output_delay": True, "init_mem": 0.5}),
    ],
)
def test_cuda_float64_equals_oracle(arch, ics, neuron, options) -> None:
    model = converted(arch, ics, 8)
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    expected = simulate_stepwise(model, x, 20, dtype=torch.float64, device=CUDA, **neuron)
    sim = Simulator(model, device=CUDA, dtype=torch.float64, chunk=3, **neuron, **options)
    # 6 full chunks and one of 2 steps: with graphs, warm-up, capture, replays, eager tail
    assert identical(sim.run(x, 20), expected)
    assert identical(sim.run(x, 20), expected)  # a second batch replays the kept graph


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("arch", ["vgg11", "resnet18"])
def test_cuda_options_give_the_default_paths_spikes(arch, dtype) -> None:
    model = converted(arch, (3,), 16, width=0.25)
    gen = torch.Generator().manual_seed(2)
    batches = [torch.randn(8, 3, 16, 16, generator=gen) for _ in range(2)]
    small = torch.randn(5, 3, 16, 16, generator=gen)
    default = Simulator(model, device=CUDA, dtype=dtype, chunk=8)
    expected = [default.run(x, 28) for x in (*batches, small)]
    for options in OPTIONS[1:]:
        sim = Simulator(model, device=CUDA, dtype=dtype, chunk=8, **options)
        # two batches of one size (the second replays a kept graph), then another size
        for x, want in zip((*batches, small), expected):
            assert identical(sim.run(x, 28), want), label(options)


def test_cuda_float32_is_close_to_the_float32_oracle() -> None:
    model = converted("vgg11", (3,), 16)
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    reference = simulate_stepwise(model, x, 40, dtype=torch.float32, device=CUDA)
    for options in OPTIONS:
        got = Simulator(model, device=CUDA, **options).run(x, 40)
        wrong = sum((got.heads[h] != reference.heads[h]).sum().item() for h in got.heads)
        assert wrong / sum(h.numel() for h in got.heads.values()) < 0.02, label(options)


@pytest.mark.parametrize("options", OPTIONS, ids=label)
def test_cuda_bf16_agrees_with_the_float64_oracle(options) -> None:
    model = converted("vgg11", (3,), 16)
    x = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    reference = simulate_stepwise(model, x, 64, dtype=torch.float64)
    got = Simulator(model, device=CUDA, dtype=torch.bfloat16, **options).run(x, 64)
    bf16_agrees(got, reference)


def test_cuda_memory_budget_follows_free_memory() -> None:
    free = torch.cuda.mem_get_info()[0]
    budget = default_memory_budget(CUDA)
    assert 0.4 * free <= budget <= 0.6 * free
    model = converted("vgg11", (3,), 32, width=1.0)
    sim = Simulator(model, device=CUDA, memory_budget=64 << 20)
    assert sim.chunk_length(512) == 1  # 3 × 64×32×32 × 512 × 4 bytes is over 64 MiB
    assert Simulator(model, device=CUDA).chunk_length(8) == 32
