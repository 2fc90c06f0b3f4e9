"""SpikeSim energies against the REFERENCE.md table; SyOPs from spike counts."""

from __future__ import annotations

import pytest

from bsf_engine.config import parse_config
from bsf_engine.energy import SpikeSimConstants, spikesim_layers, spikesim_step_energy
from bsf_engine.models.spec import ModelSpec

TABLE_MICROJOULES = {
    ("cifar10", "vgg11"): 4.243,
    ("cifar10", "vgg16"): 7.849,
    ("cifar10", "vgg19"): 9.758,
    ("cifar10", "resnet18"): 17.914,
    ("cifar10", "resnet34"): 37.350,
    ("mnist", "vgg11"): 3.647,
    ("mnist", "vgg19"): 8.366,
}


def test_pe_cycle_values() -> None:
    c = SpikeSimConstants()
    assert c.pe_cycle(3, 3) == pytest.approx(828.486, abs=5e-4)
    assert c.pe_cycle(1, 1) == pytest.approx(715.575, abs=5e-4)
    assert c.pe_cycle(2, 2) == pytest.approx(757.917, abs=5e-4)
    assert c.pe_cycle(4, 1) == pytest.approx(757.917, abs=5e-4)
    assert c.pe_cycle(8, 8) == pytest.approx(1604.747, abs=5e-4)


@pytest.mark.parametrize(("dataset", "arch"), list(TABLE_MICROJOULES))
def test_final_only_energy_matches_the_table(dataset, arch) -> None:
    channels, size = (3, 32) if dataset == "cifar10" else (1, 28)
    spec = ModelSpec(arch, channels, size, 10, (3,))
    energy = spikesim_step_energy(spec, SpikeSimConstants())
    assert energy.final_only * 1e6 == pytest.approx(TABLE_MICROJOULES[(dataset, arch)], rel=1e-3)


def test_bsf_adds_the_ic_head_and_constants_come_from_config() -> None:
    spec = ModelSpec("vgg19", 3, 32, 10, (6,))
    c = SpikeSimConstants()
    energy = spikesim_step_energy(spec, c)
    rows = {r.name: r.pj for r in spikesim_layers(spec, c)}
    assert energy.bsf - energy.final_only == pytest.approx(rows["heads.ic6"] * 1e-12)
    # IC 6 reads 256 channels: linear ⌈256/4⌉ = 64 → one 64×64 tile, k = (4, 1)
    assert rows["heads.ic6"] == pytest.approx(c.pe_cycle(4, 1))
    assert energy.ic_only < energy.final_only
    config = parse_config("[energy]\nadc = 4.0\ngap_rows = true")
    custom = SpikeSimConstants.from_config(config.energy)
    assert custom.adc == 4.0 and custom.gap_rows
    assert spikesim_step_energy(spec, custom).final_only > energy.final_only


def test_syops_charges_each_spike_its_consumers_accumulates() -> None:
    """Hand-worked for vggtiny (width 0.25) on 1×8×8: blocks.0 (8×8×8 neurons) drives the
    3×3 conv of blocks.1 (8 → 8 channels, 8×8 out); its own input conv is the analog input
    layer, paid as MACs every step and never per spike."""
    from bsf_engine.energy import syops_model

    spec = ModelSpec("vggtiny", 1, 8, 10, (2,), width=0.25, batchnorm=False)
    model = syops_model(spec, e_ac_pj=1.0, e_mac_pj=2.0)
    assert model.per_spike["blocks.0"] == {"features": pytest.approx(8 * 8 * 9 * 64 / 512 * 1e-12)}
    assert model.input_layer == pytest.approx(1 * 8 * 9 * 64 * 2e-12)
    # blocks.2 (16×4×4) feeds the IC head through its pool, then the 3×3 conv of blocks.3
    tapped = model.per_spike["blocks.2"]
    assert list(tapped) == ["ic2", "features"]
    assert tapped["ic2"] == pytest.approx(1e-12)  # GAP: one accumulate per spike
    assert tapped["features"] == pytest.approx(16 * 16 * 9 * 16 / (16 * 16) * 1e-12)
    assert model.per_spike["heads.ic2.pool"] == {"ic2": pytest.approx(16 * 10 / 16 * 1e-12)}
