"""The chunked simulator against the plain step-by-step oracle, and hand-worked IF cases."""

from __future__ import annotations

import pytest
import torch

from bsf_engine.convert import measure_scales, normalise
from bsf_engine.models.net import build_model
from bsf_engine.models.spec import ModelSpec
from bsf_engine.snn import spikeconv
from bsf_engine.snn.network import populations
from bsf_engine.snn.neuron import if_scan, if_step
from bsf_engine.snn.oracle import simulate_stepwise
from bsf_engine.snn.simulator import Simulator, chunk_for_budget


def converted(
    arch: str,
    ics: tuple[int, ...],
    size: int = 8,
    channels: int = 3,
    width: float = 0.125,
    seed: int = 0,
):
    torch.manual_seed(seed)
    spec = ModelSpec(arch, channels, size, 5, ics, width=width, batchnorm=False)
    model = build_model(spec).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.bias.normal_(0, 0.05)
    x = torch.randn(16, channels, size, size)
    return normalise(model, measure_scales(model, [(x, None)], 16, 99.9))


def identical(a, b) -> bool:
    return all(torch.equal(a.heads[h], b.heads[h]) for h in a.heads) and torch.equal(
        a.counts, b.counts
    )


def test_if_neuron_hand_worked() -> None:
    # constant current 0.4 from v = 0: v = .4 .8 1.2→.2 .6 1.0→0 .4 ...
    v = torch.zeros(1)
    spikes = [if_step(torch.tensor([0.4]), v).item() for _ in range(6)]
    assert spikes == [0, 0, 1, 0, 1, 0]
    assert v.item() == pytest.approx(0.4)
    # reset by subtraction keeps the surplus; a strong input fires every step
    v = torch.tensor([0.0])
    assert [if_step(torch.tensor([1.7]), v).item() for _ in range(3)] == [1, 1, 1]
    assert v.item() == pytest.approx(2.1)
    # negative input never fires and the membrane keeps going down (no floor)
    v = torch.tensor([0.5])
    assert if_step(torch.tensor([-1.0]), v).item() == 0 and v.item() == -0.5


def test_if_scan_matches_steps_and_carries_state() -> None:
    gen = torch.Generator().manual_seed(0)
    batch, steps = 3, 10
    currents = torch.rand(steps * batch, 4, generator=gen, dtype=torch.float64)
    v_scan = torch.zeros(batch, 4, dtype=torch.float64)
    out = torch.empty_like(currents)
    if_scan(currents[: 4 * batch], v_scan, out[: 4 * batch])  # two chunks: 4 + 6 steps
    if_scan(currents[4 * batch :], v_scan, out[4 * batch :])
    v_step = torch.zeros(batch, 4, dtype=torch.float64)
    for t in range(steps):
        s = if_step(currents[t * batch : (t + 1) * batch], v_step)
        assert torch.equal(out[t * batch : (t + 1) * batch], s)
    assert torch.equal(v_scan, v_step)


CASES = [
    ("vgg11", (2, 5), 8, {}),
    ("vgg11", (0,), 8, {"output_delay": True}),
    ("resnet18", (1, 6), 8, {}),
    ("resnet18", (3,), 8, {"output_delay": True, "init_mem": 0.5}),
    ("vggtiny", (2,), 8, {"init_mem": 0.3}),
]


@pytest.mark.parametrize(("arch", "ics", "size", "options"), CASES)
@pytest.mark.parametrize("chunk", [1, 3, 16])
def test_chunked_equals_oracle_in_float64(arch, ics, size, options, chunk) -> None:
    model = converted(arch, ics, size)
    x = torch.randn(6, 3, size, size, generator=torch.Generator().manual_seed(1))
    timesteps = 20
    expected = simulate_stepwise(model, x, timesteps, dtype=torch.float64, **options)
    sim = Simulator(model, dtype=torch.float64, chunk=chunk, sub_batch=4, **options)
    got = sim.run(x, timesteps)
    assert identical(got, expected)
    assert sum(h.sum().item() for h in got.heads.values()) > 0  # not a silent network


def test_sub_batches_and_chunks_do_not_change_float32_results() -> None:
    model = converted("vgg11", (3,), 8)
    x = torch.randn(10, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    base = Simulator(model, conv_backend="float", chunk=1, sub_batch=None).run(x, 24)
    for chunk, sub in ((1, 3), (5, 4), (24, None)):
        other = Simulator(model, conv_backend="float", chunk=chunk, sub_batch=sub).run(x, 24)
        mismatch = sum((other.heads[h] != base.heads[h]).sum().item() for h in base.heads)
        assert mismatch / sum(h.numel() for h in base.heads.values()) < 0.02


def test_float32_mismatch_against_the_oracle_is_small() -> None:
    model = converted("vgg11", (3,), 8)
    x = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    reference = simulate_stepwise(model, x, 40, dtype=torch.float32)
    got = Simulator(model).run(x, 40)
    wrong = sum((got.heads[h] != reference.heads[h]).sum().item() for h in got.heads)
    rate = wrong / sum(h.numel() for h in got.heads.values())
    print(f"float32 chunked vs float32 oracle: mismatch rate {rate:.2e}")
    assert rate < 0.02


def test_output_delay_shifts_each_layer_by_one_step() -> None:
    model = converted("vgg11", (7,), 8)
    with torch.no_grad():  # biases alone would make neurons fire without input
        for m in model.modules():
            if hasattr(m, "bias") and m.bias is not None:
                m.bias.zero_()
    x = torch.randn(4, 3, 8, 8)
    delayed = Simulator(model, dtype=torch.float64, output_delay=True).run(x, 30)
    plain = Simulator(model, dtype=torch.float64).run(x, 30)
    # the input layer sees the same constant current: its spikes arrive one step later
    assert torch.equal(delayed.counts[1:, 0], plain.counts[:-1, 0])
    assert delayed.counts[0, 0] == 0
    # block k can emit only from step k + 1 on
    for k in range(8):
        assert not delayed.counts[: k + 1, k].any()


def test_counts_are_per_population_per_step() -> None:
    model = converted("vgg11", (3,), 8)
    x = torch.randn(5, 3, 8, 8)
    result = simulate_stepwise(model, x, 12, dtype=torch.float64)
    names = [p.name for p in result.populations]
    final = names.index("heads.final")
    assert torch.equal(result.counts[:, final], result.heads["final"].sum(dim=(1, 2)).long())


def test_chunk_from_memory_budget() -> None:
    pops = populations(converted("vgg11", (3,), 32))
    biggest = max(p.neurons for p in pops)
    assert chunk_for_budget(pops, 64, 4, 3 * biggest * 64 * 4 * 5, cap=32) == 5
    assert chunk_for_budget(pops, 64, 4, 1, cap=32) == 1
    assert chunk_for_budget(pops, 64, 4, 1 << 40, cap=32) == 32


@pytest.mark.skipif(not spikeconv.available(), reason="no oneDNN u8 convolutions here")
def test_integer_spike_convolution_is_float32_accurate() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 24, 3, 2, 1)
    fast = spikeconv.integer_conv(conv, (2, 16, 8, 8))
    if fast is None:
        pytest.skip("u8 convolutions disagree with float32 on this CPU")
    x = (torch.rand(7, 16, 8, 8) < 0.3).float()
    reference = torch.nn.functional.conv2d(
        x.double(), conv.weight.double(), conv.bias.double(), 2, 1
    )
    got = fast(x.to(torch.uint8).contiguous(memory_format=torch.channels_last)).double()
    float32 = conv(x).double()
    scale = reference.abs().max()
    assert (got - reference).abs().max() / scale < 4 * (float32 - reference).abs().max() / scale
    assert (got - reference).abs().max() / scale < 1e-6


@pytest.mark.skipif(not spikeconv.available(), reason="no oneDNN u8 convolutions here")
def test_integer_path_stays_close_to_the_float_path() -> None:
    model = converted("vgg11", (3,), 16)
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    fast = Simulator(model, conv_backend="integer")
    if not fast.integer_convs:
        pytest.skip("u8 convolutions unavailable")
    a = fast.run(x, 30)
    b = Simulator(model, conv_backend="float").run(x, 30)
    accuracy_a = a.heads["final"].sum(0).argmax(1)
    accuracy_b = b.heads["final"].sum(0).argmax(1)
    assert (accuracy_a == accuracy_b).float().mean() >= 0.75
    wrong = sum((a.heads[h] != b.heads[h]).sum().item() for h in a.heads)
    assert wrong / sum(h.numel() for h in a.heads.values()) < 0.05
