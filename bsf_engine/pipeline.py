"""The stage graph: train → convert → simulate(tune) → tune → simulate(test) → report.

`status(project)` says of each stage whether its artifact is done, stale (its config
section, an input or the bsf version that made it changed — all recorded in the
artifact), partial, corrupt or missing, with when, how long and a key metric.
`plan` picks what `bsf run` runs; `run_stage` calls the stage's own `run`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import DataError
from .events import Events
from .spikes.store import broken_batches
from .versioning import file_digest_cached

STAGES = ("train", "convert", "simulate-tune", "tune", "simulate-test", "report")


@dataclass
class StageStatus:
    name: str
    state: str  # done | stale | partial | corrupt | missing
    reasons: list[str] = field(default_factory=list)
    created: str | None = None
    seconds: float | None = None
    metric: str | None = None
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_stage_name(name: str, option: str) -> str:
    if name == "simulate":
        return "simulate-test"
    if name not in STAGES:
        raise DataError(f"{option} {name!r}: choose one of {', '.join(STAGES)}")
    return name


def status(project) -> dict[str, StageStatus]:
    """Every stage's state from its artifacts (no run information; see runs.status)."""
    cfg = project.config
    folder = project.folder
    out: dict[str, StageStatus] = {}
    digests: dict[Path, str | None] = {}

    def digest(path: Path) -> str | None:
        if path not in digests:
            digests[path] = file_digest_cached(path) if path.is_file() else None
        return digests[path]

    # train
    s = _from_json("train", project.ann_json, project.ann_pt)
    if s.state == "missing" and project.train_checkpoint.is_file():
        s.state, s.reasons = "partial", ["interrupted; `bsf run` resumes from its last epoch"]
    if s.state == "done":
        meta = _meta(project.ann_json)
        _check_stamp(s, meta, project.stage_hash("train"), "[data]/[model]/[train]")
        s.seconds = meta.get("train_seconds")
        if meta.get("final_test_accuracy") is not None:
            s.metric = f"test acc {meta['final_test_accuracy']:.2%}"
    out["train"] = s

    # convert
    s = _from_json("convert", project.snn_json, project.snn_pt)
    if s.state == "done":
        meta = _meta(project.snn_json)
        _check_stamp(s, meta, project.stage_hash("convert"), "[convert] (or earlier)")
        _check_input(s, meta, "ann.pt", digest(project.ann_pt))
        s.seconds = meta.get("convert_seconds")
        if meta.get("max_relative_logit_error") is not None:
            s.metric = f"logit err {meta['max_relative_logit_error']:.0e}"
    out["convert"] = s

    # simulate(tune), simulate(test)
    for split in ("tune", "test"):
        name = f"simulate-{split}"
        manifest_path = folder / "spikes" / split / "manifest.json"
        s = _from_json(name, manifest_path, manifest_path)
        if s.state == "done":
            manifest = _meta(manifest_path)
            if not manifest.get("complete"):
                done = sum(int(e.get("samples", 0)) for e in manifest.get("batches", []))
                s.state = "partial"
                s.reasons = [f"{done} of {manifest.get('samples')} samples; `bsf run` resumes"]
            elif broken := broken_batches(manifest_path.parent, manifest):
                s.state = "partial"
                first = broken[0]["file"]
                s.reasons = [f"{first} is missing or truncated; `bsf run` simulates it again"]
            else:
                _check_stamp(s, manifest, cfg.hash_of("simulate"), "[simulate]")
                snn = manifest.get("identity", {}).get("snn")
                if snn is not None and snn != digest(project.snn_pt):
                    s.state = "stale"
                    s.reasons.append("snn.pt changed since")
                seconds = [e.get("seconds") for e in manifest.get("batches", [])]
                if seconds and all(isinstance(x, int | float) for x in seconds):
                    s.seconds = round(sum(seconds), 2)
                s.metric = f"{manifest.get('samples')} × T={manifest.get('timesteps')}"
        out[name] = s

    # tune
    tune_manifest = folder / "spikes" / "tune" / "manifest.json"
    s = _from_json("tune", folder / "alpha.json", folder / "alpha.npz")
    if s.state == "done":
        meta = _meta(folder / "alpha.json")
        _check_stamp(s, meta, cfg.hash_of("fusion"), "[fusion]")
        _check_input(s, meta, "spikes/tune/manifest.json", digest(tune_manifest))
        s.seconds = meta.get("seconds")
        at_t = meta.get("at_T", {})
        if "alpha_grid" in at_t:
            s.metric = f"α(T) {at_t['alpha_grid']:g} / {at_t.get('alpha_emp', 0):g}"
    out["tune"] = s

    # report
    s = _from_json("report", folder / "report.json", folder / "report.json")
    if s.state == "done":
        meta = _meta(folder / "report.json")
        _check_stamp(s, meta, cfg.hash_of("fusion", "energy"), "[fusion]/[energy]")
        _check_input(s, meta, "alpha.npz", digest(folder / "alpha.npz"))
        test_manifest = folder / "spikes" / "test" / "manifest.json"
        _check_input(s, meta, "spikes/test/manifest.json", digest(test_manifest))
        grid = meta.get("methods", {}).get("bsf_grid", {})
        if grid.get("reduction_pct") is not None:
            s.metric = f"energy {-grid['reduction_pct']:+.1f}%"
        elif meta.get("methods"):
            s.metric = "BSF misses target"
    out["report"] = s
    return {name: out[name] for name in STAGES}


def plan(
    statuses: dict[str, StageStatus],
    start: str | None = None,
    until: str | None = None,
    force: bool = False,
) -> list[str]:
    """The stages `bsf run` runs: from the first that is not done (or `start`, which is
    always run) through `until`; everything after a stage that runs runs too, since
    its inputs change."""
    first = STAGES.index(start) if start else 0
    last = STAGES.index(until) if until else len(STAGES) - 1
    if first > last:
        raise DataError(f"--from {start} comes after --until {until}")
    chosen = STAGES[first : last + 1]
    if force or start:
        return list(chosen)
    for index, name in enumerate(chosen):
        if statuses[name].state != "done":
            return list(chosen[index:])
    return []


def run_stage(project, name: str, events: Events, *, force: bool = False) -> dict[str, Any]:
    """Run one stage with the stage's own function (the same as its own command).

    `force` redoes a finished result; without it a partial one is resumed.
    """
    if name == "train":
        from . import train

        return train.run(project, events, force=force)
    if name == "convert":
        from . import convert

        return convert.run(project, events, force=force)
    if name.startswith("simulate-"):
        from . import simulate

        return simulate.run(project, events, split=name.split("-", 1)[1], overwrite=force)
    if name == "tune":
        from . import tune

        return tune.run(project, events)
    if name == "report":
        from . import report

        return report.run(project, events)
    raise DataError(f"stage {name!r}: choose one of {', '.join(STAGES)}")


def _from_json(name: str, json_path: Path, artifact: Path) -> StageStatus:
    if not json_path.is_file() or not artifact.is_file():
        return StageStatus(name, "missing", path=str(artifact))
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return StageStatus(
            name, "corrupt", [f"{json_path} is unreadable; `bsf run --force` redoes it"]
        )
    if not isinstance(meta, dict):
        return StageStatus(name, "corrupt", [f"{json_path} is not a JSON object"])
    stamp = meta.get("stamp", {})
    return StageStatus(name, "done", created=stamp.get("created"), path=str(artifact))


def _meta(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _check_stamp(s: StageStatus, meta: dict[str, Any], config_hash: str, sections: str) -> None:
    stamp = meta.get("stamp", {})
    if stamp.get("config_hash") != config_hash:
        s.state = "stale"
        s.reasons.append(f"{sections} changed since")
    if stamp.get("bsf_version") not in (None, __version__):
        s.state = "stale"
        s.reasons.append(f"made by bsf {stamp.get('bsf_version')} (now {__version__})")


def _check_input(s: StageStatus, meta: dict[str, Any], name: str, current: str | None) -> None:
    recorded = meta.get("inputs", {}).get(name)
    if recorded is not None and recorded != current:
        s.state = "stale"
        s.reasons.append(f"{name} changed since")
