"""Sizes that cannot fit are refused before a stage starts (issue 11 §4): exit 2, the
setting to lower named, every file that existed unchanged. The free memory is injected,
so nothing here depends on the test machine's memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from bsf_engine import budget
from bsf_engine.models.spec import ModelSpec
from bsf_engine.snn.network import spec_populations

GiB = 2**30


def files(folder: Path) -> dict[str, str]:
    """Every file under a folder with the digest of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def free(monkeypatch):
    """Set the memory budget.available_memory reports (bytes)."""

    def set_free(n: int) -> None:
        monkeypatch.setattr(budget, "available_memory", lambda: n)

    return set_free


def shape(arch="vgg19", classes=10, image=32, channels=3, device="cpu", **kw):
    spec = ModelSpec(arch, channels, image, classes, (6,) if arch == "vgg19" else (2,), 1.0, False)
    settings = {
        "output_delay": False,
        "chunk": None,
        "memory_budget": 1024 << 20,
        "dtype": torch.float32,
        **kw,
    }
    return budget.SimulationShape(
        tuple(spec_populations(spec)),
        2,
        classes,
        20_000_000,
        torch.device(device),
        settings["dtype"],
        settings["output_delay"],
        settings["chunk"],
        settings["memory_budget"],
    )


# the estimates -------------------------------------------------------------------------
def test_paper_sized_runs_fit_in_a_few_gibibytes() -> None:
    """No false refusals: the paper's CIFAR-10 VGG19 (T = 3000, 500 images a batch) and its
    CIFAR-100 tuning (5000 images, 101 α) need well under what a laptop has."""
    host, device = budget.simulation_bytes(shape(), 500, 3000)
    assert device == 0 and host < 1 * GiB
    host, device = budget.simulation_bytes(shape(device="cuda"), 500, 3000)
    assert host < 1 * GiB and device < 2 * GiB
    assert budget.tuning_bytes(3000, 101, 5000, 100, 10, reference=False) < 4 * GiB


def test_the_simulation_estimate_grows_with_timesteps_and_batch() -> None:
    s = shape("vggtiny", image=8, channels=1)
    # one image for 10⁹ steps: the two heads' [T, 1, 10] records and the [T, L] counts
    # alone are ~100 GB, what the simulator tried to allocate before this check existed
    assert budget.simulation_bytes(s, 1, 10**9)[0] > 100 * 10**9
    small = budget.simulation_bytes(s, 10, 1000)[0]
    assert budget.simulation_bytes(s, 20, 1000)[0] > small
    assert budget.simulation_bytes(s, 10, 2000)[0] > small


def test_the_tuning_estimate_counts_the_step_by_alpha_tables() -> None:
    # [T, A] int64 correct counts + float64 evidence at least
    assert budget.tuning_bytes(3000, 10**6, 100, 10, 1, reference=False) > 16 * 3000 * 10**6
    assert budget.grid_count(budget.FusionSection()) == 101
    assert budget.grid_count(budget.FusionSection(alpha_step=1e-12)) == 10**14 + 1


def test_available_memory_takes_the_smaller_of_the_system_and_the_cgroup(
    tmp_path, monkeypatch
) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n")
    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    monkeypatch.setattr(budget, "MEMINFO", meminfo)
    monkeypatch.setattr(budget, "CGROUP_FILES", ((limit, usage),))
    assert budget.available_memory() == 4000000 * 1024  # no cgroup files
    limit.write_text("max\n")
    usage.write_text("123\n")
    assert budget.available_memory() == 4000000 * 1024  # no limit
    limit.write_text(f"{3 * GiB}\n")
    usage.write_text(f"{1 * GiB}\n")
    assert budget.available_memory() == 2 * GiB


def test_size_is_written_for_people() -> None:
    assert budget.size(728 * 2**40) == "728 TiB"
    assert budget.size(1.5 * GiB) == "1.5 GiB"
    assert budget.size(2**20) == "1 MiB"


# the refusals --------------------------------------------------------------------------
def test_a_simulation_that_cannot_fit_is_refused_and_nothing_is_removed(
    cli, project_copy, free
) -> None:
    before = files(project_copy)
    free(256 * 2**20)
    # --overwrite would empty spikes/test first: the check comes before it
    result = cli(
        "simulate", project_copy, "--split", "test", "--timesteps", "100000", "--overwrite"
    )
    assert result.exit_code == 2, result.stderr
    message = result.stderr.strip()
    assert message.startswith("error: simulating 200 images × 100,000 timesteps needs about ")
    assert "of memory per batch, 256 MiB is free: lower [simulate] batch_size to " in message
    assert "Traceback" not in result.stderr and "\n" not in message
    assert files(project_copy) == before


def test_a_single_image_that_cannot_fit_says_to_lower_timesteps(project_copy, free) -> None:
    from bsf_engine import simulate
    from bsf_engine.errors import ResourceError
    from bsf_engine.project import Project

    free(64 * 2**20)
    with pytest.raises(ResourceError) as info:
        simulate.run(Project.open(project_copy), timesteps=1_000_000, limit=1)
    assert "lower [simulate] timesteps to " in str(info.value)


def test_timesteps_beyond_the_limit_are_refused_on_the_command_line(cli, project_copy) -> None:
    before = files(project_copy)
    result = cli("simulate", project_copy, "--timesteps", "1000000000", "--limit", "1")
    assert result.exit_code == 2
    assert result.stderr == "error: timesteps = 1000000000: must be at most 1,000,000\n"
    assert files(project_copy) == before


def test_tuning_that_cannot_fit_is_refused_naming_alpha_step(cli, handmade_folder, free) -> None:
    toml = handmade_folder / "project.toml"
    toml.write_text(toml.read_text() + "\n[fusion]\nalpha_step = 0.001\nalpha_max = 10.0\n")
    before = files(handmade_folder)
    free(16 * 2**20)
    result = cli("tune", handmade_folder)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(
        "error: tuning 10,001 α values over 48 timesteps of 256 images needs about "
    )
    assert "16 MiB is free: raise [fusion] alpha_step or narrow alpha_min … alpha_max" in (
        result.stderr
    )
    assert files(handmade_folder) == before


def test_an_unknown_device_on_the_command_line_is_a_usage_error(cli, project_copy) -> None:
    before = files(project_copy)
    result = cli("simulate", project_copy, "--device", "tpu", "--overwrite")
    assert result.exit_code == 2
    assert result.stderr == ('error: --device tpu: must be "auto", "cpu", "cuda" or "cuda:N"\n')
    assert files(project_copy) == before
