"""The vocabularies every layer shares: stage states, run states, numerics, energy models.

They are `StrEnum`s: a member equals its string (`StageState.DONE == "done"`), so
artifacts and run folders keep plain strings in their JSON, and the enums are the one
place that lists which strings there are.
"""

from __future__ import annotations

import enum
import sys

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover

    class StrEnum(str, enum.Enum):
        def __str__(self) -> str:
            return str(self.value)


class StageState(StrEnum):
    """What a stage's result is, from its artifacts (the first five) or from the run
    that last touched it (the rest)."""

    DONE = "done"
    STALE = "stale"
    PARTIAL = "partial"
    CORRUPT = "corrupt"
    MISSING = "missing"
    RUNNING = "running"
    FAILED = "failed"
    LOST = "lost"
    CANCELLED = "cancelled"


class RunState(StrEnum):
    """A run's state; `lost` is a live state whose process is gone."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def live(self) -> bool:
        return self in (RunState.QUEUED, RunState.RUNNING)

    @classmethod
    def of(cls, value: object) -> RunState:
        """The state a run.json records (an unknown or missing one reads as failed)."""
        try:
            return cls(value)
        except ValueError:
            return cls.FAILED


class Numerics(StrEnum):
    """`exact`: the mathematically right numbers; `reference`: the authors' procedure."""

    EXACT = "exact"
    REFERENCE = "reference"


class EnergyModel(StrEnum):
    """How the report costs a timestep: `spikesim` from layer shapes, `syops` from the
    recorded spike counts. Energies from different models do not compare."""

    SPIKESIM = "spikesim"
    SYOPS = "syops"

    @property
    def label(self) -> str:
        return ENERGY_MODEL_LABELS[self]


ENERGY_MODEL_LABELS = {EnergyModel.SPIKESIM: "SpikeSim", EnergyModel.SYOPS: "SyOPs"}


def choices(enum_type: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


class Method(StrEnum):
    """What the report compares: each head alone and the fusion with either α(t)."""

    FINAL = "final"
    IC = "ic"
    BSF_GRID = "bsf_grid"
    BSF_EMP = "bsf_emp"

    @property
    def label(self) -> str:
        return METHOD_LABELS[self]


METHOD_LABELS = {
    Method.FINAL: "final only",
    Method.IC: "IC only",
    Method.BSF_GRID: "BSF grid",
    Method.BSF_EMP: "BSF emp",
}


class ExitPolicy(StrEnum):
    """The stopping policies of early exit (`bsf_engine.stopping` holds each one's rule)."""

    FIXED_FINAL = "fixed-final"
    FIXED_BSF = "fixed-bsf"
    CONFIDENCE = "confidence"
    ENTROPY = "entropy"
    POSTERIOR = "posterior"
    ORACLE = "oracle"

    @property
    def label(self) -> str:
        return EXIT_POLICY_LABELS[self]


EXIT_POLICY_LABELS = {
    ExitPolicy.FIXED_FINAL: "fixed t, final only",
    ExitPolicy.FIXED_BSF: "fixed t, BSF",
    ExitPolicy.CONFIDENCE: "confidence (SEENN-I)",
    ExitPolicy.ENTROPY: "entropy (DT-SNN)",
    ExitPolicy.POSTERIOR: "BSF posterior",
    ExitPolicy.ORACLE: "oracle (bound)",
}
