"""Memory a stage will need, estimated before it starts, against what the machine has.

A simulation batch or a tuning pass that cannot fit is refused before anything is
read, written or removed, with the setting to lower (exit 2), instead of dying half
way with an allocator error. The estimates count the arrays that grow with the
settings (spike records, membranes, chunk activations, α tables), with the
temporaries that encoding and writing them take; they are meant to be within a
small factor of the peak, not exact. Where the free memory cannot be read, nothing
is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .config.schema import FusionSection
from .errors import ResourceError
from .snn.network import Population, spec_populations
from .snn.simulator import (
    CPU_CHUNK_BYTES,
    DEFAULT_SUB_BATCH,
    DTYPES,
    MAX_CHUNK,
    chunk_for_budget,
    default_memory_budget,
)

MEMINFO = Path("/proc/meminfo")
CGROUP_FILES = (  # (limit, usage): cgroup v2, then v1
    (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),
    (
        Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ),
)


# what there is ------------------------------------------------------------------------
def available_memory() -> int | None:
    """Bytes this process may still allocate: MemAvailable (or free pages), capped by the
    headroom left under a cgroup memory limit; None where neither can be read."""
    found = [n for n in (_system_available(), _cgroup_headroom()) if n is not None]
    return min(found) if found else None


def _system_available() -> int | None:
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _cgroup_headroom() -> int | None:
    for limit_file, usage_file in CGROUP_FILES:
        try:
            limit = limit_file.read_text().strip()
            usage = int(usage_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # "max" or a huge v1 value: no limit
            return max(0, int(limit) - usage)
        return None
    return None


def available_device_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device (None for the CPU, or where it cannot be read)."""
    if device.type != "cuda":
        return None
    try:
        return int(torch.cuda.mem_get_info(device)[0])
    except (RuntimeError, AssertionError):
        return None


def size(n: float) -> str:
    """Bytes for a message: `730 MiB`, `93.1 GiB`, `728 TiB`."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            value = n / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    return f"{max(n, 0) / 2**10:.3g} KiB"


def _largest(fits: Callable[[int], bool], high: int) -> int:
    """The largest n in 1 … high with fits(n) (fits grows false with n); 0 if none."""
    if not fits(1):
        return 0
    low = 1
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


# simulation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationShape:
    """What sizes one batch's simulation: the network's populations and the settings."""

    pops: tuple[Population, ...]
    heads: int
    classes: int
    params: int  # weights of the network
    device: torch.device
    dtype: torch.dtype
    output_delay: bool
    chunk: int | None  # [simulate] chunk (None: from the memory budget)
    memory_budget: int  # [simulate] memory_mb in bytes (or its default for the device)


def simulation_bytes(shape: SimulationShape, batch: int, timesteps: int) -> tuple[int, int]:
    """(host bytes, device bytes) one batch of `batch` images × `timesteps` steps needs.

    Host: every head's output record [T, B, K] (bool) with its copy while sub-batches
    fill it and while it is packed for the file, per-population counts [T, L] (int64,
    with the copies of encoding them), the images. Device (the host, on the CPU): the
    network, every membrane (and last spikes with the output delay), the input current
    and one chunk's activations of a sub-batch, and on CUDA the records again (they
    stay on the GPU until the batch is done).
    """
    kind = "cuda" if shape.device.type == "cuda" else "cpu"
    sub = min(batch, DEFAULT_SUB_BATCH[kind] or batch)
    element = max(torch.tensor([], dtype=shape.dtype).element_size(), 4)
    state = 8 if shape.dtype == torch.float64 else 4
    neurons = sum(p.neurons for p in shape.pops)
    biggest = max(p.neurons for p in shape.pops)
    record = shape.heads * timesteps * batch * shape.classes
    parts = record if sub < batch else 0  # the sub-batch's own record, copied in
    packing = timesteps * batch * shape.classes + record // 2  # contiguous copy, bits, zip
    counts = 8 * timesteps * len(shape.pops) * (6 if sub < batch else 5)
    images = 2 * 4 * batch * shape.pops[0].neurons
    host = record + parts + packing + counts + images
    if shape.chunk is not None:
        chunk = shape.chunk
    else:
        chunk = chunk_for_budget(list(shape.pops), sub, element, shape.memory_budget, MAX_CHUNK)
        if kind == "cpu":
            chunk = min(chunk, max(1, CPU_CHUNK_BYTES // (biggest * sub * element)))
    chunk = min(chunk, timesteps)
    membranes = sub * neurons * (state + (element if shape.output_delay else 0))
    activations = 3 * biggest * sub * element * chunk + sub * shape.pops[0].neurons * state
    device = 2 * shape.params * element + membranes + activations
    if kind == "cpu":
        return host + device, 0
    return host, device + record + 8 * timesteps * len(shape.pops)


def check_simulation(model, settings, cfg, samples: int, available: int | None = None) -> None:
    """Refuse a simulation whose batches cannot fit in memory, naming what to lower.

    model: the converted MultiExitNet; settings: simulate.Settings; cfg: [simulate];
    `available` (bytes) replaces the free memory read from the system.
    """
    shape = SimulationShape(
        tuple(spec_populations(model.spec)),
        len(model.head_names),
        model.spec.num_classes,
        sum(p.numel() for p in model.parameters()),
        settings.device,
        DTYPES[settings.dtype],
        cfg.output_delay,
        cfg.chunk,
        default_memory_budget(settings.device) if cfg.memory_mb is None else cfg.memory_mb << 20,
    )
    batch, timesteps = max(1, min(settings.batch_size, samples)), settings.timesteps
    host_free = available_memory() if available is None else available
    device_free = available_device_memory(settings.device)
    for index, free, where in ((0, host_free, "memory"), (1, device_free, "GPU memory")):
        if free is None:
            continue

        def fits(b: int, t: int = timesteps, index=index, free=free) -> bool:
            return simulation_bytes(shape, b, t)[index] <= free

        if fits(batch):
            continue
        need = simulation_bytes(shape, batch, timesteps)[index]
        most_images = _largest(fits, batch)
        most_steps = _largest(lambda t: fits(batch, t), timesteps)
        if most_images:
            fix = f"lower [simulate] batch_size to {most_images} or less (or timesteps)"
        elif most_steps:
            fix = f"lower [simulate] timesteps to {most_steps:,} or less (or batch_size)"
        else:
            fix = "lower [simulate] timesteps and batch_size"
            if shape.chunk is not None:
                fix += ", and chunk"
        raise ResourceError(
            f"simulating {batch:,} image{'s' if batch > 1 else ''} × {timesteps:,} timesteps "
            f"needs about {size(need)} of {where} per batch, {size(free)} is free: {fix}"
        )


# tuning -------------------------------------------------------------------------------
def grid_count(fusion: FusionSection) -> int:
    """How many α the [fusion] grid holds (without making it)."""
    span = (fusion.alpha_max - fusion.alpha_min) / fusion.alpha_step
    return round(span) + 1 if math.isfinite(span) else 2**63


def tuning_bytes(
    timesteps: int,
    alphas: int,
    samples: int,
    classes: int,
    groups: int,
    reference: bool,
    block: int = 64,
) -> int:
    """Bytes tuning α needs: both heads' spikes bit-packed (with the copy that joins the
    batches), the per-step × α tables (correct counts, evidence, the L(α, M) table and
    its temporaries, the copies of writing alpha.npz), and one time block's cumulative
    counts [block, S, K] with the work arrays derived from them."""
    packed = 2 * 2 * samples * classes * -(-timesteps // 8)
    per_cell = 8 * timesteps * alphas
    tables = per_cell * (5 if reference else 9)
    block = min(block, timesteps)
    cells = block * samples * classes
    work = cells * 48
    if reference:
        work += 5 * 8 * groups * block * (alphas + 2)
    return packed + tables + work


def check_tuning(
    source, alphas: int, numerics: str, block: int = 64, available: int | None = None
) -> None:
    """Refuse tuning `alphas` grid values on `source` (a SpikeSource) that cannot fit in
    memory, naming what to lower; `available` replaces the free memory of the system."""
    free = available_memory() if available is None else available
    if free is None:
        return
    reference = str(numerics) == "reference"
    timesteps, samples, classes = source.timesteps, source.samples, source.num_classes
    groups = source.num_batches

    def fits(a: int) -> bool:
        return tuning_bytes(timesteps, a, samples, classes, groups, reference, block) <= free

    if fits(alphas):
        return
    need = tuning_bytes(timesteps, alphas, samples, classes, groups, reference, block)
    most = _largest(fits, min(alphas, 2**62))
    if most:
        fix = (
            f"raise [fusion] alpha_step or narrow alpha_min … alpha_max (at most {most:,} "
            "α values fit)"
        )
    else:
        fix = "lower [simulate] timesteps or [data] tune_size (the spikes alone do not fit)"
    raise ResourceError(
        f"tuning {alphas:,} α values over {timesteps:,} timesteps of {samples:,} images "
        f"needs about {size(need)} of memory, {size(free)} is free: {fix}"
    )
