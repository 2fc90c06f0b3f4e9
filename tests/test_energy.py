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
