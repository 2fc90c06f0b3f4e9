"""Spikes of any folder: a split of a project, or one written by the authors' scripts."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Input, Label

from bsf_engine import views

from ..widgets.spikes import SpikesPane


class AskFolder(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="ask.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                "Spike folder to open: a split (…/spikes/test), or a folder of the "
                "reference scripts (snn_vgg19/ with output_<i>.npz, or train/)"
            )
            yield Input(placeholder="path", id="path")
            yield Label("", id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip()).expanduser()
        if not path.exists():
            self.query_one("#problem", Label).update(f"[red]{path}: no such folder[/red]")
            return
        self.dismiss(path)


class SpikesScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="spikes-screen.back")]

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        # a project's spikes/<split> opens as that project's (with its α, and `t`)
        self.source, self.split = views.spike_folder(folder)

    def compose(self) -> ComposeResult:
        yield Header()
        yield SpikesPane(self.source, self.split or "test")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"bsf · spikes · {self.folder}"
        self.query_one(SpikesPane).focus()
