"""The bsf terminal UI."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from .commands import BsfCommands
from .launcher import EngineLauncher, Launcher


class BsfApp(App):
    CSS_PATH = "bsf.tcss"
    TITLE = "bsf"
    COMMANDS = App.COMMANDS | {BsfCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(
        self, projects_dir: Path = Path("projects"), launcher: Launcher | None = None
    ) -> None:
        super().__init__()
        self.projects_dir = Path(projects_dir)
        self.launcher: Launcher = launcher or EngineLauncher()

    def on_mount(self) -> None:
        from .screens.projects import ProjectsScreen

        self.sub_title = str(self.projects_dir)
        self.push_screen(ProjectsScreen(self.projects_dir))

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def open_project(self, folder: Path, tab: str = "overview") -> None:
        """Open a project right above the projects list, replacing any project (or other
        screen) open there, so that Esc always leads back to Projects."""
        from .screens.project import ProjectScreen
        from .screens.projects import ProjectsScreen

        if any(isinstance(s, ProjectsScreen) for s in self.screen_stack):
            while not isinstance(self.screen_stack[-1], ProjectsScreen):
                self.pop_screen()
        self.push_screen(ProjectScreen(folder, tab))

    def run_stage(self, folder: Path, stage: str | None) -> None:
        from bsf_engine.errors import BsfError

        try:
            run_id = self.launcher.launch(folder, stage, stage)
        except BsfError as exc:
            self.notify(exc.problems[0], severity="error", title="not started")
            return
        self.notify(f"started run {run_id}", title=folder.name)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A loader that failed shows its error instead of vanishing."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = getattr(error, "problems", [str(error)])[0]
            self.notify(
                f"{error.__class__.__name__}: {message}",
                severity="error",
                title=event.worker.group or "error",
            )
