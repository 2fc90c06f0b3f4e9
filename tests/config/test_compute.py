"""`[compute] threads`: "auto" (the default) or a positive count; it never makes a result
stale, and `bsf new` writes it, commented, like every key."""

from __future__ import annotations

import pytest

from bsf_engine.config import default_config, parse_config
from bsf_engine.config.template import render_template
from bsf_engine.errors import ConfigError


def test_threads_is_auto_or_a_positive_count() -> None:
    assert default_config().compute.threads == "auto"
    assert parse_config('[compute]\nthreads = "auto"').compute.threads == "auto"
    assert parse_config("[compute]\nthreads = 4").compute.threads == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", '[compute] threads = 0: must be a positive integer or "auto"'),
        ("-2", '[compute] threads = -2: must be a positive integer or "auto"'),
        ('"all"', '[compute] threads = "all": must be a positive integer or "auto"'),
        ("2.5", "[compute] threads = 2.5: expected an integer or a string"),
        ("true", "[compute] threads = true: expected an integer or a string"),
    ],
)
def test_other_threads_values_are_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[compute]\nthreads = {value}")
    assert caught.value.problems == [message]


def test_threads_never_makes_a_result_stale() -> None:
    base, other = default_config(), parse_config("[compute]\nthreads = 1")
    sections = ("data", "model", "train", "convert", "simulate", "fusion", "energy", "compute")
    assert base.hash_of(*sections) == other.hash_of(*sections)


def test_new_projects_list_it_at_its_default() -> None:
    text = render_template()
    assert '\n[compute]\n# threads = "auto"  # CPU threads torch uses' in text
    assert parse_config(text).compute.threads == "auto"
