"""Stage `simulate`: run the converted network as IF neurons over one split.

Writes spikes/<split>/batch_NNNNN.npz (atomically, one per batch) and
manifest.json, rewritten after every batch. A rerun resumes at the first
missing batch; spikes made with other settings (T, batch size, sample count,
dtype, delay, initial membrane, a different snn.pt or split) are refused
unless `force` (`bsf simulate --overwrite`). The manifest records the chunk
length, and a resumed run reuses it, so its files are byte-identical to an
uninterrupted run's. Spikes being replaced are moved aside, not deleted, until the
new run has written its first batch: a run that fails before that (out of memory,
Ctrl-C, a bad setting found late) puts them back untouched.

The steps: `_settings` (what is asked), `_identity` (what the spikes will be made
of), `_resume_point` (what of the folder can be kept), `_start_manifest`, and the
batch loop `_simulate_batches` over a `Job`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import atomic, budget, distributed, layout
from .config.schema import MAX_TIMESTEPS
from .data import Datasets, ImageSet, iterate_batches, load_datasets
from .devices import resolve_device
from .errors import ArtifactExistsError, BsfError, DataError
from .events import Events
from .project import Project
from .snn.network import ConvertedNetwork, load_converted
from .snn.simulator import DTYPES, Simulator
from .spikes.store import (
    FORMAT,
    MANIFEST,
    VERSION,
    SetAside,
    batch_filename,
    broken_batches,
    encode_batch,
    read_batch_file,
    read_manifest,
    recover_set_aside,
    sha256_bytes,
    write_manifest,
)
from .stages import CONVERT, SIMULATION_IDENTITY_INPUTS, simulation
from .versioning import stamp

Manifest = dict[str, Any]


def spikes_folder(project: Project, split: str) -> Path:
    return project.layout.spikes(split)


@dataclass(frozen=True)
class Settings:
    """What one simulation is asked for: the command line's options over [simulate]."""

    split: str
    timesteps: int
    batch_size: int
    dtype: str
    device: torch.device
    limit: int | None


@dataclass
class Job:
    """One split's simulation, ready for the batch loop."""

    events: Events
    folder: Path
    manifest: Manifest
    simulator: Simulator
    data: Datasets
    images: ImageSet
    samples: int
    batch_size: int
    timesteps: int
    num_workers: int
    replaced: SetAside | None = None  # old spikes, kept until the first new batch
    world: distributed.World = field(default_factory=distributed.World)  # who shares it


def _settings(cfg, split: str, timesteps, batch_size, device, dtype, limit) -> Settings:
    simulation(split)  # a known split, or a one-line error
    timesteps = cfg.timesteps if timesteps is None else timesteps
    batch_size = cfg.batch_size if batch_size is None else batch_size
    dtype_name = dtype or cfg.dtype
    if dtype_name not in DTYPES:
        raise DataError(f"dtype {dtype_name!r}: choose one of {', '.join(DTYPES)}")
    for name, value in (("timesteps", timesteps), ("batch size", batch_size), ("limit", limit)):
        if value is not None and value < 1:
            raise DataError(f"{name} = {value}: must be at least 1")
    if timesteps > MAX_TIMESTEPS:
        raise DataError(f"timesteps = {timesteps}: must be at most {MAX_TIMESTEPS:,}")
    torch_device = resolve_device(
        device or cfg.device, "--device" if device else "[simulate] device"
    )
    if torch_device.type == "cpu" and dtype_name == "float16":
        raise DataError('dtype "float16" needs CUDA; use float32 or bfloat16 on the CPU')
    return Settings(split, timesteps, batch_size, dtype_name, torch_device, limit)


def _identity(project: Project, settings: Settings, samples: int, split_digest: str) -> dict:
    """What the spikes are made of: a folder made with another identity is not resumed."""
    cfg = project.config.simulate
    digests = simulation(settings.split).input_digests(project.layout)
    return {
        "split": settings.split,
        "timesteps": settings.timesteps,
        "batch_size": settings.batch_size,
        "samples": samples,
        "dtype": settings.dtype,
        "output_delay": cfg.output_delay,
        "init_mem": cfg.init_mem,
        **{name: digests[key] for name, key in SIMULATION_IDENTITY_INPUTS.items()},
        "split_digest": split_digest,
    }


def _describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    # digests: say what changed, not the digests
    digests = {**SIMULATION_IDENTITY_INPUTS, "split_digest": "the data split"}
    diffs = []
    for key in new:
        if old.get(key) != new[key]:
            if key in digests:
                diffs.append(f"{digests[key]} changed")
            else:
                diffs.append(f"{key} {old.get(key)} → {new[key]}")
    return ", ".join(diffs) or "different settings"


def _resume_point(
    folder: Path, identity: dict[str, Any], force: bool, events: Events
) -> tuple[Manifest | None, SetAside | None]:
    """The manifest to continue from (None: start afresh in an empty folder), and the
    old spikes `force` moved aside to make room (None: there were none).

    Spikes of another identity, or batch files without a manifest, are refused unless
    `force`; batches the manifest lists whose file is gone or truncated are forgotten.
    """
    try:
        manifest = read_manifest(folder) if folder.is_dir() else None
    except DataError:
        if not force:
            raise
        manifest = None  # an unreadable manifest is replaced with the rest of the folder
    if manifest is not None and (force or manifest.get("identity") != identity):
        if not force:
            old = manifest.get("identity", {})
            raise ArtifactExistsError(
                f"{folder}: holds spikes made with other settings "
                f"({_describe_difference(old, identity)}); rerun with the same settings to "
                "resume, or pass --overwrite to replace them"
            )
        manifest = None
    if manifest is None:
        if any(folder.glob("batch_*.npz")) and not force:
            raise ArtifactExistsError(
                f"{folder}: holds batch files but no {MANIFEST}, so their settings are "
                "unknown; pass --overwrite to replace them"
            )
        if force and folder.is_dir() and any(folder.iterdir()):
            return None, SetAside.move(folder)
        return None, None
    broken = broken_batches(folder, manifest)
    if broken:
        names = ", ".join(e["file"] for e in broken)
        events.log(f"{folder}: {names} missing or truncated; simulating again")
        manifest["batches"] = [e for e in manifest["batches"] if e not in broken]
        manifest["complete"] = False
        write_manifest(folder, manifest)
    return manifest, None


@contextlib.contextmanager
def _put_back_on_failure(replaced: SetAside | None, events: Events) -> Iterator[None]:
    """Whatever stops the new run before its first batch (Ctrl-C too) restores the old
    spikes it was to replace."""
    try:
        yield
    except BaseException:
        if replaced is not None and replaced.held:
            replaced.restore()
            if not replaced.held:
                events.log(f"{replaced.folder}: stopped before its first batch; old spikes kept")
        raise


def _simulator(project: Project, net: ConvertedNetwork, settings: Settings) -> Simulator:
    cfg = project.config.simulate
    return Simulator(
        net.model,
        device=settings.device,
        dtype=DTYPES[settings.dtype],
        output_delay=cfg.output_delay,
        init_mem=cfg.init_mem,
        chunk=cfg.chunk,
        memory_budget=None if cfg.memory_mb is None else cfg.memory_mb << 20,
    )


def _start_manifest(
    project: Project,
    net: ConvertedNetwork,
    simulator: Simulator,
    settings: Settings,
    identity: dict[str, Any],
    samples: int,
) -> Manifest:
    batch_size = settings.batch_size
    return {
        "format": FORMAT,
        "version": VERSION,
        "identity": identity,
        "timesteps": settings.timesteps,
        "num_classes": len(net.classes),
        "classes": net.classes,
        "heads": list(net.head_names),
        "populations": [
            {"name": p.name, "shape": list(p.shape), "neurons": p.neurons} for p in simulator.pops
        ],
        "samples": samples,
        "batch_size": batch_size,
        "settings": {
            "chunk": simulator.chunk_length(
                min(batch_size, samples, simulator.sub_batch or batch_size)
            ),
            "sub_batch": simulator.sub_batch,
            "device": str(settings.device),
        },
        "batches": [],
        "complete": False,
        "stamp": simulation(settings.split).stamp(project.config),
    }


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
    force: bool = False,
) -> Manifest:
    """Simulate `split` (or its first `limit` samples); returns the final manifest.

    Under torchrun the ranks share the batches (`_simulate_batches`); the folder ends
    as one process leaves it: the same batch files, and a manifest that differs only
    in the times it records."""
    events = events or Events()
    settings = _settings(
        project.config.simulate, split, timesteps, batch_size, device, dtype, limit
    )
    here = distributed.world()
    if here.sharded and settings.device.type == "cuda" and settings.device.index is None:
        settings = replace(settings, device=torch.device("cuda", here.local_rank))
    distributed.join()
    folder = spikes_folder(project, split)
    layout.require_folder(folder, project.folder)  # a file in its place: say so up front
    CONVERT.require_current(project)
    net = load_converted(project.layout.snn_pt)
    ann_meta = layout.read_json(project.layout.ann_json)
    data = load_datasets(project.config)
    project.require_same_split(data.plan.digest(), ann_meta)
    images = data.split(split)
    samples = min(len(images), limit) if limit else len(images)
    budget.check_simulation(net.model, settings, project.config.simulate, samples)
    identity = _identity(project, settings, samples, data.plan.digest())
    # only the leader (rank 0, or the one process) changes the folder; under torchrun
    # the other ranks get its manifest, and a refusal, from it
    manifest = replaced = refusal = None
    if here.leader:
        try:
            settled = recover_set_aside(folder)
            if settled:
                events.log(settled)
            manifest, replaced = _resume_point(folder, identity, force, events)
        except BsfError as exc:
            refusal = exc
    refusal, manifest = distributed.broadcast((refusal, manifest), here)
    if refusal is not None:
        raise refusal
    if manifest is not None and manifest.get("complete"):
        events.log(f"{folder} is up to date (use --overwrite to simulate again)")
        return manifest
    with _put_back_on_failure(replaced, events):
        simulator = _simulator(project, net, settings)
        if here.leader:
            layout.make_folder(folder, project.folder)
            atomic.remove_temporaries(folder)
            if manifest is None:
                manifest = _start_manifest(project, net, simulator, settings, identity, samples)
                write_manifest(folder, manifest)
            _adopt_written(folder, manifest, _plan(samples, settings.batch_size), samples)
        manifest = distributed.broadcast(manifest, here)
        # the recorded chunking makes a resumed run's bytes equal an uninterrupted run's
        simulator.chunk = int(manifest["settings"]["chunk"])
        simulator.sub_batch = manifest["settings"].get("sub_batch", simulator.sub_batch)
        job = Job(
            events,
            folder,
            manifest,
            simulator,
            data,
            images,
            samples,
            settings.batch_size,
            settings.timesteps,
            project.config.data.num_workers,
            replaced,
            here,
        )
        return _simulate_batches(job)


def _plan(samples: int, batch_size: int) -> list[tuple[int, int, int]]:
    """(index, first sample, end) of every batch of the split."""
    return [
        (i, start, min(start + batch_size, samples))
        for i, start in enumerate(range(0, samples, batch_size))
    ]


def _adopt_written(folder: Path, manifest: Manifest, plan, samples: int) -> None:
    """Record the whole batch files the manifest does not list (written just before a
    crash, or by another rank of a sharded run that was stopped)."""
    done = {int(e["index"]) for e in manifest["batches"]}
    for index, start, stop in plan:
        path = folder / batch_filename(index)
        if index not in done and path.is_file():
            entry = _adopt(path, index, start, stop, manifest["timesteps"])
            if entry is not None:
                _record(folder, manifest, entry)


def _simulate_batches(job: Job) -> Manifest:
    """The batches the manifest lacks; under torchrun each rank simulates every
    size-th of them and the leader records them all, as one process would have."""
    events, folder, manifest, timesteps = job.events, job.folder, job.manifest, job.timesteps
    here = job.world
    plan = _plan(job.samples, job.batch_size)
    done = {int(e["index"]): e for e in manifest["batches"]}
    todo = [item for item in plan if item[0] not in done]
    if done:
        events.log(f"{len(done)} of {len(plan)} batches already simulated; resuming")
    mine = here.shard(todo)
    if here.sharded:
        events.log(f"rank {here.rank} of {here.size}: {len(mine)} of the {len(todo)} batches")
    others = [item for item in todo if item not in mine]
    events.progress("batch", len(done), len(plan), "batch")
    made: list[dict[str, Any]] = []
    for index, start, stop in mine:
        subset = job.images.subset(list(range(start, stop)))
        x, y = next(
            iterate_batches(subset, stop - start, job.data.norm, num_workers=job.num_workers)
        )
        began = time.perf_counter()

        def step(t: int) -> None:
            events.progress("timestep", t, timesteps, "step")

        result = job.simulator.run(x, timesteps, progress=step)
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
            "device": str(job.simulator.device),
        }
        done[index] = entry
        made.append(entry)
        if here.leader:
            _record(folder, manifest, entry)
        if job.replaced is not None:
            job.replaced.discard()  # the new run has a batch of its own now
        rate = (stop - start) * timesteps / max(seconds, 1e-9)
        # the other ranks' batches count once their files are there (written atomically)
        written = sum((folder / batch_filename(i)).is_file() for i, _, _ in others)
        events.progress(
            "batch", len(done) + written, len(plan), "batch", rate=f"{rate:,.0f} img·step/s"
        )
        events.metric("image_steps_per_second", rate, batch=index)
        if index != mine[-1][0]:  # after the last batch the split is marked complete first
            events.checkpoint()
    if job.replaced is not None:
        job.replaced.discard()
    gathered = distributed.gather(made, here)
    if here.leader:
        for entries in (gathered or [])[1:]:
            for entry in entries:
                _record(folder, manifest, entry)
        manifest["complete"] = True
        manifest["stamp"]["finished"] = stamp("simulate", "")["created"]
        write_manifest(folder, manifest)
        events.artifact(str(folder / MANIFEST), "spikes")
    return distributed.broadcast(manifest, here)


def _record(folder: Path, manifest: Manifest, entry: dict[str, Any]) -> None:
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
