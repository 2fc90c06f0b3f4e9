"""The TUI at 80×24: what fits, what wraps, tables whose cells grow, keys that go where
they say. Flows with Pilot on the hand-made project (tests/handmade.py)."""

from __future__ import annotations

import json
import sys

from textual.command import CommandList, CommandPalette
from textual.widgets import Button, DataTable, Label, Markdown, Static
from textual.widgets._footer import FooterKey
from textual_plotext import PlotextPlot

from bsf_tui.app import BsfApp
from bsf_tui.dialogs import Confirm
from bsf_tui.screens.help import HelpScreen
from bsf_tui.screens.new_project import NewProjectScreen
from bsf_tui.screens.project import ProjectScreen
from bsf_tui.screens.projects import ProjectsScreen

from .conftest import FAKE_WORKER, FakeLauncher, add_finished_run
from .test_flows import open_tiny, projects_table, sync, text_of, wait_until

SIZE = (80, 24)
RUN_ID = "20260101-130000-beef"


def write_run(folder, state: str, run_id: str = RUN_ID) -> None:
    """A run as a detached worker on another host records it (its liveness is unknown
    here, so `running` stays running)."""
    run = folder / "runs" / run_id
    run.mkdir(parents=True, exist_ok=True)
    meta = {
        "id": run_id,
        "project": str(folder),
        "state": state,
        "stage": "train",
        "stages": ["train"],
        "started_at": 1767272400.0,
        "ended_at": None if state == "running" else 1767272478.0,
        "detached": True,
        "pid": 4243,
        "host": "elsewhere",
    }
    (run / "run.json").write_text(json.dumps(meta))
    (run / "events.jsonl").touch()


async def palette_offers(pilot, query: str) -> list[str]:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*query)
    commands = pilot.app.screen.query_one(CommandList)
    await wait_until(pilot, lambda: commands.option_count > 0)
    await pilot.pause(0.3)
    return [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]


@sync
async def test_the_palette_inside_a_project_offers_its_commands(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await open_tiny(pilot)
        offered = await palette_offers(pilot, "run")
        assert any("run the pipeline" in text for text in offered)
        assert any("run stage train" in text for text in offered)
        await pilot.press("escape")
        offered = await palette_offers(pilot, "tab")
        assert any("tab Spikes" in text for text in offered)


@sync
async def test_the_palette_on_the_projects_screen_offers_new_project(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        offered = await palette_offers(pilot, "new project")
        assert any("new project" in text for text in offered)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NewProjectScreen))


@sync
async def test_escape_after_opening_a_project_from_the_palette_goes_to_projects(
    handmade,
) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await open_tiny(pilot)
        await palette_offers(pilot, "open project blank")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, ProjectScreen) and app.screen.folder.name == "blank",
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen))
        assert [type(s) for s in app.screen_stack[1:]] == [ProjectsScreen]


@sync
async def test_a_run_state_cell_grows_from_running_to_cancelled(handmade) -> None:
    tiny = handmade / "tiny"
    write_run(tiny, "running")
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        table = screen.query_one("#run-list", DataTable)
        await wait_until(pilot, lambda: "running" in str(table.get_cell(RUN_ID, "state")))
        write_run(tiny, "cancelled")
        await wait_until(pilot, lambda: "cancelled" in str(table.get_cell(RUN_ID, "state")))
        assert table.columns["state"].content_width >= len("cancelled")
        # the duration appeared only now: it grows too, and says its unit
        assert str(table.get_cell(RUN_ID, "took")) == "1.3 min"
        assert table.columns["took"].content_width >= len("1.3 min")


@sync
async def test_the_projects_info_line_names_the_whole_run_id(handmade) -> None:
    from bsf_engine.project import Project
    from bsf_engine.runs import launch, store

    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot)
        key = next(k for k in table.rows if k.value.endswith("tiny"))
        info = app.screen.query_one("#project-info", Static)
        await wait_until(pilot, lambda: text_of(info) == "blank: 0 of 7 stages done")
        table.move_cursor(row=[k.value for k in table.rows].index(key.value))
        await wait_until(pilot, lambda: text_of(info) == "tiny: 7 of 7 stages done")
        # a run starts after the row was drawn
        project = Project.open(handmade / "tiny")
        run = launch.prepare(project, ["train"], {}, detached=True)
        launch.detach(project, run, [sys.executable, str(FAKE_WORKER), "60", "0"])
        try:
            await wait_until(pilot, lambda: f"tiny: run {run.id} is running" in text_of(info))
            width = sum(column.get_render_width(table) for column in table.columns.values())
            assert width <= SIZE[0]  # the run id is not a column past the 80th
        finally:
            launch.cancel(store.read(run.folder), wait=10)


@sync
async def test_home_and_end_go_to_the_first_and_last_project(handmade) -> None:
    for name in ("a-first", "z-last"):
        (handmade / name).mkdir()
        (handmade / name / "project.toml").write_text(
            (handmade / "blank" / "project.toml").read_text()
        )
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot, 4)
        await pilot.press("end")
        assert table.cursor_row == 3 and table.scroll_x == 0
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_x == 0


@sync
async def test_a_new_project_is_listed_in_name_order(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewProjectScreen))
        await pilot.press(*"aaa", "enter")
        await wait_until(pilot, lambda: table.row_count == 3)
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names == ["aaa", "blank", "tiny"]


def footer_keys(screen) -> list[FooterKey]:
    return list(screen.query(FooterKey))


async def assert_footer_fits(pilot, *keys: str) -> None:
    def displayed_now() -> set[str]:
        return {key.key_display for key in footer_keys(pilot.app.screen)}

    # the footer recomposes after a focus change: wait for it (a busy box is slow)
    await wait_until(pilot, lambda: set(keys) <= displayed_now())
    await pilot.pause(0.1)
    shown = footer_keys(pilot.app.screen)
    for key in shown:
        assert key.region.width > 0 and key.region.right <= SIZE[0], key.key
    displayed = {key.key_display for key in shown}
    for key in keys:
        assert key in displayed, (key, displayed)


@sync
async def test_every_footer_key_fits_in_80_columns(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await assert_footer_fits(pilot, "q", "?", "n")
        await open_tiny(pilot)
        for tab in "123456":
            await pilot.press(tab)
            await assert_footer_fits(pilot, "q", "?", "esc", "6")


@sync
async def test_the_new_project_form_fits_in_24_rows(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, NewProjectScreen))
        await pilot.pause(0.3)
        dialog = app.screen.query_one(".dialog")
        assert dialog.region.bottom <= SIZE[1]
        for button in app.screen.query(Button):  # seen without scrolling
            assert button.region.height > 0, button.id
            assert button.region.bottom <= dialog.content_region.bottom, button.id


@sync
async def test_a_long_question_wraps_inside_its_dialog(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    question = "Cancel run 20260101-130000-beef? " + "Its stage stops at the next batch. " * 4
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(Confirm(question))
        await pilot.pause(0.3)
        label = app.screen.query_one(Label)
        dialog = app.screen.query_one(".dialog")
        assert label.region.right <= dialog.region.right
        assert label.region.height >= len(question) // label.region.width


@sync
async def test_the_config_wraps_instead_of_being_cut(handmade) -> None:
    toml = handmade / "tiny" / "project.toml"
    toml.write_text(toml.read_text().replace("[data]", "[data]\n# " + "long comment " * 20, 1))
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot)
        await pilot.press("a")  # every line, comments too
        config = screen.query_one("#config", Static)
        box = screen.query_one("#config-box")
        lines = toml.read_text().splitlines()
        await wait_until(pilot, lambda: config.size.height > 0)
        await pilot.pause(0.3)
        assert max(map(len, lines)) > box.content_region.width
        wrapped = max(map(len, lines)) // box.content_region.width  # rows the long line adds
        assert config.size.height >= len(lines) + wrapped


@sync
async def test_the_spike_plots_keep_their_titles_at_80x24(handmade) -> None:
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "6")
        info = screen.query_one("#spikes-info", Static)
        await wait_until(pilot, lambda: "label" in str(info.render()))
        await pilot.pause(0.3)
        plots = {plot.id: str(plot.render()) for plot in screen.query(PlotextPlot)}
        assert "final head" in plots["raster-final"] and "IC" in plots["raster-ic"]
        assert "cumulative spikes" in plots["counts"]
        assert "posterior" in plots["posterior"]


@sync
async def test_the_compare_table_fits_in_80_columns(handmade) -> None:
    import shutil

    shutil.copytree(handmade / "tiny", handmade / "cifar100-resnet18")  # a paper-length name
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot, 3)
        for index, key in enumerate(row.value for row in table.rows):
            if not key.endswith("blank"):
                table.move_cursor(row=index)
                await pilot.press("space")
        await pilot.press("c")
        compare = app.screen.query_one("#compare-table", DataTable)
        await wait_until(pilot, lambda: compare.row_count == 2)
        await pilot.pause(0.3)
        width = sum(column.get_render_width(compare) for column in compare.columns.values())
        assert width <= SIZE[0]
        note = app.screen.query_one("#compare-note", Static)
        assert text_of(note) == "energy model: SpikeSim"  # the energies' model, named


@sync
async def test_help_lists_every_key_and_how_to_close_it(handmade) -> None:
    add_finished_run(handmade / "tiny")
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.query_one(Markdown).source
        assert "`r` refresh" in text and "`a` config: all keys" in text
        assert "Close this help" in text and "`esc`" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectsScreen))


@sync
async def test_the_runs_list_fits_80_columns_and_names_the_plan_below(handmade) -> None:
    """Runs' stages column was past column 80: the stage column says where the run is in
    its plan (`report 6/6`) and the line under the list names the plan."""
    add_finished_run(handmade / "tiny")
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        runs = screen.query_one("#run-list", DataTable)
        await wait_until(pilot, lambda: runs.row_count == 1)
        info = screen.query_one("#run-info", Static)
        await wait_until(pilot, lambda: "of tune→sim·T→rep" in text_of(info))
        assert "stage report 3/3 of" in text_of(info)
        assert str(runs.get_row_at(0)[2]) == "report 3/3"
        width = sum(column.get_render_width(runs) for column in runs.columns.values())
        assert width <= SIZE[0]
