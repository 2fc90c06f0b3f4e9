"""Stage `convert`: fold BatchNorm and normalise weights for rate-coded IF neurons.

Robust normalisation (Rueckauer et al. 2017): λ_l is the `percentile` of layer
l's ANN activations on calibration images; W_l ← W_l·λ_{l−1}/λ_l, b_l ← b_l/λ_l
(λ_0 = 1). In a residual block conv1 maps λ_prev→λ_mid, conv2 λ_mid→λ_out and
the shortcut λ_prev→λ_out. A head's linear layer maps λ of the block it reads
to λ of its own logits. Because ReLU is positively homogeneous, every
activation of the normalised network equals the original's divided by its λ,
so its logits are the original's divided by the head's λ.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from . import atomic, layout
from .data import iterate_batches, load_datasets
from .devices import resolve_device
from .errors import ArtifactExistsError
from .evaluate import head_accuracies
from .events import Events
from .models.net import ConvBlock, MultiExitNet, ResidualBlock, build_model
from .models.spec import ModelSpec
from .models.walk import feature_layers, head_layers
from .percentile import StreamingPercentile
from .project import Project
from .stages import CONVERT
from .train import load_ann


def fold_conv_bn(conv: nn.Conv2d, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of one conv equivalent to conv → BN in eval mode."""
    weight = conv.weight.detach().double()
    bias = (
        conv.bias.detach().double()
        if conv.bias is not None
        else torch.zeros(conv.out_channels, dtype=torch.float64, device=weight.device)
    )
    if not isinstance(bn, nn.BatchNorm2d):
        return weight.float(), bias.float()
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    weight = weight * scale.view(-1, 1, 1, 1)
    bias = (bias - bn.running_mean.double()) * scale + bn.bias.detach().double()
    return weight.float(), bias.float()


def fold_batchnorm(model: MultiExitNet) -> MultiExitNet:
    """A network without BatchNorm computing what `model` computes in eval mode."""
    spec = ModelSpec.from_dict({**model.spec.to_dict(), "batchnorm": False})
    folded = build_model(spec).to(next(model.parameters()).device)
    pairs = [(model.layer(layer), folded.layer(layer)) for layer in feature_layers(spec)]
    with torch.no_grad():
        for src, dst in pairs:
            if isinstance(src, ConvBlock):
                w, b = fold_conv_bn(src.conv, src.bn)
                dst.conv.weight.copy_(w)
                dst.conv.bias.copy_(b)
            else:
                for conv, bn, out in (
                    (src.conv1, src.bn1, dst.conv1),
                    (src.conv2, src.bn2, dst.conv2),
                ):
                    w, b = fold_conv_bn(conv, bn)
                    out.weight.copy_(w)
                    out.bias.copy_(b)
                dst.shortcut.load_state_dict(src.shortcut.state_dict())
        folded.heads.load_state_dict(model.heads.state_dict())
    return folded.eval()


@torch.no_grad()
def measure_scales(model: MultiExitNet, batches, count: int, percentile: float) -> dict[str, float]:
    """λ per layer: the percentile of its activations over `count` calibration images."""
    trackers: dict[str, StreamingPercentile] = {}
    for x, _ in batches:
        for name, act in model.activations(x).items():
            if name not in trackers:
                per_image = act[0].numel()
                trackers[name] = StreamingPercentile(percentile, per_image * count)
            trackers[name].update(act)
    scales = {}
    for name, tracker in trackers.items():
        scales[name] = tracker.value()
    return scales


def _safe(scale: float) -> float:
    # A silent layer (λ = 0) would divide by zero; any positive λ is exact for it.
    return scale if scale > 0 else 1.0


@torch.no_grad()
def normalise(folded: MultiExitNet, scales: dict[str, float]) -> MultiExitNet:
    """Scale a BN-free network's weights by the per-layer λ (see module docstring)."""
    net = build_model(folded.spec).to(next(folded.parameters()).device)
    net.load_state_dict(folded.state_dict())
    lam = {name: _safe(value) for name, value in scales.items()}

    def scale(layer: nn.Module, prev: float, own: float) -> None:
        layer.weight.mul_(prev / own)
        layer.bias.div_(own)

    prev = 1.0
    block_scale: dict[int, float] = {}
    for layer in feature_layers(net.spec):
        module = net.layer(layer)
        out = lam[layer.name]
        if isinstance(module, ResidualBlock):
            mid = lam[layer.mid]
            scale(module.conv1, prev, mid)
            scale(module.conv2, mid, out)
            scale(module.shortcut, prev, out)
        else:
            scale(module.conv, prev, out)
        block_scale[layer.index] = out
        prev = out
    for head in head_layers(net.spec):
        scale(net.heads[head.name].fc, block_scale[head.block], lam[head.output])
    return net.eval()


def _up_to_date(project: Project, force: bool) -> dict[str, Any] | None:
    paths = project.layout
    if force or not paths.snn_pt.is_file():
        return None
    if not CONVERT.is_current(project) or not paths.ann_pt.is_file():
        return None
    meta = layout.read_json(paths.snn_json)
    if meta.get("inputs", {}) != CONVERT.input_digests(paths):
        return None  # the ANN was retrained since
    return meta


def _refuse_to_replace(project: Project, force: bool) -> None:
    paths = project.layout
    if not force and (paths.snn_pt.is_file() or paths.snn_json.is_file()):
        raise ArtifactExistsError(
            f"{paths.snn_pt}: made from a different [convert] config or ANN; pass --force to "
            "reconvert and replace it"
        )


@torch.no_grad()
def _max_logit_error(original, normalised, scales, batches) -> float:
    """Largest |normalised logit · λ_head − original logit|, relative to the logits' range."""
    worst = 0.0
    heads = head_layers(original.spec)
    for x, _ in batches:
        for head, a, b in zip(heads, original(x), normalised(x)):
            lam = _safe(scales[head.output])
            err = (b * lam - a).abs().max().item() / max(a.abs().max().item(), 1e-12)
            worst = max(worst, err)
    return worst


def run(project: Project, events: Events | None = None, *, force: bool = False) -> dict[str, Any]:
    """Convert the trained ANN into snn.pt / snn.json; returns what snn.json holds."""
    events = events or Events()
    cfg = project.config
    done = _up_to_date(project, force)
    if done is not None:
        events.log(f"{project.layout.snn_pt} is up to date (use --force to reconvert)")
        return done
    device = resolve_device(cfg.convert.device, "[convert] device")
    ann, ann_meta = load_ann(project, device)
    _refuse_to_replace(project, force)
    data = load_datasets(cfg)
    project.require_same_split(data.plan.digest(), ann_meta)
    began = time.perf_counter()
    folded = fold_batchnorm(ann)
    source = data.split(cfg.convert.calibration_split)
    count = min(cfg.convert.calibration_samples, len(source))
    order = torch.randperm(len(source), generator=torch.Generator().manual_seed(cfg.train.seed))
    calibration = source.subset(order[:count].sort().values, "calibration")
    bs = cfg.data.eval_batch_size

    def calib_batches():
        return iterate_batches(
            calibration, bs, data.norm, device=device, num_workers=cfg.data.num_workers
        )

    events.progress("calibrate", 0, count, "image")
    scales = measure_scales(
        folded, _counted(calib_batches(), events, count), count, cfg.convert.percentile
    )
    silent = [name for name, value in scales.items() if value <= 0]
    for name in silent:
        events.log(f"{name} is silent on the calibration images (λ = 0); using λ = 1", "warning")
    snn = normalise(folded, scales)
    events.checkpoint()
    workers = cfg.data.num_workers
    accuracy = {
        "original": head_accuracies(ann, data.tune, data.norm, bs, device, workers),
        "folded": head_accuracies(folded, data.tune, data.norm, bs, device, workers),
        "normalised": head_accuracies(snn, data.tune, data.norm, bs, device, workers),
    }
    error = _max_logit_error(ann, snn, scales, calib_batches())
    paths = project.layout
    stamp = CONVERT.stamp(cfg)
    summary = {
        "stamp": stamp,
        "inputs": CONVERT.input_digests(paths),
        "spec": snn.spec.to_dict(),
        "heads": list(snn.head_names),
        "percentile": cfg.convert.percentile,
        "calibration": {"split": cfg.convert.calibration_split, "samples": count},
        "scales": scales,
        "silent_layers": silent,
        "accuracy_split": "tune",
        "accuracy": accuracy,
        "max_relative_logit_error": error,
        "convert_seconds": round(time.perf_counter() - began, 2),
    }
    state = {k: v.detach().cpu() for k, v in snn.state_dict().items()}
    atomic.save_torch(
        paths.snn_pt,
        {
            "spec": snn.spec.to_dict(),
            "state_dict": state,
            "scales": {k: _safe(v) for k, v in scales.items()},
            "heads": list(snn.head_names),
            "normalisation": ann_meta["normalisation"],
            "classes": ann_meta["classes"],
            "stamp": stamp,
        },
    )
    atomic.write_json(paths.snn_json, summary)
    events.artifact(str(paths.snn_pt), "snn")
    events.artifact(str(paths.snn_json), "snn-metrics")
    for kind, accs in accuracy.items():
        for head, acc in accs.items():
            events.metric(f"tune_acc/{kind}/{head}", acc)
    return summary


def _counted(batches, events: Events, total: int):
    done = 0
    for x, y in batches:
        yield x, y
        done += len(y)
        events.progress("calibrate", done, total, "image")
