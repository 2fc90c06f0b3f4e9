"""Pick one stage to run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList

from bsf_engine.pipeline import STAGES


class ChooseStage(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Back", id="choose.back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Run which stage? (it runs alone, detached)")
            yield OptionList(*STAGES, id="stages")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(STAGES[event.option_index])
