"""SVG snapshots of every screen and tab, on a project made from set values
(tests/handmade.py), so that they are the same on every machine.

Update them after an intended change with `pytest tests/tui --snapshot-update`,
and look at the report before committing.
"""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent

from bsf_tui.app import BsfApp
from bsf_tui.screens.project import ProjectScreen

from .conftest import FakeLauncher, add_finished_run


async def settle(pilot) -> None:
    """Let loaders (thread workers) finish and their results be drawn: until two looks at
    the screen, a beat apart, are the same (a busy machine only makes this take longer)."""
    previous = None
    for _ in range(25):
        await pilot.pause(0.2)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.2)
        shot = pilot.app.export_screenshot()
        if shot == previous:
            return
        previous = shot
    raise AssertionError("the screen kept changing")


def app_for(projects) -> BsfApp:
    add_finished_run(projects / "tiny")
    return BsfApp(projects, FakeLauncher())


def open_tab(key: str | None, tab: str = "overview"):
    async def run_before(pilot) -> None:
        await settle(pilot)
        table = pilot.app.screen.query_one("#projects")
        keys = [row.value for row in table.rows]
        table.move_cursor(row=next(i for i, k in enumerate(keys) if k.endswith("tiny")))
        await pilot.press("enter")
        # on a busy machine the screen can look settled before the project is pushed, and
        # a tab key pressed then goes to the projects screen
        for _ in range(100):
            if isinstance(pilot.app.screen, ProjectScreen):
                break
            await pilot.pause(0.1)
        await settle(pilot)
        if key:
            await pilot.press(key)
            await settle(pilot)
            assert pilot.app.screen.query_one(TabbedContent).active == tab, "the key was lost"

    return run_before


@pytest.mark.parametrize(
    ("tab", "key"),
    [
        ("overview", None),
        ("runs", "2"),
        ("alpha", "3"),
        ("energy", "4"),
        ("exit", "5"),
        ("spikes", "6"),
    ],
)
def test_project_tabs(snap_compare, handmade, pinned, tab, key) -> None:
    assert snap_compare(app_for(handmade), terminal_size=(140, 45), run_before=open_tab(key, tab))


@pytest.mark.parametrize(
    ("tab", "key"),
    [("overview", None), ("runs", "2"), ("energy", "4"), ("exit", "5"), ("spikes", "6")],
)
def test_project_tabs_at_80x24(snap_compare, handmade, pinned, tab, key) -> None:
    assert snap_compare(app_for(handmade), terminal_size=(80, 24), run_before=open_tab(key, tab))


def test_projects_screen(snap_compare, handmade, pinned) -> None:
    assert snap_compare(app_for(handmade), terminal_size=(140, 45), run_before=settle)


def test_projects_screen_at_80x24(snap_compare, handmade, pinned) -> None:
    assert snap_compare(app_for(handmade), terminal_size=(80, 24), run_before=settle)


def test_new_project_form_at_80x24(snap_compare, handmade, pinned) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("n")
        pilot.app.screen.query_one("#name").cursor_blink = False  # the same frame every time
        await settle(pilot)

    assert snap_compare(app_for(handmade), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare, handmade, pinned) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(app_for(handmade), terminal_size=(100, 34), run_before=run_before)


def test_compare_screen(snap_compare, handmade, pinned) -> None:
    import shutil

    shutil.copytree(handmade / "tiny", handmade / "tiny-copy")

    async def run_before(pilot) -> None:
        await settle(pilot)
        table = pilot.app.screen.query_one("#projects")
        for index, key in enumerate(row.value for row in table.rows):
            if "tiny" in key:
                table.move_cursor(row=index)
                await pilot.press("space")
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(app_for(handmade), terminal_size=(140, 45), run_before=run_before)
