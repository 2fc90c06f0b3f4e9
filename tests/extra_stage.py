"""A stage bsf does not have, for tests/test_stages.py: a new stage is this module (its
`run`) plus its registry entry (`ENTRY`) — nothing else in bsf changes."""

from __future__ import annotations

from bsf_engine import atomic, layout, stages

RECORD = "extra.json"
ENTRY = stages.Stage(
    "extra",
    "extra",
    "tests.extra_stage",
    ("fusion",),
    record=RECORD,
    outputs=(RECORD,),
    inputs=(layout.REPORT_JSON,),
    metric=lambda meta: f"{meta['steps']} steps read",
    seconds=lambda meta: meta.get("seconds"),
)


def run(project, events=None, *, force: bool = False) -> dict:
    report = layout.read_json(project.layout.report_json)
    result = {
        "stamp": ENTRY.stamp(project.config),
        "inputs": ENTRY.input_digests(project.layout),
        "steps": len(report["curves"]["accuracy"]["final"]),
        "seconds": 0.5,
    }
    atomic.write_json(project.layout.path(RECORD), result)
    if events is not None:
        events.artifact(str(project.layout.path(RECORD)), "extra")
    return result
