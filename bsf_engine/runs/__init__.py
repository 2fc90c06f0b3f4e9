"""The run store: one folder per launched run, its events, its lock, its process.

`runs/<id>/run.json` (what, who, state) and `events.jsonl` (what happened, a JSON
object a line) under each project; a lock file holds the project while a run
writes it. Runs started detached are their own session and outlive the terminal;
`cancel` sends SIGTERM to the run's process group and the stage stops at its next
safe boundary (docs/runs.md).
"""
