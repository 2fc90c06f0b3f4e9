"""Flows through the app with Pilot: open, launch, watch, cancel, fail, reattach."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys

from textual.widgets import DataTable, Log, ProgressBar, Static, TabbedContent

from bsf_engine.runs import lock, store
from bsf_tui.app import BsfApp
from bsf_tui.screens.project import ProjectScreen
from bsf_tui.screens.projects import ProjectsScreen

from .conftest import FAKE_WORKER, FakeLauncher

SIZE = (140, 45)


def sync(test):
    """Run an async test body in its own event loop (no asyncio plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_until(pilot, condition, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.1)):
        await pilot.pause(0.1)
        if condition():
            return
    raise AssertionError("the screen did not get there in time")


def text_of(widget: Static) -> str:
    return str(widget.render())


async def projects_table(pilot, rows: int = 2) -> DataTable:
    """The projects table, once it lists `rows` projects."""
    table = pilot.app.screen.query_one("#projects", DataTable)
    await wait_until(pilot, lambda: table.row_count == rows)
    return table


async def open_tiny(pilot, tab_key: str | None = None) -> ProjectScreen:
    table = pilot.app.screen.query_one("#projects", DataTable)
    await wait_until(pilot, lambda: table.row_count == 2)
    keys = [row.value for row in table.rows]
    table.move_cursor(row=keys.index(next(k for k in keys if k.endswith("tiny"))))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ProjectScreen))
    if tab_key:
        await pilot.press(tab_key)
        await pilot.pause(0.2)
    return pilot.app.screen


@sync
async def test_open_a_project_and_switch_tabs(projects) -> None:
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, ProjectsScreen)
        table = await projects_table(pilot)
        tiny = next(k for k in table.rows if k.value.endswith("tiny"))
        assert table.get_cell(tiny, "ann").endswith("%")
        screen = await open_tiny(pilot)
        assert screen.folder.name == "tiny"
        stages = screen.query_one("#stages", DataTable)
        await wait_until(pilot, lambda: "done" in str(stages.get_cell("report", "state")))
        tabs = (("3", "alpha"), ("4", "energy"), ("5", "exit"), ("6", "spikes"), ("1", "overview"))
        for key, tab in tabs:
            await pilot.press(key)
            assert screen.query_one(TabbedContent).active == tab
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)


@sync
async def test_launch_watch_progress_and_cancel(projects) -> None:
    launcher = FakeLauncher(steps=60)
    app = BsfApp(projects, launcher)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await pilot.press("r")
        assert launcher.launched == [(projects / "tiny", None, None)]
        runs = screen.query_one("#run-list", DataTable)
        await wait_until(pilot, lambda: runs.row_count == 1)
        run_id = next(iter(runs.rows)).value
        bars = lambda: list(screen.query(ProgressBar))  # noqa: E731
        await wait_until(pilot, lambda: bars() and (bars()[0].progress or 0) >= 2)
        seen = bars()[0].progress
        await wait_until(pilot, lambda: bars()[0].progress > seen)  # it moves
        log = screen.query_one("#run-log", Log)
        assert any("epoch" in line for line in log.lines)
        assert "running" in text_of(screen.query_one("#run-info", Static))
        await pilot.press("x")  # asks first
        await pilot.press("n")
        assert store.read(projects / "tiny" / "runs" / run_id).state == "running"
        await pilot.press("x")
        await pilot.press("y")
        run_folder = projects / "tiny" / "runs" / run_id
        await wait_until(pilot, lambda: store.read(run_folder).state == "cancelled")
        info = screen.query_one("#run-info", Static)
        await wait_until(pilot, lambda: "cancelled" in text_of(info))
        assert "SIGTERM" in text_of(info)
        assert lock.holder(projects / "tiny") is None


@sync
async def test_a_failed_run_shows_its_error(projects) -> None:
    app = BsfApp(projects, FakeLauncher(steps=6, fail=True))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await pilot.press("r")
        info = screen.query_one("#run-info", Static)
        await wait_until(pilot, lambda: "failed" in text_of(info))
        assert "loss is NaN at epoch 3" in text_of(info)


@sync
async def test_a_second_launch_is_refused_while_one_runs(projects) -> None:
    app = BsfApp(projects, FakeLauncher(steps=40))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await pilot.press("r")
        runs = screen.query_one("#run-list", DataTable)
        await wait_until(pilot, lambda: runs.row_count == 1)
        await pilot.press("r")
        await pilot.pause(0.3)
        assert runs.row_count == 1
        assert any("is running" in n.message for n in app._notifications)
        run_id = next(iter(runs.rows)).value
        app.launcher.cancel(projects / "tiny" / "runs" / run_id)


@sync
async def test_reattach_to_a_run_started_outside(projects) -> None:
    # a run started by someone else (`bsf run --detach`, another TUI): same store, same lock
    from bsf_engine.project import Project
    from bsf_engine.runs import launch

    project = Project.open(projects / "tiny")
    run = launch.prepare(project, ["train"], {}, detached=True)
    launch.detach(project, run, [sys.executable, str(FAKE_WORKER), "60", "0"])
    try:
        app = BsfApp(projects, FakeLauncher())
        async with app.run_test(size=SIZE) as pilot:
            table = await projects_table(pilot)
            await wait_until(pilot, lambda: "▶" in str(table.get_row_at(1)))
            screen = await open_tiny(pilot, "2")
            info = screen.query_one("#run-info", Static)
            await wait_until(pilot, lambda: run.id in text_of(info) and "running" in text_of(info))
            await wait_until(pilot, lambda: list(screen.query(ProgressBar)))
    finally:
        launch.cancel(store.read(run.folder), wait=10)


@sync
async def test_help_at_80_by_24(projects) -> None:
    from bsf_tui.screens.help import HelpScreen

    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)


def test_headless_commands_never_import_textual(tmp_path) -> None:
    code = (
        "import sys\n"
        "import bsf_engine, bsf_engine.cli, bsf_engine.pipeline, bsf_engine.runs.launch\n"
        "from typer.testing import CliRunner\n"
        "from bsf_engine.cli import app\n"
        f"r = CliRunner().invoke(app, ['status', {str(tmp_path / 'p')!r}])\n"
        f"r = CliRunner().invoke(app, ['ps', {str(tmp_path)!r}])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'bsf_tui'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "project.toml").write_text("")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@sync
async def test_spikes_of_a_reference_folder(projects, tmp_path) -> None:
    from bsf_tui.screens.open_spikes import SpikesScreen

    from ..test_report import write_reference_run

    reference = write_reference_run(tmp_path / "ref")
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.press(*str(reference / "snn_vgg11"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SpikesScreen))
        info = app.screen.query_one("#spikes-info", Static)
        await wait_until(pilot, lambda: "reference-test" in text_of(info))
        assert "batch 0 (0-1), sample 0 (0-9)" in text_of(info) and "label" in text_of(info)
        await pilot.press("j")
        await wait_until(pilot, lambda: "sample 1 (0-9)" in text_of(info))
        await pilot.press("b")
        await wait_until(pilot, lambda: "batch 1 (0-1)" in text_of(info))
        await pilot.press("t")  # one set of spikes: it says so
        await pilot.pause(0.2)
        assert any("one set of spikes" in n.message for n in app._notifications)


@sync
async def test_create_a_project_from_the_form(projects) -> None:
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot)
        await pilot.press("n")
        await pilot.press(*"tiny")  # exists: refused, nothing written
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert "already exists" in str(app.screen.query_one("#problem").render())
        app.screen.query_one("#name").value = "mnist-run"
        app.screen.query_one("#dataset").value = "mnist"
        app.screen.query_one("#ic").value = "3"
        await pilot.click("#create")
        await wait_until(pilot, lambda: table.row_count == 3)
        text = (projects / "mnist-run" / "project.toml").read_text()
        assert 'dataset = "mnist"' in text and "ic = 3" in text


@sync
async def test_log_follow_pauses_when_scrolled_up_and_resumes_on_end(projects) -> None:
    from .conftest import add_finished_run

    run = add_finished_run(projects / "tiny")
    with open(run / "events.jsonl", "a") as handle:  # a long log
        for i in range(200):
            handle.write(f'{{"time": 1767268900.0, "kind": "log", "message": "line {i}"}}\n')
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        log = screen.query_one("#run-log", Log)
        await wait_until(pilot, lambda: log.line_count > 200 and log.max_scroll_y > 0)
        await wait_until(pilot, lambda: log.scroll_y == log.max_scroll_y)
        assert log.auto_scroll
        log.focus()
        await pilot.press("home")
        await wait_until(pilot, lambda: not log.auto_scroll)
        await pilot.press("end")
        await wait_until(pilot, lambda: log.auto_scroll and log.scroll_y == log.max_scroll_y)


@sync
async def test_energy_model_and_target_switch(projects) -> None:
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "4")
        info = screen.query_one("#energy-info", Static)
        await wait_until(pilot, lambda: "97% of the ANN" in text_of(info))
        await pilot.press("minus")
        await wait_until(pilot, lambda: "96% of the ANN" in text_of(info))
        await pilot.press("m")  # SyOPs needs the report's per-layer counts
        await wait_until(pilot, lambda: "SyOPs needs" in text_of(info))


@sync
async def test_command_palette_opens_a_project(projects) -> None:
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        await pilot.press("ctrl+p")
        await pilot.press(*"open project tiny")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectScreen))
        assert app.screen.folder.name == "tiny"


@sync
async def test_alpha_log_axis_and_moving_t(projects) -> None:
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "3")
        info = screen.query_one("#alpha-info", Static)
        await wait_until(pilot, lambda: "t = 48" in text_of(info))
        await pilot.press("l", "left", "left")
        await wait_until(pilot, lambda: "t = 46" in text_of(info))
        await pilot.press("l", "shift+left")
        await wait_until(pilot, lambda: "t = 1 " in text_of(info))


@sync
async def test_a_new_stage_shows_in_the_tables(handmade, with_extra_stage) -> None:
    """A stage registered in bsf_engine.stages (tests/extra_stage.py) needs no TUI change."""
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot)
        tiny = next(k for k in table.rows if k.value.endswith("tiny"))
        # the badges follow the registry: one more stage, one more badge
        await wait_until(pilot, lambda: str(table.get_cell(tiny, "stages")).count("○") == 1)
        assert str(table.get_cell(tiny, "stages")).count("●") == 7
        legend = app.screen.query_one("#legend", Static)
        assert text_of(legend).startswith("stages train→conv→sim·t→tune→sim·T→rep→exit→")
        screen = await open_tiny(pilot)
        stages = screen.query_one("#stages", DataTable)
        await wait_until(pilot, lambda: "missing" in str(stages.get_cell("extra", "state")))


@sync
async def test_compare_labels_each_projects_energy_model(handmade) -> None:
    """Two projects costed by different energy models: each row names its model, the
    screen says they do not compare, and the projects list names them too."""
    from bsf_tui.screens.compare import CompareScreen

    from ..handmade import PROJECT, make_finished_project

    make_finished_project(handmade / "other", PROJECT + '\n[energy]\nmodel = "syops"\n')
    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot, 3)
        keys = [row.value for row in table.rows]
        for name in ("tiny", "other"):
            key = next(k for k in keys if k.endswith(name))
            await wait_until(pilot, lambda k=key: "%" in str(table.get_cell(k, "reduction")))
        cells = {k.rsplit("/", 1)[-1]: str(table.get_cell(k, "reduction")) for k in keys}
        assert cells["tiny"].startswith("SpikeSim -")  # under the header "BSF energy"
        assert cells["other"].startswith("SyOPs -")
        for index, key in enumerate(keys):
            if key.endswith(("tiny", "other")):
                table.move_cursor(row=index)
                await pilot.press("space")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen.query_one("#compare-table", DataTable)
        await wait_until(pilot, lambda: compare.row_count == 2)
        note = app.screen.query_one("#compare-note", Static)
        assert "energy models differ (SyOPs: other; SpikeSim: tiny)" in text_of(note)
