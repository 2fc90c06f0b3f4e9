"""BN folding and robust normalisation are exact; `bsf convert` end to end."""

from __future__ import annotations

import json

import pytest
import torch

from bsf_engine import convert, train
from bsf_engine.convert import fold_batchnorm, measure_scales, normalise
from bsf_engine.models.net import build_model
from bsf_engine.models.spec import ModelSpec
from bsf_engine.project import Project
from bsf_engine.stages import CONVERT


def trained_like(spec: ModelSpec, seed: int = 0) -> torch.nn.Module:
    """A network whose BatchNorms hold non-trivial statistics and affine parameters."""
    torch.manual_seed(seed)
    model = build_model(spec)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, spec.in_channels, spec.image_size, spec.image_size) * 2 + 0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return model.eval().double()


SPECS = [
    ModelSpec("vgg11", 3, 16, 10, (2, 5), width=0.125),
    ModelSpec("resnet18", 3, 16, 10, (1, 4), width=0.125),
    ModelSpec("vggtiny", 1, 8, 10, (2,), width=0.5),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.arch)
def test_folding_batchnorm_changes_nothing(spec) -> None:
    model = trained_like(spec)
    folded = fold_batchnorm(model.float()).double()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(8, spec.in_channels, spec.image_size, spec.image_size, dtype=torch.float64)
    for a, b in zip(model.double()(x), folded(x)):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.arch)
def test_normalised_logits_are_the_original_divided_by_lambda(spec) -> None:
    model = trained_like(spec).float()
    folded = fold_batchnorm(model)
    x = torch.randn(32, spec.in_channels, spec.image_size, spec.image_size)
    scales = measure_scales(folded, [(x, None)], 32, 99.9)
    net = normalise(folded, scales)
    acts_orig = folded.activations(x)
    acts_norm = net.activations(x)
    for name, value in acts_orig.items():
        torch.testing.assert_close(acts_norm[name], value / scales[name], rtol=1e-4, atol=1e-5)
    for name, a, b in zip(net.head_names, model(x), net(x)):
        torch.testing.assert_close(b, a / scales[f"heads.{name}"], rtol=1e-4, atol=1e-5)
    # λ is the 99.9th percentile of each layer's activations
    for name, value in acts_orig.items():
        expected = torch.quantile(value.flatten().double(), 0.999).item()
        assert scales[name] == pytest.approx(expected, rel=1e-6)
    # after normalisation each layer's 99.9th percentile is 1
    for value in acts_norm.values():
        assert torch.quantile(value.flatten().double(), 0.999).item() == pytest.approx(1, rel=1e-4)


def test_residual_block_scales_follow_the_reference_rule() -> None:
    spec = ModelSpec("resnet18", 3, 8, 4, (0,), width=0.0625, batchnorm=False)
    folded = build_model(spec).eval()
    scales = {name: 2.0 + i for i, name in enumerate(folded.activations(torch.zeros(1, 3, 8, 8)))}
    net = normalise(folded, scales)
    block, orig = net.blocks[1], folded.blocks[1]
    prev, mid, out = scales["blocks.0"], scales["blocks.1.mid"], scales["blocks.1"]
    torch.testing.assert_close(block.conv1.weight, orig.conv1.weight * prev / mid)
    torch.testing.assert_close(block.conv2.weight, orig.conv2.weight * mid / out)
    torch.testing.assert_close(block.shortcut.weight, orig.shortcut.weight * prev / out)
    torch.testing.assert_close(block.shortcut.bias, orig.shortcut.bias / out)
    torch.testing.assert_close(net.stem.conv.weight, folded.stem.conv.weight / scales["stem"])
    head = net.heads["ic0"].fc
    torch.testing.assert_close(
        head.weight, folded.heads["ic0"].fc.weight * scales["blocks.0"] / scales["heads.ic0"]
    )


def test_convert_stage_end_to_end(make_project) -> None:
    project = Project.open(make_project())
    train.run(project)
    summary = convert.run(project)
    saved = torch.load(project.layout.snn_pt, weights_only=False)
    assert saved["spec"]["batchnorm"] is False
    assert set(saved["scales"]) == {
        "blocks.0",
        "blocks.1",
        "blocks.2",
        "blocks.3",
        "blocks.4",
        "blocks.5",
        "heads.ic2",
        "heads.final",
    }
    on_disk = json.loads(project.layout.snn_json.read_text())
    assert on_disk["accuracy"]["folded"] == on_disk["accuracy"]["original"]
    assert on_disk["accuracy"]["normalised"] == on_disk["accuracy"]["original"]
    assert summary["max_relative_logit_error"] < 1e-5
    assert on_disk["stamp"]["config_hash"] == CONVERT.config_hash(project.config)
    # the saved SNN weights rebuild a network that computes the normalised logits
    net = build_model(ModelSpec.from_dict(saved["spec"]))
    net.load_state_dict(saved["state_dict"])
    ann, _ = train.load_ann(project)
    x = torch.randn(4, 1, 8, 8)
    for name, a, b in zip(net.head_names, ann(x), net.eval()(x)):
        torch.testing.assert_close(b * saved["scales"][f"heads.{name}"], a, rtol=1e-4, atol=1e-4)


def test_a_retrained_ann_makes_the_snn_stale(make_project) -> None:
    from bsf_engine.errors import ArtifactExistsError
    from bsf_engine.events import RecordingEvents

    project = Project.open(make_project())
    train.run(project)
    convert.run(project)
    events = RecordingEvents()
    convert.run(project, events)
    assert "up to date" in events.of_kind("log")[0]["message"]
    # a retrained ANN (same config, other bytes: here only its timestamp differs)
    saved = torch.load(project.layout.ann_pt, weights_only=False)
    saved["stamp"]["created"] = "later"
    torch.save(saved, project.layout.ann_pt)
    before = project.layout.snn_pt.read_bytes()
    with pytest.raises(ArtifactExistsError, match="different \\[convert\\] config or ANN"):
        convert.run(project)
    assert project.layout.snn_pt.read_bytes() == before
    convert.run(project, force=True)
    assert json.loads(project.layout.snn_json.read_text())["inputs"]["ann.pt"] != ""
    events = RecordingEvents()
    convert.run(project, events)
    assert "up to date" in events.of_kind("log")[0]["message"]
