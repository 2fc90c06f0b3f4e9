"""What the Energy–accuracy and Early exit tabs share: `m` cycles the energy model and
`+`/`−` move the target, each followed by a reload of the pane's read-model."""

from __future__ import annotations

import numpy as np
from textual.binding import Binding

from bsf_engine.states import EnergyModel

MODELS = tuple(EnergyModel)
TARGET = Binding.Group("Target")  # one footer entry for + and −
TARGET_RANGE = (0.5, 1.0)  # fractions of the ANN's accuracy the keys move between


def retarget_bindings(prefix: str, *, show_model: bool = True) -> list[Binding]:
    """The keys, with ids under `prefix` (users remap them by id)."""
    return [
        Binding(
            "m", "model", "Model", show=show_model, tooltip="energy model", id=f"{prefix}.model"
        ),
        Binding("plus,equals_sign", "target(0.01)", "Target +1%", group=TARGET, id=f"{prefix}.up"),
        Binding("minus", "target(-0.01)", "Target −1%", group=TARGET, id=f"{prefix}.down"),
    ]


class Retargetable:
    """A pane whose read-model is made for an energy model and a target fraction: it keeps
    both (None: the artifact's own) and reloads through its `load()`."""

    model: str | None = None
    fraction: float | None = None

    def load(self) -> None:
        raise NotImplementedError

    def action_model(self) -> None:
        current = self.model or MODELS[0]
        self.model = MODELS[(MODELS.index(current) + 1) % len(MODELS)]
        self.load()

    def action_target(self, step: float) -> None:
        if self.fraction is None:
            return
        self.fraction = float(np.clip(round(self.fraction + step, 4), *TARGET_RANGE))
        self.load()
