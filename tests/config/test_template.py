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


def test_every_shipped_project_loads_and_its_ic_fits_its_network() -> None:
    """A shipped project.toml that does not load (a renamed key, an IC past the last
    block) would first fail on a user's `bsf run`."""
    from bsf_engine.config import load_config

    root = Path(__file__).resolve().parents[2]
    folders = sorted(p.parent for p in (root / "projects").glob("*/project.toml"))
    assert {"digits", "fashion-vgg11", "fashion-vgg11-cpu", "mnist5k-vgg11"} <= {
        f.name for f in folders
    }
    for folder in folders:
        config = load_config(folder / "project.toml")  # raises on an IC past the last block
        assert config.project.name == folder.name
