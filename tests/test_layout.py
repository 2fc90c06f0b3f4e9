"""The project layout: every path named once, keys relative to the project, one reader
per artifact format with one error policy."""

from __future__ import annotations

import numpy as np
import pytest

from bsf_engine import layout, stages
from bsf_engine.errors import DataError, MissingArtifactError
from bsf_engine.layout import Layout
from bsf_engine.spikes.codec import npz_bytes


def test_paths_and_their_keys(tmp_path) -> None:
    paths = Layout(tmp_path)
    assert paths.manifest("tune") == tmp_path / "spikes" / "tune" / "manifest.json"
    assert paths.key(paths.manifest("tune")) == layout.manifest_key("tune")
    assert paths.path(layout.ALPHA_NPZ) == paths.alpha_npz
    assert paths.reference_output.report_json == tmp_path / "bsf" / "report.json"
    # every key a stage records or writes resolves inside the project
    for stage in stages.STAGES:
        for key in (*stage.inputs, *stage.outputs, stage.record):
            assert paths.key(paths.path(key)) == key


def test_find_projects(tmp_path) -> None:
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "project.toml").write_text("")
    (tmp_path / "not-a-project").mkdir()
    assert layout.find_projects(tmp_path) == [tmp_path / "a", tmp_path / "b"]
    assert layout.find_projects(tmp_path / "a") == [tmp_path / "a"]
    assert layout.find_projects(tmp_path / "nowhere") == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{torn", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_a_garbled_json_artifact_is_one_line(tmp_path, content, why) -> None:
    path = tmp_path / "alpha.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        layout.read_json(path, "rerun `bsf tune`")
    assert str(caught.value) == f"{path}: corrupt ({why}); rerun `bsf tune`"
    assert layout.read_json_or_none(path) is None


def test_a_missing_json_artifact(tmp_path) -> None:
    with pytest.raises(MissingArtifactError, match=r"report\.json: missing"):
        layout.read_json(tmp_path / "report.json")
    assert layout.read_json_or_none(tmp_path / "report.json") is None
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert layout.read_json(tmp_path / "ok.json") == {"a": 1}


def test_npz_artifacts(tmp_path) -> None:
    path = tmp_path / "alpha.npz"
    with pytest.raises(MissingArtifactError, match=r"alpha\.npz: missing; run `bsf tune` first"):
        layout.read_npz(path, "run `bsf tune` first", "rerun `bsf tune`")
    path.write_bytes(npz_bytes({"x": np.arange(3)}))
    assert layout.read_npz(path, "", "")["x"].tolist() == [0, 1, 2]
    path.write_bytes(npz_bytes({"x": np.arange(3)})[:40])
    with pytest.raises(MissingArtifactError, match=r"unreadable \(BadZipFile\); rerun `bsf tune`"):
        layout.read_npz(path, "run `bsf tune` first", "rerun `bsf tune`")
    assert layout.read_npz_or_none(path) is None
