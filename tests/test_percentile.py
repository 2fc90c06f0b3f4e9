from __future__ import annotations

import numpy as np
import pytest
import torch

from bsf_engine.percentile import StreamingPercentile


@pytest.mark.parametrize("q", [99.9, 99.0, 50.0, 100.0, 0.0, 37.3])
def test_streaming_percentile_equals_numpy(q: float) -> None:
    rng = np.random.default_rng(1)
    values = rng.standard_normal(10_007).astype(np.float32)
    tracker = StreamingPercentile(q, values.size)
    for chunk in np.array_split(values, 13):
        tracker.update(torch.from_numpy(chunk))
    assert tracker.value() == pytest.approx(np.percentile(values.astype(np.float64), q), rel=1e-12)


def test_more_than_torch_quantile_can_take() -> None:
    # torch.quantile refuses inputs above 2^24 elements; this is 2^24 + 3 values
    n = 2**24 + 3
    gen = torch.Generator().manual_seed(0)
    values = torch.rand(n, generator=gen)
    tracker = StreamingPercentile(99.9, n)
    for chunk in values.split(1 << 21):
        tracker.update(chunk)
    expected = np.percentile(values.numpy().astype(np.float64), 99.9)
    assert tracker.value() == pytest.approx(expected, rel=1e-12)


def test_feeding_the_wrong_count_is_an_error() -> None:
    tracker = StreamingPercentile(99.0, 10)
    tracker.update(torch.ones(5))
    with pytest.raises(ValueError):
        tracker.value()
    with pytest.raises(ValueError):
        tracker.update(torch.ones(6))
