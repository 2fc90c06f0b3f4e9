"""A new project from a dataset template (what `bsf new` writes)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from bsf_engine.config.template import PRESETS
from bsf_engine.errors import BsfError
from bsf_engine.models.archs import ARCHS


class NewProjectScreen(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="new.cancel")]

    def __init__(self, projects_dir: Path) -> None:
        super().__init__()
        self.projects_dir = Path(projects_dir)

    def compose(self) -> ComposeResult:
        # compact fields (one row each, labelled) and a scrolling box: the whole form,
        # buttons included, fits in 24 rows
        with VerticalScroll(classes="dialog form"):
            yield Label("[b]New project[/b] (a commented project.toml from the template)")
            yield Label("name")
            yield Input(placeholder=f"a folder under {self.projects_dir}", id="name", compact=True)
            yield Label("dataset")
            yield Select(
                [(d, d) for d in PRESETS],
                value="digits",
                id="dataset",
                allow_blank=False,
                compact=True,
            )
            yield Label("architecture")
            yield Select(
                [("(the dataset's default)", "")] + [(a, a) for a in ARCHS],
                value="",
                id="arch",
                allow_blank=False,
                compact=True,
            )
            yield Label("IC block(s)")
            yield Input(placeholder="e.g. 6 or 3 5 (optional)", id="ic", compact=True)
            yield Label("dataset root")
            yield Input(placeholder="(optional)", id="root", compact=True)
            yield Label("", id="problem")
            with Horizontal(classes="buttons"):
                yield Button("Create", id="create", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()  # not the scrolling box: typing names it

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        self.create()

    def on_input_submitted(self) -> None:
        self.create()

    def create(self) -> None:
        from bsf_engine.project import create_project

        name = self.query_one("#name", Input).value.strip()
        problem = self.query_one("#problem", Label)
        if not name or "/" in name:
            problem.update("[red]a name, without '/'[/red]")
            return
        ic_text = self.query_one("#ic", Input).value.split()
        try:
            ic = [int(v) for v in ic_text]
        except ValueError:
            problem.update("[red]IC blocks are whole numbers[/red]")
            return
        arch = self.query_one("#arch", Select).value or None
        root = self.query_one("#root", Input).value.strip() or None
        try:
            create_project(
                self.projects_dir / name,
                str(self.query_one("#dataset", Select).value),
                arch,
                ic,
                root,
            )
        except BsfError as exc:
            problem.update(f"[red]{exc.problems[0]}[/red]")
            return
        self.dismiss(self.projects_dir / name)
