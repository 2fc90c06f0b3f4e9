"""`?`: every key of the screen underneath, and what bsf tui is."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

TEXT = """\
# bsf tui

Projects, their stages and runs. Runs are **detached processes**: quitting this
app or losing SSH stops nothing, and reopening it attaches to whatever is
running — also runs started with `bsf run`.

| where | keys |
|---|---|
| everywhere | `?` help · `ctrl+p` command palette · `q` quit |
| projects | `enter` open · `n` new · `space` mark · `c` compare marked · `o` spikes of any folder |
| project | `1`–`5` tabs · `escape` back (scrolling the log up pauses following) |
| overview | `e` edit project.toml in `$EDITOR` |
| runs | `r` run the pipeline · `s` one stage · `x` cancel (asks) · `f`/`End` follow the log |
| α | `←`/`→` move t (`shift` ×100) · `l` log-x |
| energy | `m` energy model · `+`/`−` target |
| spikes | `j`/`k` sample · `w` next misclassified · `b`/`B` batch · `t` tune/test split |

The same engine runs headless: `bsf run`, `bsf status`, `bsf ps`, `bsf logs -f`,
`bsf cancel`.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Markdown(TEXT)
