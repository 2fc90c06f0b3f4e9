"""Energy models: SpikeSim crossbar energy from layer shapes, SyOPs from recorded spikes.

SpikeSim (RRAM crossbars, constants in pJ from [energy]): every layer of the
spiking network is mapped onto 64×64 crossbars; its energy per timestep is
⌈C_out/64⌉·⌈C_in/64⌉·H_out·W_out·PE_cycle(k), with
  PE_ar(k)    = k_h·k_w·xbar_ar + (xbar/8)·(adc + mux)
  PE_cycle(k) = 8·htree + mem_fetch + 4·neuron + (xbar/8)·PE_ar(k)
                + (xbar/8)·16·sub + (xbar/8)·temp_buff + tile_buff.
Residual blocks count conv1, conv2 and the shortcut. A head counts its linear
layer mapped as C_in' = ⌈C_in/4⌉, k = (4, 1), 1×1 output, and — with
`gap_rows` — a GAP row (C_in = C_out = the tapped block's channels, k = its
map size, 1×1 output). The expected per-step energies in REFERENCE.md are
reproduced (within 0.01%) without GAP rows: with them, 512 channels at 2×2 add
48.5 nJ per step and the table is missed by up to 1.3%; so they are off by
default. Final-only pays features + final head; BSF adds the IC head(s).

SyOPs (data-dependent, 45 nm: E_AC 0.9 pJ, E_MAC 4.6 pJ): each spike a
population emits costs one accumulate per synapse it drives (its layer's MACs
divided by its neurons: the mean fan-out), and the analog input layer costs
its MACs every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .models.archs import scaled
from .models.spec import ModelSpec


@dataclass(frozen=True)
class SpikeSimConstants:
    xbar_size: int = 64
    xbar_ar: float = 1.76423
    tile_buff: float = 397.0
    temp_buff: float = 0.2
    sub: float = 1.15e-6
    adc: float = 2.03084
    htree: float = 19.64
    mux: float = 0.094245
    mem_fetch: float = 4.64
    neuron: float = 1.274
    gap_rows: bool = False

    @classmethod
    def from_config(cls, energy) -> SpikeSimConstants:
        return cls(**{name: getattr(energy, name) for name in cls.__dataclass_fields__})

    def pe_cycle(self, kh: int, kw: int) -> float:
        """Energy (pJ) of one processing-element cycle for a kh×kw kernel."""
        lanes = self.xbar_size / 8
        pe_ar = kh * kw * self.xbar_ar + lanes * (self.adc + self.mux)
        return (
            8 * self.htree
            + self.mem_fetch
            + 4 * self.neuron
            + lanes * pe_ar
            + lanes * 16 * self.sub
            + lanes * self.temp_buff
            + self.tile_buff
        )

    def layer(self, c_in: int, c_out: int, h_out: int, w_out: int, kh: int, kw: int) -> float:
        tiles = math.ceil(c_out / self.xbar_size) * math.ceil(c_in / self.xbar_size)
        return tiles * h_out * w_out * self.pe_cycle(kh, kw)


@dataclass(frozen=True)
class LayerEnergy:
    name: str
    part: str  # "features" or the head name
    pj: float


def _down(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def spikesim_layers(spec: ModelSpec, constants: SpikeSimConstants) -> list[LayerEnergy]:
    """Per-timestep energy (pJ) of every mapped layer of the network."""
    arch = spec.archdef
    rows: list[LayerEnergy] = []
    size, channels = spec.image_size, spec.in_channels
    if arch.stem is not None:
        c = scaled(arch.stem, spec.width)
        rows.append(LayerEnergy("stem", "features", constants.layer(channels, c, size, size, 3, 3)))
        channels = c
    sizes, block_channels = [], []
    for index, (c, stride) in enumerate(arch.blocks):
        c = scaled(c, spec.width)
        out = _down(size, stride)
        if arch.family == "resnet":
            pj = (
                constants.layer(channels, c, out, out, 1, 1)
                + constants.layer(channels, c, out, out, 3, 3)
                + constants.layer(c, c, out, out, 3, 3)
            )
        else:
            pj = constants.layer(channels, c, out, out, 3, 3)
        rows.append(LayerEnergy(f"blocks.{index}", "features", pj))
        channels, size = c, out
        sizes.append(size)
        block_channels.append(c)
    for head in spec.head_names:
        tap = len(arch.blocks) - 1 if head == "final" else int(head[2:])
        c, pool = block_channels[tap], sizes[tap]
        gap = constants.layer(c, c, 1, 1, pool, pool) if constants.gap_rows else 0.0
        linear = constants.layer(math.ceil(c / 4), spec.num_classes, 1, 1, 4, 1)
        rows.append(LayerEnergy(f"heads.{head}", head, gap + linear))
    return rows


@dataclass(frozen=True)
class StepEnergy:
    """Per-timestep energy (J) of reading the final head alone and of BSF (final + ICs)."""

    final_only: float
    bsf: float
    ic_only: float


def spikesim_step_energy(spec: ModelSpec, constants: SpikeSimConstants) -> StepEnergy:
    rows = spikesim_layers(spec, constants)
    features = sum(r.pj for r in rows if r.part == "features")
    final = sum(r.pj for r in rows if r.part == "final")
    ics = {r.part: r.pj for r in rows if r.part.startswith("ic")}
    ic_tap = max(int(h[2:]) for h in ics) if ics else len(spec.archdef.blocks) - 1
    # the IC alone needs the blocks up to the one it reads
    ic_features = sum(r.pj for r in rows if r.part == "features" and _block_index(r.name) <= ic_tap)
    pj = 1e-12
    return StepEnergy(
        final_only=(features + final) * pj,
        bsf=(features + final + sum(ics.values())) * pj,
        ic_only=(ic_features + sum(ics.values())) * pj,
    )


def _block_index(name: str) -> int:
    return -1 if name == "stem" else int(name.split(".")[1])


# -- SyOPs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SyopsModel:
    """Per population: energy (J) per spike for each part of the network it drives."""

    per_spike: dict[str, dict[str, float]]  # population -> part ("features"/head) -> J
    input_layer: float  # J per step for the analog input layer's MACs

    def step_energy(self, mean_counts, parts: set[str]):
        """J per step [T] from mean spikes per sample [T, L] (columns in `populations` order)."""
        import numpy as np

        weights = np.array(
            [
                sum(j for part, j in self.per_spike[name].items() if part in parts)
                for name in self.per_spike
            ]
        )
        return mean_counts @ weights + self.input_layer


def syops_model(spec: ModelSpec, e_ac_pj: float = 0.9, e_mac_pj: float = 4.6) -> SyopsModel:
    """Mean fan-out of every population (its consumers' MACs per input neuron) × E_AC."""
    from .models.complexity import layer_costs
    from .models.net import build_model
    from .snn.network import populations

    model = build_model(ModelSpec.from_dict({**spec.to_dict(), "batchnorm": False}))
    pops = populations(model)
    neurons = {p.name: p.neurons for p in pops}
    costs = {r.name: r for r in layer_costs(spec)}
    arch = spec.archdef
    ac, mac = e_ac_pj * 1e-12, e_mac_pj * 1e-12
    per_spike: dict[str, dict[str, float]] = {p.name: {} for p in pops}

    def drives(source: str, part: str, macs: float) -> None:
        per_spike[source][part] = per_spike[source].get(part, 0.0) + macs / neurons[source] * ac

    size, channels = spec.image_size, spec.in_channels
    if arch.stem is not None:
        input_macs = costs["stem"].macs
        previous = "stem"
        channels = scaled(arch.stem, spec.width)
    else:
        input_macs = costs["block 0"].macs
        previous = "blocks.0"
    for index, (c, stride) in enumerate(arch.blocks):
        c = scaled(c, spec.width)
        out = _down(size, stride)
        if arch.family == "resnet":
            conv1 = channels * c * 9 * out * out
            shortcut = channels * c * out * out
            conv2 = c * c * 9 * out * out
            drives(previous, "features", conv1 + shortcut)
            drives(f"blocks.{index}.mid", "features", conv2)
        elif index > 0:
            drives(previous, "features", channels * c * 9 * out * out)
        previous = f"blocks.{index}"
        channels, size = c, out
        for head in spec.head_names:
            tap = len(arch.blocks) - 1 if head == "final" else int(head[2:])
            if tap == index:
                drives(previous, head, neurons[previous])  # GAP: one accumulate per spike
                drives(f"heads.{head}.pool", head, c * spec.num_classes)
    return SyopsModel(per_spike, input_macs * mac)
