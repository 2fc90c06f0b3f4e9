"""Modal questions that screens and panes ask: yes/no, and which stage to run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList

from bsf_engine import stages


class Confirm(ModalScreen[bool]):
    """A yes/no question."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ChooseStage(ModalScreen[str | None]):
    """Pick one stage to run."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Back", id="choose.back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Run which stage? (it runs alone, detached)")
            yield OptionList(*stages.NAMES, id="stages")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(stages.NAMES[event.option_index])
