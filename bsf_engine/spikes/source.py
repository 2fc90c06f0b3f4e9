"""What every spike layout offers the readers (tuning, the report, inspect, the TUI):
bsf's split folders, a single batch file, and the authors' test and tuning folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from .batch import SpikeBatch


class SpikeSource(Protocol):
    """Batches of recorded spikes, read one at a time (never the whole split at once)."""

    kind: str  # "bsf", "bsf-batch", "reference-test", "reference-tune"
    folder: Path

    @property
    def timesteps(self) -> int: ...

    @property
    def heads(self) -> list[str]:
        """Head names: the IC head(s) and "final"."""
        ...

    @property
    def num_classes(self) -> int: ...

    @property
    def num_batches(self) -> int: ...

    @property
    def samples(self) -> int: ...

    @property
    def class_names(self) -> list[str]:
        """Names of the classes where the files record them (else empty)."""
        ...

    def batch(self, index: int) -> SpikeBatch: ...

    def __iter__(self) -> Iterator[SpikeBatch]: ...

    def labels(self) -> np.ndarray:
        """Labels of every sample, in batch order."""
        ...
