"""`?`: every key, generated from the bindings themselves (so it cannot drift), and what
bsf tui is."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

INTRO = """\
# bsf tui

Projects, their stages and runs. Runs are **detached processes**: quitting this
app or losing SSH stops nothing, and reopening it attaches to whatever is
running — also runs started with `bsf run`.
"""

OUTRO = """
Scrolling the run log up pauses following; `End` resumes it.
The same engine runs headless: `bsf run`, `bsf status`, `bsf ps`, `bsf logs -f`,
`bsf cancel`.

**Close this help:** {close}.
"""


def _sections(app: App) -> list[tuple[str, list[Binding | tuple[str, str]]]]:
    """Where each set of keys works, and the bindings that make them."""
    from ..widgets.alpha import AlphaPane
    from ..widgets.early_exit import ExitPane
    from ..widgets.energy import EnergyPane
    from ..widgets.overview import OverviewPane
    from ..widgets.runs import RunsPane
    from ..widgets.spikes import SpikesPane
    from ..widgets.tables import RowTable
    from .project import ProjectScreen
    from .projects import ProjectsScreen

    return [
        ("everywhere", [*app.BINDINGS, ("ctrl+p", "command palette")]),
        ("projects", [*ProjectsScreen.BINDINGS, *RowTable.BINDINGS]),
        ("project", ProjectScreen.BINDINGS),
        ("overview", OverviewPane.BINDINGS),
        ("runs", RunsPane.BINDINGS),
        ("α", AlphaPane.BINDINGS),
        ("energy", EnergyPane.BINDINGS),
        ("early exit", ExitPane.BINDINGS),
        ("spikes", SpikesPane.BINDINGS),
    ]


def _keys(app: App, binding: Binding) -> str:
    if binding.key_display:
        return f"`{binding.key_display}`"
    return "/".join(
        f"`{app.get_key_display(replace(binding, key=key.strip()))}`"
        for key in binding.key.split(",")
    )


def _entry(app: App, item: Binding | tuple[str, str]) -> str:
    if isinstance(item, tuple):
        return f"`{item[0]}` {item[1]}"
    text = item.tooltip or item.description
    return f"{_keys(app, item)} {text[:1].lower()}{text[1:]}"


def help_text(app: App) -> str:
    rows = ["| where | keys |", "|---|---|"]
    for where, bindings in _sections(app):
        rows.append(f"| {where} | {' · '.join(_entry(app, b) for b in bindings)} |")
    close = _keys(app, HelpScreen.BINDINGS[0])
    return INTRO + "\n" + "\n".join(rows) + "\n" + OUTRO.format(close=close)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Markdown(help_text(self.app))
