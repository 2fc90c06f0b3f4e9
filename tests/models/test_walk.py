"""The one walk through a network that names its populations: its order and names, and
that every user of the names (activations and λ, populations and spike counts, the cost
table, both energy models, the simulator) agrees with it."""

from __future__ import annotations

import pytest
import torch

from bsf_engine.energy import SpikeSimConstants, spikesim_layers, syops_model
from bsf_engine.models.archs import ARCHS
from bsf_engine.models.complexity import layer_costs
from bsf_engine.models.net import build_model
from bsf_engine.models.spec import ModelSpec
from bsf_engine.models.walk import STEM, FeatureLayer, HeadLayer, feature_layers, walk
from bsf_engine.snn.network import populations


def names(spec: ModelSpec) -> list[str]:
    out = []
    for layer in walk(spec):
        if isinstance(layer, HeadLayer):
            out += [layer.pool, layer.output]
        else:
            out += [layer.mid, layer.name] if layer.mid else [layer.name]
    return out


def test_a_vgg_walk_by_hand() -> None:
    spec = ModelSpec("vggtiny", 1, 8, 10, (2,), width=0.25)
    assert names(spec) == [
        "blocks.0",
        "blocks.1",
        "blocks.2",
        "heads.ic2.pool",
        "heads.ic2",
        "blocks.3",
        "blocks.4",
        "blocks.5",
        "heads.final.pool",
        "heads.final",
    ]
    layers = feature_layers(spec)
    assert [
        (layer.in_channels, layer.channels, layer.in_size, layer.size) for layer in layers[:3]
    ] == [
        (1, 8, 8, 8),
        (8, 8, 8, 8),
        (8, 16, 8, 4),
    ]
    assert layers[2].ics == ("ic2",) and layers[2].label == "block 2"


def test_a_resnet_walk_by_hand() -> None:
    spec = ModelSpec("resnet18", 3, 32, 10, (1,), width=0.25)
    walked = list(walk(spec))
    assert isinstance(walked[0], FeatureLayer) and walked[0].index == STEM
    assert names(spec)[:7] == [
        "stem",
        "blocks.0.mid",
        "blocks.0",
        "blocks.1.mid",
        "blocks.1",
        "heads.ic1.pool",
        "heads.ic1",
    ]
    final = walked[-1]
    assert (final.name, final.block, final.channels, final.size) == ("final", 7, 128, 4)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_user_of_the_names_agrees(arch: str) -> None:
    n = ARCHS[arch].num_blocks
    spec = ModelSpec(arch, 3, 32, 7, (0, n // 2), width=0.125)
    model = build_model(spec).eval()
    walked = names(spec)
    assert [p.name for p in populations(model)] == walked
    # activations (whose percentiles are the λ of conversion): every population that has
    # a scale, in the same order
    acts = model.activations(torch.randn(1, 3, 32, 32))
    assert list(acts) == [name for name in walked if not name.endswith(".pool")]
    for pop in populations(model):
        if pop.name in acts:
            assert tuple(acts[pop.name].shape[1:]) == pop.shape
    costs = [r.name for r in layer_costs(spec)]
    assert costs == [layer.label for layer in feature_layers(spec)] + [
        f"head {h}" for h in spec.head_names
    ]
    energy_rows = [r.name for r in spikesim_layers(spec, SpikeSimConstants())]
    assert energy_rows == [layer.name for layer in feature_layers(spec)] + [
        f"heads.{h}" for h in spec.head_names
    ]
    assert list(syops_model(spec).per_spike) == walked
