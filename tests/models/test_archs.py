"""Output shapes, IC taps, parameter and MAC counts of every architecture."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bsf_engine.models.archs import ARCHS
from bsf_engine.models.complexity import feature_macs, ic_mac_fraction, layer_costs
from bsf_engine.models.net import build_model
from bsf_engine.models.spec import ModelSpec

EXPECTED_BLOCKS = {
    "vggtiny": 6,
    "vgg11": 8,
    "vgg16": 13,
    "vgg19": 16,
    "resnet18": 8,
    "resnet34": 16,
}


@pytest.mark.parametrize("arch", list(ARCHS))
def test_output_shapes_and_ic_taps(arch: str) -> None:
    n = EXPECTED_BLOCKS[arch]
    ics = (0, n // 2, n - 1)
    spec = ModelSpec(arch, 3, 32, 7, ics, width=0.125)
    model = build_model(spec).eval()
    assert len(model.blocks) == n
    x = torch.randn(2, 3, 32, 32)
    outputs = model(x)
    assert model.head_names == ("ic0", f"ic{n // 2}", f"ic{n - 1}", "final")
    assert [tuple(o.shape) for o in outputs] == [(2, 7)] * 4
    # each IC reads exactly the block it names: recompute its logits from that block
    acts = model.activations(x)
    for name, logits in zip(model.head_names, outputs):
        block = acts[f"blocks.{model.tapped_block(name)}"]
        torch.testing.assert_close(model.heads[name](block), logits)
        torch.testing.assert_close(acts[f"heads.{name}"], logits)
    # the block outputs have the shapes the cost table reports
    rows = {r.name: r for r in layer_costs(spec)}
    for i in range(n):
        assert tuple(acts[f"blocks.{i}"].shape[1:]) == rows[f"block {i}"].out_shape


@pytest.mark.parametrize("arch", list(ARCHS))
def test_parameter_count_matches_cost_table(arch: str) -> None:
    spec = ModelSpec(arch, 3, 32, 10, (ARCHS[arch].default_ic,), width=0.25)
    model = build_model(spec)
    assert sum(p.numel() for p in model.parameters()) == sum(r.params for r in layer_costs(spec))


@pytest.mark.parametrize("arch", ["vgg11", "resnet18"])
def test_mac_count_matches_a_hook_count(arch: str) -> None:
    spec = ModelSpec(arch, 3, 32, 10, (2,), width=0.25)
    model = build_model(spec).eval()
    counted = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            counted.append(output[0].numel() * module.in_channels * k)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    model(torch.randn(1, 3, 32, 32))
    for h in handles:
        h.remove()
    assert sum(counted) == sum(feature_macs(spec))


def test_vgg19_ic6_loss_goal_is_the_papers() -> None:
    spec = ModelSpec("vgg19", 3, 32, 10, (6,))
    assert ic_mac_fraction(spec, 6) == pytest.approx(0.479, abs=5e-4)


def test_architecture_layouts_follow_the_reference() -> None:
    vgg19 = ARCHS["vgg19"].blocks
    assert [c for c, _ in vgg19] == [
        64,
        64,
        128,
        128,
        256,
        256,
        256,
        256,
        512,
        512,
        512,
        512,
        512,
        512,
        512,
        512,
    ]
    assert [i for i, (_, s) in enumerate(vgg19) if s == 2] == [2, 4, 8, 12]
    r34 = ARCHS["resnet34"].blocks
    assert [c for c, _ in r34] == [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
    assert [i for i, (_, s) in enumerate(r34) if s == 2] == [3, 7, 13]
    # VGG6 at block 6 on CIFAR: 256 channels at 8×8
    spec = ModelSpec("vgg19", 3, 32, 10, (6,))
    assert next(r for r in layer_costs(spec) if r.name == "block 6").out_shape == (256, 8, 8)


def test_residual_shortcut_is_a_biased_1x1_conv_even_when_shapes_match() -> None:
    model = build_model(ModelSpec("resnet18", 3, 32, 10, (1,)))
    block = model.blocks[0]
    assert block.shortcut.kernel_size == (1, 1) and block.shortcut.bias is not None
    assert block.conv1.bias is None  # BN follows


def test_width_multiplier_scales_channels() -> None:
    spec = ModelSpec("vgg11", 3, 32, 10, (3,), width=0.5)
    assert build_model(spec).block_channels == [32, 64, 128, 128, 256, 256, 256, 256]
