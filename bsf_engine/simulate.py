"""Stage `simulate`: run the converted network as IF neurons over one split.

Writes spikes/<split>/batch_NNNNN.npz (atomically, one per batch) and
manifest.json, rewritten after every batch. A rerun resumes at the first
missing batch; spikes made with other settings (T, batch size, sample count,
dtype, delay, initial membrane, a different snn.pt or split) are refused
unless `overwrite`. The manifest records the chunk length, and a resumed run
reuses it, so its files are byte-identical to an uninterrupted run's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from . import atomic
from .data import iterate_batches, load_datasets
from .devices import resolve_device
from .errors import ArtifactExistsError, DataError
from .events import Events
from .project import Project
from .snn.network import load_converted
from .snn.simulator import DTYPES, Simulator
from .spikes.store import (
    FORMAT,
    MANIFEST,
    VERSION,
    batch_filename,
    broken_batches,
    encode_batch,
    read_batch_file,
    read_manifest,
    sha256_bytes,
    write_manifest,
)
from .versioning import file_digest, stamp

SPLITS = ("tune", "test")


def spikes_folder(project: Project, split: str) -> Path:
    return project.folder / "spikes" / split


def _describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    names = {"snn": "snn.pt", "split_digest": "the data split"}
    diffs = []
    for key in new:
        if old.get(key) != new[key]:
            label = names.get(key, key)
            if key in ("snn", "split_digest"):
                diffs.append(f"{label} changed")
            else:
                diffs.append(f"{label} {old.get(key)} → {new[key]}")
    return ", ".join(diffs) or "different settings"


def _forget_broken_batches(folder: Path, manifest: dict[str, Any], events: Events) -> None:
    """Batches the manifest lists whose file is gone or of another size are simulated again."""
    broken = broken_batches(folder, manifest)
    if broken:
        names = ", ".join(e["file"] for e in broken)
        events.log(f"{folder}: {names} missing or truncated; simulating again")
        manifest["batches"] = [e for e in manifest["batches"] if e not in broken]
        manifest["complete"] = False
        write_manifest(folder, manifest)


def _remove_simulation(folder: Path) -> None:
    for path in folder.glob("batch_*.npz"):
        path.unlink()
    (folder / MANIFEST).unlink(missing_ok=True)


def run(
    project: Project,
    events: Events | None = None,
    *,
    split: str = "test",
    timesteps: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    dtype: str | None = None,
    limit: int | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Simulate `split` (or its first `limit` samples); returns the final manifest."""
    events = events or Events()
    cfg = project.config.simulate
    if split not in SPLITS:
        raise DataError(f"split {split!r}: choose tune or test")
    timesteps = cfg.timesteps if timesteps is None else timesteps
    batch_size = cfg.batch_size if batch_size is None else batch_size
    dtype_name = dtype or cfg.dtype
    if dtype_name not in DTYPES:
        raise DataError(f"dtype {dtype_name!r}: choose one of {', '.join(DTYPES)}")
    for name, value in (("timesteps", timesteps), ("batch size", batch_size), ("limit", limit)):
        if value is not None and value < 1:
            raise DataError(f"{name} = {value}: must be at least 1")
    torch_device = resolve_device(device or cfg.device, "[simulate] device")
    if torch_device.type == "cpu" and dtype_name == "float16":
        raise DataError('dtype "float16" needs CUDA; use float32 or bfloat16 on the CPU')

    project.require_current(
        project.snn_pt, project.snn_json, "convert", "[data]/[model]/[train]/[convert]"
    )
    net = load_converted(project.snn_pt)
    ann_meta = project.read_json(project.ann_json)
    data = load_datasets(project.config)
    project.require_same_split(data.plan.digest(), ann_meta)
    images = data.split(split)
    samples = min(len(images), limit) if limit else len(images)
    folder = spikes_folder(project, split)
    identity = {
        "split": split,
        "timesteps": timesteps,
        "batch_size": batch_size,
        "samples": samples,
        "dtype": dtype_name,
        "output_delay": cfg.output_delay,
        "init_mem": cfg.init_mem,
        "snn": file_digest(project.snn_pt),
        "split_digest": data.plan.digest(),
    }
    try:
        manifest = read_manifest(folder) if folder.is_dir() else None
    except DataError:
        if not overwrite:
            raise
        manifest = None  # an unreadable manifest is replaced with the rest of the folder
    if manifest is not None and (overwrite or manifest.get("identity") != identity):
        if not overwrite:
            old = manifest.get("identity", {})
            raise ArtifactExistsError(
                f"{folder}: holds spikes made with other settings "
                f"({_describe_difference(old, identity)}); rerun with the same settings to "
                "resume, or pass --overwrite to replace them"
            )
        _remove_simulation(folder)
        manifest = None
    if manifest is not None:
        _forget_broken_batches(folder, manifest, events)
    if manifest is not None and manifest.get("complete"):
        events.log(f"{folder} is up to date (use --overwrite to simulate again)")
        return manifest
    if manifest is None and not overwrite and any(folder.glob("batch_*.npz")):
        raise ArtifactExistsError(
            f"{folder}: holds batch files but no {MANIFEST}, so their settings are unknown; "
            "pass --overwrite to replace them"
        )
    if manifest is None and overwrite:
        _remove_simulation(folder) if folder.is_dir() else None
    folder.mkdir(parents=True, exist_ok=True)
    atomic.remove_temporaries(folder)
    simulator = Simulator(
        net.model,
        device=torch_device,
        dtype=DTYPES[dtype_name],
        output_delay=cfg.output_delay,
        init_mem=cfg.init_mem,
        chunk=cfg.chunk,
        memory_budget=cfg.memory_mb << 20,
    )
    if manifest is None:
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "identity": identity,
            "timesteps": timesteps,
            "num_classes": len(net.classes),
            "classes": net.classes,
            "heads": list(net.head_names),
            "populations": [
                {"name": p.name, "shape": list(p.shape), "neurons": p.neurons}
                for p in simulator.pops
            ],
            "samples": samples,
            "batch_size": batch_size,
            "settings": {
                "chunk": simulator.chunk_length(
                    min(batch_size, samples, simulator.sub_batch or batch_size)
                ),
                "sub_batch": simulator.sub_batch,
                "device": str(torch_device),
            },
            "batches": [],
            "complete": False,
            "stamp": stamp("simulate", project.config.hash_of("simulate")),
        }
        write_manifest(folder, manifest)
    # the recorded chunking makes a resumed run's bytes equal an uninterrupted run's
    simulator.chunk = int(manifest["settings"]["chunk"])
    simulator.sub_batch = manifest["settings"].get("sub_batch", simulator.sub_batch)
    return _simulate_batches(
        project, events, folder, manifest, simulator, data, images, samples, batch_size, timesteps
    )


def _simulate_batches(
    project, events, folder, manifest, simulator, data, images, samples, batch_size, timesteps
) -> dict[str, Any]:
    plan = [
        (i, start, min(start + batch_size, samples))
        for i, start in enumerate(range(0, samples, batch_size))
    ]
    done = {int(e["index"]): e for e in manifest["batches"]}
    for index, start, stop in plan:
        path = folder / batch_filename(index)
        if index not in done and path.is_file():
            entry = _adopt(path, index, start, stop, timesteps)  # written just before a crash
            if entry is not None:
                done[index] = entry
                _record(folder, manifest, entry)
    todo = [item for item in plan if item[0] not in done]
    if done:
        events.log(f"{len(done)} of {len(plan)} batches already simulated; resuming")
    events.progress("batch", len(done), len(plan), "batch")
    workers = project.config.data.num_workers
    for index, start, stop in todo:
        subset = images.subset(list(range(start, stop)))
        x, y = next(iterate_batches(subset, stop - start, data.norm, num_workers=workers))
        began = time.perf_counter()

        def step(t: int) -> None:
            events.progress("timestep", t, timesteps, "step")

        result = simulator.run(x, timesteps, progress=step)
        heads = {name: spikes.numpy() for name, spikes in result.heads.items()}
        counts = result.counts.numpy()
        payload = encode_batch(y.cpu().numpy(), np.arange(start, stop), heads, counts, timesteps)
        atomic.write_bytes(folder / batch_filename(index), payload)
        seconds = time.perf_counter() - began
        entry = {
            "index": index,
            "file": batch_filename(index),
            "first": start,
            "samples": stop - start,
            "sha256": sha256_bytes(payload),
            "bytes": len(payload),
            "labels": y.cpu().tolist(),
            "population_spikes": counts.sum(axis=0).tolist(),
            "seconds": round(seconds, 3),
            "device": str(simulator.device),
        }
        done[index] = entry
        _record(folder, manifest, entry)
        rate = (stop - start) * timesteps / max(seconds, 1e-9)
        events.progress("batch", len(done), len(plan), "batch", rate=f"{rate:,.0f} img·step/s")
        events.metric("image_steps_per_second", rate, batch=index)
        events.checkpoint()
    manifest["complete"] = True
    manifest["stamp"]["finished"] = stamp("simulate", "")["created"]
    write_manifest(folder, manifest)
    events.artifact(str(folder / MANIFEST), "spikes")
    return manifest


def _record(folder: Path, manifest: dict[str, Any], entry: dict[str, Any]) -> None:
    batches = [e for e in manifest["batches"] if e["index"] != entry["index"]] + [entry]
    manifest["batches"] = sorted(batches, key=lambda e: e["index"])
    write_manifest(folder, manifest)


def _adopt(path: Path, index: int, start: int, stop: int, timesteps: int) -> dict[str, Any] | None:
    """Entry for a complete batch file the manifest does not list yet (None if unusable)."""
    try:
        batch = read_batch_file(path)
    except DataError:
        return None
    if batch.indices is None or batch.indices.tolist() != list(range(start, stop)):
        return None
    if batch.timesteps != timesteps:
        return None
    payload = path.read_bytes()
    return {
        "index": index,
        "file": path.name,
        "first": start,
        "samples": stop - start,
        "sha256": sha256_bytes(payload),
        "bytes": len(payload),
        "labels": batch.labels.tolist(),
        "population_spikes": batch.counts.sum(axis=0).tolist(),
        "seconds": None,
    }
