"""The shared vocabularies: enum members are their strings in JSON and comparisons."""

from __future__ import annotations

import json

from bsf_engine.config.schema import EnergySection, FusionSection
from bsf_engine.states import EnergyModel, Method, Numerics, RunState, StageState


def test_members_are_their_strings() -> None:
    assert StageState.DONE == "done" and f"{RunState.LOST}" == "lost"
    assert json.dumps({Method.BSF_GRID: RunState.DONE}) == '{"bsf_grid": "done"}'
    assert {"final": 1}[Method.FINAL] == 1


def test_run_states() -> None:
    assert RunState.of("running").live and RunState.of("queued").live
    assert not RunState.of("lost").live
    assert RunState.of("garbled") == RunState.FAILED and RunState.of(None) == RunState.FAILED


def test_the_config_offers_exactly_the_enums() -> None:
    from dataclasses import fields

    choices = {f.name: f.metadata["choices"] for f in fields(FusionSection)}
    assert choices["numerics"] == tuple(Numerics)
    choices = {f.name: f.metadata["choices"] for f in fields(EnergySection)}
    assert choices["model"] == tuple(EnergyModel)
    assert [m.label for m in Method] == ["final only", "IC only", "BSF grid", "BSF emp"]
