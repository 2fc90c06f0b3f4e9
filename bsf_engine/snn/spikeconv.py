"""Convolutions of 0/1 spike maps with exact integer accumulation (CPU).

A spike map is binary, so conv(s, W) is a sum of selected weights. Writing each
output channel's weights as three signed 8-bit digits,
    W = scale·(d0 + d1/254 + d2/254²),   scale = max|W|/127,
represents them to within 2⁻²⁴·max|W| (the precision of float32's significand
for that channel's largest weight), and each digit's convolution accumulates
exactly in int32. oneDNN runs these u8×s8 convolutions with float32 output on
VNNI/AMX units several times faster than a float32 convolution, so three of
them cost less than one. Results equal a float32 convolution to a few ulps; the
simulator checks every layer against one when it is built and falls back to
float32 where the backend is missing or disagrees.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

BASE = 254.0


def available() -> bool:
    return hasattr(torch.ops, "onednn") and hasattr(torch.ops.onednn, "qconv2d_pointwise")


class IntegerSpikeConv:
    """Callable: uint8 0/1 spikes [N, C, H, W] (channels_last) → float32 currents."""

    def __init__(self, conv: nn.Conv2d) -> None:
        weight = conv.weight.detach().to("cpu", torch.float64)
        self.stride = list(conv.stride)
        self.padding = list(conv.padding)
        self.dilation = list(conv.dilation)
        self.groups = conv.groups
        out_channels = weight.shape[0]
        peak = weight.abs().amax(dim=(1, 2, 3)).clamp_min(1e-30)
        scale = peak / 127.0
        rest = weight / scale.view(-1, 1, 1, 1)
        self.digits = []
        for k in range(3):
            digit = torch.round(rest)
            rest = (rest - digit) * BASE
            digit_scale = (scale / BASE**k).float()
            packed = torch.ops.onednn.qconv_prepack(
                digit.to(torch.int8),
                digit_scale,
                1.0,
                0,
                self.stride,
                self.padding,
                self.dilation,
                self.groups,
                None,
            )
            self.digits.append((packed, digit_scale))
        self.zero_points = torch.zeros(out_channels, dtype=torch.int64)
        self.bias = conv.bias.detach().float().cpu() if conv.bias is not None else None

    def _digit(self, x: Tensor, k: int, bias: Tensor | None) -> Tensor:
        packed, scale = self.digits[k]
        return torch.ops.onednn.qconv2d_pointwise(
            x,
            1.0,
            0,
            packed,
            scale,
            self.zero_points,
            bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            1.0,
            0,
            torch.float32,
            "none",
            [],
            "",
        )

    def __call__(self, x: Tensor) -> Tensor:
        # smallest digit first: each partial sum is exact in int32 until it is scaled
        out = self._digit(x, 2, None)
        out.add_(self._digit(x, 1, None))
        out.add_(self._digit(x, 0, self.bias))
        return out


def integer_conv(conv: nn.Conv2d, probe_shape: tuple[int, ...]) -> IntegerSpikeConv | None:
    """An IntegerSpikeConv for `conv` if the backend runs and matches float32 here, else None."""
    if not available():
        return None
    try:
        fast = IntegerSpikeConv(conv)
        gen = torch.Generator().manual_seed(0)
        spikes = torch.rand(probe_shape, generator=gen) < 0.2
        reference = nn.functional.conv2d(
            spikes.double(),
            conv.weight.detach().double().cpu(),
            None if conv.bias is None else conv.bias.detach().double().cpu(),
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
        )
        got = fast(spikes.to(torch.uint8).contiguous(memory_format=torch.channels_last))
    except (RuntimeError, NotImplementedError):
        return None
    tolerance = 1e-5 * max(reference.abs().max().item(), 1e-12)
    if got.shape != reference.shape or (got.double() - reference).abs().max().item() > tolerance:
        return None
    return fast
