"""One batch of recorded spikes, whatever file layout it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codec import unpack_head


@dataclass
class SpikeBatch:
    """Labels, every head's output spikes and (for bsf files) per-population counts.

    Heads are held packed ([B, K, ⌈T/8⌉]) or dense ([T, B, K]) and unpacked on demand.
    """

    labels: np.ndarray  # int64 [B]
    timesteps: int
    packed: dict[str, np.ndarray] = field(default_factory=dict)
    dense: dict[str, np.ndarray] = field(default_factory=dict)
    counts: np.ndarray | None = None  # int64 [T, L], summed over the batch
    indices: np.ndarray | None = None  # positions of the samples in their split

    @property
    def heads(self) -> list[str]:
        return list(self.packed) or list(self.dense)

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        if self.packed:
            return next(iter(self.packed.values())).shape[1]
        return next(iter(self.dense.values())).shape[2]

    def head(self, name: str) -> np.ndarray:
        """bool [T, B, K] spikes of one head."""
        if name in self.packed:
            return unpack_head(self.packed[name], self.timesteps)
        if name in self.dense:
            return self.dense[name].astype(bool, copy=False)
        raise KeyError(f"no head {name!r} (heads: {', '.join(self.heads)})")

    def cumulative(self, name: str) -> np.ndarray:
        """int32 [T, B, K]: spikes of each output neuron in steps 0..t (inclusive)."""
        return np.cumsum(self.head(name), axis=0, dtype=np.int32)

    def cumulative_blocks(self, name: str, block: int = 256):
        """Yield (t0, int32 [tb, B, K]): cumulative counts of steps t0 … t0+tb−1, block by block.

        Memory stays O(block · B · K) whatever T is.
        """
        spikes = self.head(name)
        running = np.zeros(spikes.shape[1:], dtype=np.int32)
        for start in range(0, self.timesteps, block):
            chunk = np.cumsum(spikes[start : start + block], axis=0, dtype=np.int32)
            chunk += running
            running = chunk[-1].copy()
            yield start, chunk

    def counts_at(self, name: str, t: int) -> np.ndarray:
        """int32 [B, K]: spikes in the first t steps (t = 0 … T)."""
        if not 0 <= t <= self.timesteps:
            raise ValueError(f"t = {t} is outside 0..{self.timesteps}")
        if name in self.packed and t % 8 == 0:
            # whole bytes: count bits without unpacking the rest of the train
            packed = self.packed[name][..., : t // 8]
            return np.unpackbits(packed, axis=-1).sum(axis=-1, dtype=np.int32)
        return self.head(name)[:t].sum(axis=0, dtype=np.int32)
