"""Parameters, MACs and output shapes per block, computed from the architecture table."""

from __future__ import annotations

from dataclasses import dataclass

from .spec import ModelSpec
from .walk import feature_layers, head_layers


@dataclass(frozen=True)
class LayerCost:
    name: str  # "stem", "block 3", "head ic6", "head final"
    kind: str  # "conv", "residual", "head"
    out_shape: tuple[int, ...]  # (C, H, W) or (classes,)
    params: int
    macs: int  # multiply-accumulates per image (convs and linear; pooling adds not counted)
    ics: tuple[str, ...] = ()  # the IC heads that read this layer


def _conv(c_in: int, c_out: int, k: int, h_out: int, w_out: int, bias: bool) -> tuple[int, int]:
    params = c_out * c_in * k * k + (c_out if bias else 0)
    return params, c_out * c_in * k * k * h_out * w_out


def layer_costs(spec: ModelSpec) -> list[LayerCost]:
    bn = spec.batchnorm
    bn_params = (lambda c: 2 * c) if bn else (lambda c: 0)
    rows: list[LayerCost] = []
    features = feature_layers(spec)
    for layer in features:
        c_in, c, out = layer.in_channels, layer.channels, layer.size
        if layer.kind == "residual":
            p1, m1 = _conv(c_in, c, 3, out, out, not bn)
            p2, m2 = _conv(c, c, 3, out, out, not bn)
            p3, m3 = _conv(c_in, c, 1, out, out, True)
            params, macs, kind = p1 + p2 + p3 + 2 * bn_params(c), m1 + m2 + m3, "residual"
        else:
            params, macs = _conv(c_in, c, 3, out, out, not bn)
            params, kind = params + bn_params(c), "conv"
        rows.append(LayerCost(layer.label, kind, layer.shape, params, macs, layer.ics))
    k = spec.num_classes
    for head in head_layers(spec, features):
        c = head.channels
        rows.append(LayerCost(head.label, "head", (k,), c * k + k, c * k))
    return rows


def feature_macs(spec: ModelSpec) -> list[int]:
    """MACs of the stem (if any) and every block, in order."""
    return [row.macs for row in layer_costs(spec) if row.kind != "head"]


def ic_mac_fraction(spec: ModelSpec, ic: int) -> float:
    """Share of feature-extractor conv MACs spent up to and including block `ic`.

    This is the Shallow-Deep Networks goal for the IC loss weight (0.479 for
    VGG19 with the IC at block 6 on 32×32 inputs).
    """
    macs = feature_macs(spec)
    offset = 1 if spec.archdef.stem is not None else 0
    return sum(macs[: offset + ic + 1]) / sum(macs)
