"""One project, in tabs: overview, runs, α, energy–accuracy, early exit, spikes."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from bsf_engine import views

from ..widgets.alpha import AlphaPane
from ..widgets.early_exit import ExitPane
from ..widgets.energy import EnergyPane
from ..widgets.overview import OverviewPane
from ..widgets.runs import RunsPane
from ..widgets.spikes import SpikesPane

NARROW = 100
ARTIFACTS_POLL = 1.0
TABS = {
    "overview": "Overview",
    "runs": "Runs",
    "alpha": "α",
    "energy": "Energy–accuracy",
    "exit": "Early exit",
    "spikes": "Spikes",
}
TAB_KEYS = Binding.Group("Tabs", compact=True)  # one footer entry, `123456 Tabs`


class ProjectScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="back to Projects", id="project.back"),
        *(
            Binding(str(n), f"tab('{tab}')", label, group=TAB_KEYS, id=f"project.tab.{tab}")
            for n, (tab, label) in enumerate(TABS.items(), start=1)
        ),
    ]

    def __init__(self, folder: Path, tab: str = "overview") -> None:
        super().__init__()
        self.folder = Path(folder)
        self.initial = tab
        self.sub_title = str(self.folder)
        self.stamps: dict[str, tuple[int, int] | None] | None = None

    @property
    def title_text(self) -> str:
        return self.folder.name

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial=self.initial):
            with TabPane(TABS["overview"], id="overview"):
                yield OverviewPane(self.folder)
            with TabPane(TABS["runs"], id="runs"):
                yield RunsPane(self.folder)
            with TabPane(TABS["alpha"], id="alpha"):
                yield AlphaPane(self.folder)
            with TabPane(TABS["energy"], id="energy"):
                yield EnergyPane(self.folder)
            with TabPane(TABS["exit"], id="exit"):
                yield ExitPane(self.folder)
            with TabPane(TABS["spikes"], id="spikes"):
                yield SpikesPane(self.folder)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"bsf · {self.folder.name}"
        self.set_interval(ARTIFACTS_POLL, self.check_artifacts)

    # what a run writes shows in every tab, without reopening the project -----------------
    @work(thread=True, exclusive=True, group="artifacts", exit_on_error=False)
    def check_artifacts(self) -> None:
        stamps = views.artifact_stamps(self.folder)
        self.app.call_from_thread(self._artifacts_read, stamps)

    def _artifacts_read(self, stamps: dict[str, tuple[int, int] | None]) -> None:
        old, self.stamps = self.stamps, stamps
        if old is None:
            return  # the panes loaded these themselves when they mounted
        changed = {key for key in stamps if stamps[key] != old.get(key)}
        if changed:
            self.reload(changed)

    def reload(self, changed: set[str] | None = None) -> None:
        """Reload the panes that show `changed` artifacts (None: every pane)."""
        panes = (AlphaPane, EnergyPane, ExitPane, SpikesPane)
        for pane in (widget for kind in panes for widget in self.query(kind)):
            if changed is None or changed & set(pane.shows):
                pane.load()
        if changed is None:
            self.query_one(OverviewPane).load()

    @on(RunsPane.RunEnded)
    def _run_ended(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "narrow")  # stack panes below 100 columns

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        # focus now, not on TabActivated: a key pressed right after (`2` then `r`) is
        # handled before that message, and would go to the pane left behind
        self._focus_pane(tabs.get_pane(tab))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # (a tab clicked.) Keys of the pane (shown in the footer) work once something
        # inside it has focus. Only for the tab active now: a tab key pressed while the
        # screen mounts leaves an older TabActivated queued, and focusing its pane makes
        # TabbedContent activate that pane again, whose focus activates the other: the
        # two would swap forever
        if event.pane.id == self.query_one(TabbedContent).active:
            self._focus_pane(event.pane)

    def _focus_pane(self, tab_pane: TabPane) -> None:
        focused = self.focused
        if focused is not None and tab_pane in focused.ancestors:
            return
        pane = tab_pane.children[0] if tab_pane.children else None
        if pane is None:
            return
        target = pane if pane.can_focus else next((w for w in pane.query("*") if w.can_focus), None)
        if target is not None:
            self.set_focus(target)  # at once (Widget.focus waits for a later callback)
