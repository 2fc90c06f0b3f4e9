"""project.toml templates and the shipped projects: their comments point at docs that exist."""

from __future__ import annotations

import re
from pathlib import Path

from bsf_engine.config.template import PRESETS, render_template


def test_every_doc_a_config_comment_points_at_exists() -> None:
    root = Path(__file__).resolve().parents[2]
    shipped = "".join(p.read_text() for p in (root / "projects").glob("*/project.toml"))
    texts = [render_template(name) for name in PRESETS] + [shipped]
    pointed = {m for text in texts for m in re.findall(r"docs/[\w/.-]+\.md", text)}
    assert "docs/simulation.md" in pointed  # output_delay's comment
    assert all((root / path).is_file() for path in pointed), pointed
    assert "see README" not in shipped  # the README says nothing of output_delay
