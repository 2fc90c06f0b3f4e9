"""Command palette: open a project, run a stage, switch tab."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from bsf_engine import stages
from bsf_engine.layout import find_projects


class BsfCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        from .screens.project import TABS, ProjectScreen
        from .screens.projects import ProjectsScreen

        app = self.app
        out: list[tuple[str, object, str]] = []
        for folder in find_projects(app.projects_dir):
            out.append(
                (f"open project {folder.name}", partial(app.open_project, folder), str(folder))
            )
        # self.screen is the screen the palette was opened over (app.screen is the palette)
        screen = self.screen
        if isinstance(screen, ProjectScreen):
            for stage in stages.NAMES:
                out.append(
                    (
                        f"run stage {stage}",
                        partial(app.run_stage, screen.folder, stage),
                        "detached; only this stage",
                    )
                )
            out.append(
                (
                    "run the pipeline",
                    partial(app.run_stage, screen.folder, None),
                    "what is missing or stale",
                )
            )
            for tab, label in TABS.items():
                out.append((f"tab {label}", partial(screen.action_tab, tab), "switch tab"))
        elif isinstance(screen, ProjectsScreen):
            out.append(("new project", screen.action_new, "from a dataset template"))
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
