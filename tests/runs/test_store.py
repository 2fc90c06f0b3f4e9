"""Run folders, events.jsonl and liveness."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bsf_engine.errors import Interrupted
from bsf_engine.runs import process, store
from bsf_engine.runs.sink import JsonlEvents, StopRequest


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_events_reader_skips_a_torn_last_line_and_garbled_lines(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    store.append_event(path, {"kind": "log", "message": "one"})
    with open(path, "ab") as handle:
        handle.write(b"{not json}\n")
        handle.write(b'["a list"]\n')
    store.append_event(path, {"kind": "log", "message": "two"})
    with open(path, "ab") as handle:
        handle.write(b'{"kind": "log", "mess')  # a writer killed mid-line
    events, offset = store.read_events(path)
    assert [e["message"] for e in events] == ["one", "two"]
    with open(path, "ab") as handle:  # the rest of that line arrives: read from the offset
        handle.write(b'age": "three"}\n')
    more, _ = store.read_events(path, offset)
    assert [e["message"] for e in more] == ["three"]


def test_progress_is_coalesced_but_the_last_is_kept(tmp_path) -> None:
    sink = JsonlEvents(tmp_path / "e.jsonl")
    for done in range(1, 1001):
        sink.progress("batch", done, 1000, "batch")
    events, _ = store.read_events(tmp_path / "e.jsonl")
    assert 1 <= len(events) < 20
    assert events[-1]["done"] == 1000 and events[-1]["total"] == 1000


def test_stop_request_raises_at_the_next_checkpoint(tmp_path) -> None:
    stop = StopRequest()
    sink = JsonlEvents(tmp_path / "e.jsonl", stop)
    sink.checkpoint()
    stop.set("cancelled (SIGTERM)")
    with pytest.raises(Interrupted, match="SIGTERM"):
        sink.checkpoint()


def test_a_running_run_whose_process_is_gone_is_lost(tmp_path) -> None:
    run = store.create(tmp_path, "r1", stages=["train"])
    run.update(state="running", pid=dead_pid(), started_at=1.0)
    assert store.read(run.folder).state == "lost"
    run.update(
        state="running",
        pid=process.os.getpid(),
        proc_start=process.start_ticks(process.os.getpid()),
    )
    assert store.read(run.folder).state == "running"
    # a reused pid (another start time) is another process
    run.update(proc_start=12345)
    assert store.read(run.folder).state == "lost"
    # on another host it cannot be checked from here: shown as recorded
    run.update(host="elsewhere", proc_start=None, pid=dead_pid())
    assert store.read(run.folder).state == "running"


def test_find_by_id_prefix_and_folder(tmp_path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "project.toml").write_text("")
    first = store.create(tmp_path / "a", "20261127-100000-aaaa")
    store.create(tmp_path / "b", "20261127-100000-bbbb")
    assert store.find("20261127-100000-aaaa", tmp_path).folder == first.folder
    assert store.find("20261127-100000-b", tmp_path).id == "20261127-100000-bbbb"
    assert store.find(str(first.folder), tmp_path).id == first.id
    with pytest.raises(store.RunNotFoundError, match="ambiguous"):
        store.find("20261127-1000", tmp_path)
    with pytest.raises(store.RunNotFoundError, match="not found"):
        store.find("nope", tmp_path)


def test_a_garbled_run_json_reads_as_failed(tmp_path) -> None:
    run = store.create(tmp_path, "r2")
    (run.folder / "run.json").write_text('{"id": "r2", "sta')
    read = store.read(run.folder)
    assert read.state == "failed" and "corrupt" in read.meta["error"]
