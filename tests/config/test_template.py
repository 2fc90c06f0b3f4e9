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


def test_new_projects_on_the_offline_image_sets_need_no_root() -> None:
    from bsf_engine.config import parse_config

    for dataset in ("fashion-mnist", "mnist5k"):
        text = render_template(dataset)
        assert not re.search(r"^root =", text, flags=re.M), dataset  # only commented
        config = parse_config(text)
        assert (config.data.dataset, config.model.arch, config.model.ic) == (dataset, "vgg11", [3])
