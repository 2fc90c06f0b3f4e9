"""A whole split's final and IC spikes in memory, read as cumulative counts block by block.

α tuning needs, for every step, the counts of all samples of the split together
(one pass over the distinct (M, K) pairs of the whole split, not one per batch).
The spikes are held bit-packed along time (T·S·K/4 bytes for two heads: 75 MB at
10,000 samples × 3,000 steps × 10 classes) and unpacked one time block at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ..errors import DataError
from .source import SpikeSource

BITS = 8


class SplitCounts:
    """Labels, batch of each sample, and two heads' spikes bit-packed along time."""

    def __init__(self, source: SpikeSource, heads: tuple[str, str], on_batch=None) -> None:
        """Read every batch of `source`; `on_batch(done)` after each (for progress)."""
        labels, groups = [], []
        packed: dict[str, list[np.ndarray]] = {head: [] for head in heads}
        for index, batch in enumerate(source):
            labels.append(np.asarray(batch.labels, dtype=np.int64))
            groups.append(np.full(batch.size, index, dtype=np.int64))
            for head in heads:
                packed[head].append(_packed(batch, head))
            if on_batch is not None:
                on_batch(index + 1)
        if not labels:
            raise DataError(f"{source.folder}: no samples")
        self.heads = heads
        self.timesteps = int(source.timesteps)
        self.labels = np.concatenate(labels)
        self.groups = np.concatenate(groups)  # index of each sample's batch
        self.num_groups = len(labels)
        self.packed = {head: np.concatenate(parts) for head, parts in packed.items()}

    @property
    def samples(self) -> int:
        return int(self.labels.shape[0])

    def blocks(self, size: int = 64) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (t0, M, K): cumulative counts of both heads for steps t0 … t0+tb−1.

        [tb, S, K], int16 (int32 from T = 2¹⁵).
        """
        size = max(BITS, size - size % BITS)
        torch_dtype = torch.int16 if self.timesteps < 2**15 else torch.int32
        running = {head: None for head in self.heads}
        for start in range(0, self.timesteps, size):
            stop = min(start + size, self.timesteps)
            out = []
            for head in self.heads:
                bits = np.unpackbits(
                    self.packed[head][..., start // BITS : -(-stop // BITS)], axis=-1
                )[..., : stop - start]  # [S, K, tb]
                # time-major and contiguous first: a cumsum along a strided axis is slow
                major = torch.from_numpy(bits).permute(2, 0, 1).contiguous()
                chunk = torch.cumsum(major, dim=0, dtype=torch_dtype).numpy()
                if running[head] is not None:
                    chunk += running[head]
                running[head] = chunk[-1].copy()
                out.append(chunk)
            yield start, out[0], out[1]


def _packed(batch, head: str) -> np.ndarray:
    """uint8 [B, K, ⌈T/8⌉], whatever layout the batch holds."""
    if head in batch.packed:
        return batch.packed[head]
    spikes = batch.head(head)  # bool [T, B, K]
    return np.packbits(np.moveaxis(spikes, 0, -1), axis=-1)
