"""The TUI while things change, at 80×24: a launched run's log and progress, tabs that
reload when a run writes artifacts, cancelled runs, finished children."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import DataTable, Label, Log, Static

from bsf_engine import layout
from bsf_engine.runs import store
from bsf_tui.app import BsfApp
from bsf_tui.screens.project import ProjectScreen

from .conftest import FakeLauncher
from .test_flows import open_tiny, projects_table, sync, text_of, wait_until

SIZE = (80, 24)


async def _cancel_and_wait(pilot, screen, project: Path) -> None:
    run_id = next(iter(screen.query_one("#run-list", DataTable).rows)).value
    folder = store.run_folder(project, run_id)
    pilot.app.launcher.cancel(folder)
    await wait_until(pilot, lambda: not store.read(folder).state.live)


def _newest_shown(log: Log) -> bool:
    return log.scroll_y == log.max_scroll_y and log.max_scroll_y > 0


@sync
async def test_the_log_follows_a_launched_run_through_its_stages(projects) -> None:
    launcher = FakeLauncher(steps=30, stages=("train", "convert"))
    app = BsfApp(projects, launcher)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await pilot.press("r")
        log = screen.query_one("#run-log", Log)
        # no `f` pressed: the newest line is in view as lines come
        await wait_until(pilot, lambda: any("train: epoch 20 " in x for x in log.lines))
        assert _newest_shown(log) and log.auto_scroll
        # a later stage starts (its progress bar replaces the last): still following
        await wait_until(pilot, lambda: any("convert: epoch 10 " in x for x in log.lines))
        await pilot.pause(0.3)
        assert "convert" in log.lines[-1]
        assert _newest_shown(log) and log.auto_scroll
        await _cancel_and_wait(pilot, screen, projects / "tiny")


@sync
async def test_scrolling_up_stops_following_and_end_resumes(projects) -> None:
    app = BsfApp(projects, FakeLauncher(steps=60))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await pilot.press("r")
        log = screen.query_one("#run-log", Log)
        await wait_until(pilot, lambda: log.max_scroll_y > 3)
        log.focus()
        await pilot.press("pageup")
        assert not log.auto_scroll
        held = log.scroll_y
        count = log.line_count
        await wait_until(pilot, lambda: log.line_count > count + 2)
        assert log.scroll_y == held  # new lines do not pull the view down
        await pilot.press("end")
        await wait_until(pilot, lambda: log.auto_scroll and _newest_shown(log))
        await _cancel_and_wait(pilot, screen, projects / "tiny")


def _set_aside(project: Path, keys: tuple[str, ...], to: Path) -> Path:
    to.mkdir()
    for key in keys:
        shutil.move(project / key, to / Path(key).name)
    return to


@sync
async def test_tabs_reload_when_a_run_writes_their_artifacts(handmade, tmp_path) -> None:
    tiny = handmade / "tiny"
    keys = (layout.ALPHA_NPZ, layout.ALPHA_JSON, layout.REPORT_JSON)
    written = _set_aside(tiny, (*keys, layout.EXIT_JSON, layout.EXIT_NPZ), tmp_path / "later")
    app = BsfApp(handmade, FakeLauncher(steps=3, stages=("tune", "report"), files=written))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "3")
        alpha = screen.query_one("#alpha-info", Static)
        await wait_until(pilot, lambda: "No α yet" in text_of(alpha))
        await pilot.press("4")
        energy = screen.query_one("#energy-info", Static)
        await wait_until(pilot, lambda: "No report yet" in text_of(energy))
        await pilot.press("5")
        exits = screen.query_one("#exit-info", Static)
        await wait_until(pilot, lambda: "No early-exit results yet" in text_of(exits))
        await pilot.press("2", "r")
        run_folder = tiny / "runs"
        await wait_until(
            pilot,
            lambda: any(r.state == "done" for r in store.project_runs(tiny)),
        )
        assert run_folder.is_dir()
        await pilot.press("3")  # not reopened: the tab reloaded by itself
        await wait_until(pilot, lambda: "t = " in text_of(alpha) and "α_grid" in text_of(alpha))
        await pilot.press("4")
        await wait_until(pilot, lambda: "energy · target" in text_of(energy))
        await pilot.press("5")
        await wait_until(pilot, lambda: "energy per image" in text_of(exits))
        await pilot.press("6")
        spikes = screen.query_one("#spikes-info", Static)
        await wait_until(pilot, lambda: "BSF says" in text_of(spikes))


@sync
async def test_a_cancelled_run_shows_where_it_stopped_without_eta(projects) -> None:
    app = BsfApp(projects, FakeLauncher(steps=60))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await pilot.press("r")
        labels = lambda: [str(x.render()) for x in screen.query(".task-label").results(Label)]  # noqa: E731
        await wait_until(pilot, lambda: any("ETA" in x for x in labels()))
        await pilot.press("x", "y")
        info = screen.query_one("#run-info", Static)
        await wait_until(pilot, lambda: "cancelled" in text_of(info))
        await wait_until(pilot, lambda: any("cancelled at" in x for x in labels()))
        assert not any("ETA" in x for x in labels())
    # opened again (a restart): the replayed events show no ETA either
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        await wait_until(pilot, lambda: any("cancelled at" in x for x in labels()))
        assert not any("ETA" in x for x in labels())


@sync
async def test_a_finished_run_leaves_no_zombie_child(projects) -> None:
    app = BsfApp(projects, FakeLauncher(steps=2))
    async with app.run_test(size=SIZE) as pilot:
        await open_tiny(pilot, "2")
        await pilot.press("r")
        await wait_until(pilot, lambda: store.project_runs(projects / "tiny"))
        run = store.project_runs(projects / "tiny")[-1]
        await wait_until(pilot, lambda: store.read(run.folder).state == "done")
        pid = int(store.read(run.folder).meta["pid"])
        # reaped: the process is gone from /proc (a zombie would stay there, state Z)
        stat = Path(f"/proc/{pid}/stat")
        await wait_until(pilot, lambda: not stat.exists())


@sync
async def test_a_stage_whose_inputs_are_missing_is_refused_up_front(projects) -> None:
    from bsf_tui.launcher import EngineLauncher

    app = BsfApp(projects, EngineLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await projects_table(pilot)
        app.run_stage(projects / "blank", "report")
        await pilot.pause(0.2)
        messages = [n.message for n in app._notifications]
        assert any(
            m.startswith("report needs train, convert, simulate-tune, tune, simulate-test first")
            and "press s and choose train" in m
            for m in messages
        ), messages
        assert not (projects / "blank" / "runs").exists()  # no run was started


@sync
async def test_a_projects_split_folder_opens_with_its_alpha_and_splits(handmade) -> None:
    from bsf_tui.screens.open_spikes import SpikesScreen

    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        await projects_table(pilot)
        await pilot.press("o", *"projects/tiny/spikes/test", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SpikesScreen))
        info = app.screen.query_one("#spikes-info", Static)
        await wait_until(pilot, lambda: text_of(info).startswith("test · batch 0 ("))
        assert "BSF says" in text_of(info)  # α found: not "tune α first"
        await pilot.press("t")
        await wait_until(pilot, lambda: text_of(info).startswith("tune · batch 0 ("))


@sync
async def test_a_reopened_project_shows_its_newest_run(projects) -> None:
    from .conftest import add_finished_run

    add_finished_run(projects / "tiny", "20260101-120000-aaaa")
    add_finished_run(projects / "tiny", "20260102-120000-bbbb")
    app = BsfApp(projects, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tiny(pilot, "2")
        info = screen.query_one("#run-info", Static)
        await wait_until(pilot, lambda: "20260102-120000-bbbb" in text_of(info))
        await pilot.pause(1.5)  # a poll of the run list later: still the newest
        assert "20260102-120000-bbbb" in text_of(info)
        runs = screen.query_one("#run-list", DataTable)
        assert [k.value for k in runs.rows] == ["20260102-120000-bbbb", "20260101-120000-aaaa"]


@sync
async def test_a_tab_key_pressed_while_the_project_opens_settles_on_that_tab(handmade) -> None:
    """`2` pressed right after enter left a stale TabActivated queued: the Overview and
    Runs panes took focus from each other forever (100 % CPU, tab keys dead)."""
    from textual.widgets import TabbedContent

    app = BsfApp(handmade, FakeLauncher())
    async with app.run_test(size=SIZE) as pilot:
        table = await projects_table(pilot)
        table.move_cursor(row=[k.value for k in table.rows].index(str(handmade / "tiny")))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ProjectScreen))
        await pilot.press("2")  # no pause: the project's panes are still mounting
        tabs = app.screen.query_one(TabbedContent)
        await wait_until(pilot, lambda: tabs.active == "runs")
        switches = []
        tabs.watch(tabs, "active", lambda tab: switches.append(tab), init=False)
        # what the race leaves queued: the Overview's activation, after Runs became active
        overview_tab = tabs.get_tab("overview")
        tabs.post_message(TabbedContent.TabActivated(tabs, overview_tab))
        await pilot.pause(1.0)
        assert tabs.active == "runs" and switches == []  # settled: no swapping back and forth
        await pilot.press("3")
        await wait_until(pilot, lambda: tabs.active == "alpha")
