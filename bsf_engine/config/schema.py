"""The project.toml schema: one dataclass per section, defaults and docs in one place.

Field metadata:
  doc      what the key means (shown by `bsf new` templates and docs/config.md)
  choices  allowed values for a string key
  check    a function value -> problem text or None (ranges)
Keys left out of project.toml take the default; `None` defaults are resolved
from the dataset or architecture (see `bsf_engine.config.resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..data.catalog import DATASETS
from ..models.archs import ARCHS
from ..states import EnergyModel, Numerics, choices


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be > 0"


def _non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be >= 0"


def _fraction_open(value: float) -> str | None:
    return None if 0 < value <= 1 else "must be in (0, 1]"


def _unit_interval_half_open(value: float) -> str | None:
    return None if 0 <= value < 1 else "must be in [0, 1)"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _positive_at_most(high: float):
    def check(value: float) -> str | None:
        if value <= 0:
            return "must be > 0"
        return None if value <= high else f"must be at most {_number(high)}"

    return check


def _non_negative_at_most(high: float):
    def check(value: float) -> str | None:
        if value < 0:
            return "must be >= 0"
        return None if value <= high else f"must be at most {_number(high)}"

    return check


MAX_TIMESTEPS = 1_000_000  # [simulate] timesteps (the paper runs 3000)
MAX_ALPHAS = 100_000  # values on the [fusion] α grid (the default has 101)


def _percentile(value: float) -> str | None:
    return None if 0 < value <= 100 else "must be in (0, 100]"


def _device(value: str) -> str | None:
    index = value[5:]
    if value in ("auto", "cpu", "cuda") or (
        value.startswith("cuda:") and index.isascii() and index.isdigit()
    ):
        return None
    return 'must be "auto", "cpu", "cuda" or "cuda:N"'


def _threads(value: int | str) -> str | None:
    if value == "auto" or (isinstance(value, int) and value > 0):
        return None
    return 'must be a positive integer or "auto"'


def choices_of(section: type, key: str) -> tuple[str, ...]:
    """The values a string key allows, as the schema lists them."""
    return next(f.metadata["choices"] for f in fields(section) if f.name == key)


def words(options) -> str:
    """`a, b or c`, for help texts."""
    options = list(options)
    return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]


def opt(default: Any, doc: str, *, choices: tuple[str, ...] | None = None, check=None) -> Any:
    meta = {"doc": doc, "choices": choices, "check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ProjectSection:
    name: str = opt("", "a display name (default: the folder name)")
    description: str = opt("", "free text shown in listings")


@dataclass
class DataSection:
    dataset: str = opt("digits", "which dataset", choices=tuple(DATASETS))
    root: str = opt(
        "",
        "folder holding the dataset files; ~ and $VARS expand, relative paths are "
        "relative to the project folder (not needed for digits or mnist5k; fashion-mnist "
        "looks in /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)",
    )
    download: bool = opt(False, "download MNIST/CIFAR into root through torchvision if missing")
    tune_size: int | None = opt(
        None,
        "images held out of the training set: validation accuracy while training and "
        "the spikes α is tuned on (default: 20% for digits, 10% otherwise)",
        check=_positive,
    )
    test_size: int | None = opt(
        None,
        "test images: drawn from the pool for datasets without a test split (digits, "
        "mnist5k, a single imagefolder tree; default 20% / 10%), else a seeded, "
        "stratified subset of the official test split (default: all of it)",
        check=_positive,
    )
    train_size: int | None = opt(
        None,
        "training images: a seeded, stratified subset of what tune (and test) leave of "
        "the pool, for a CPU-sized run (default: all of them)",
        check=_positive,
    )
    split_seed: int = opt(0, "seed of the train/tune/test split (recorded in split.json)")
    batch_size: int = opt(128, "training batch size", check=_positive)
    eval_batch_size: int = opt(500, "batch size for evaluation and calibration", check=_positive)
    num_workers: int = opt(
        2, "loader worker processes (file-backed datasets only)", check=_non_negative
    )
    augment: bool | None = opt(
        None, "random crop + horizontal flip while training (default: on for colour datasets)"
    )
    image_size: int | None = opt(
        None, "side length images are resized to (imagefolder only; default 32)", check=_positive
    )


@dataclass
class ModelSection:
    arch: str = opt("vggtiny", "network architecture", choices=tuple(ARCHS))
    ic: int | list[int] | None = opt(
        None,
        "feature block(s) the intermediate classifier reads, 0-based "
        "(default per arch, e.g. 6 for vgg19)",
    )
    width: float = opt(1.0, "channel width multiplier", check=_positive_at_most(16))
    batchnorm: bool = opt(True, "BatchNorm after every conv (folded away on conversion)")


@dataclass
class TrainSection:
    epochs: int = opt(200, "training epochs", check=_positive)
    optimizer: str = opt("sgd", "sgd (Nesterov momentum) or adamw", choices=("sgd", "adamw"))
    lr: float = opt(0.1, "initial learning rate", check=_positive_at_most(10))
    momentum: float = opt(0.9, "SGD momentum", check=_unit_interval_half_open)
    nesterov: bool = opt(True, "Nesterov momentum (sgd)")
    weight_decay: float = opt(5e-4, "L2 weight decay", check=_non_negative_at_most(1))
    schedule: str = opt("multistep", "learning-rate schedule", choices=("multistep", "cosine"))
    milestones: list[int] | None = opt(
        None, "multistep: epochs where lr is multiplied by gamma (default 30/60/80% of epochs)"
    )
    gamma: float = opt(0.2, "multistep: lr factor at each milestone", check=_fraction_open)
    ic_weight_start: float = opt(
        0.01, "IC loss weight at epoch 0 (SDN schedule)", check=_non_negative_at_most(10)
    )
    ic_weight_goal: float | None = opt(
        None,
        "IC loss weight reached at the last epoch, growing linearly (default: the "
        "share of conv MACs up to the IC block, as in Shallow-Deep Networks)",
        check=_non_negative_at_most(10),
    )
    seed: int = opt(0, "seed of weight init, shuffling and augmentation")
    device: str = opt("auto", "auto, cpu, cuda or cuda:N", check=_device)
    amp: bool = opt(True, "mixed precision on CUDA (bf16 where supported, else fp16)")


@dataclass
class ConvertSection:
    percentile: float = opt(
        99.9, "activation percentile that sets each layer's scale λ", check=_percentile
    )
    calibration_samples: int = opt(500, "images used to measure activations", check=_positive)
    calibration_split: str = opt(
        "train", "split the calibration images come from", choices=("train", "tune")
    )
    device: str = opt("auto", "auto, cpu, cuda or cuda:N", check=_device)


@dataclass
class SimulateSection:
    timesteps: int = opt(3000, "timesteps T per image", check=_positive_at_most(MAX_TIMESTEPS))
    batch_size: int = opt(500, "images per spike batch file", check=_positive)
    splits: list[str] = opt(["tune", "test"], "splits to simulate (tune, test)")
    device: str = opt("auto", "auto, cpu, cuda or cuda:N", check=_device)
    dtype: str = opt(
        "float32",
        "simulation dtype (bf16/fp16 on CUDA keep a float32 membrane)",
        choices=("float32", "float64", "bfloat16", "float16"),
    )
    output_delay: bool = opt(
        False, "the reference's one-step output delay per spiking layer (docs/simulation.md)"
    )
    init_mem: float = opt(
        0.0, "initial membrane potential (fraction of threshold)", check=_unit_interval_half_open
    )
    chunk: int | None = opt(
        None,
        "timesteps per batched layer call (default: from memory_mb, at most 32)",
        check=_positive,
    )
    memory_mb: int | None = opt(
        None,
        "memory budget for one chunk's activations (default: half the GPU's free memory "
        "on CUDA, 1024 on the CPU)",
        check=_positive,
    )


@dataclass
class FusionSection:
    alpha_min: float = opt(0.0, "α grid start", check=_non_negative)
    alpha_max: float = opt(100.0, "α grid end (inclusive)", check=_positive)
    alpha_step: float = opt(1.0, "α grid step", check=_positive)
    knots: list[int] | None = opt(
        None, "knots of the piecewise-linear α(t) (default: dense early, sparse late, from T)"
    )
    numerics: str = opt(
        "exact",
        "exact (bsf's: log-space evidence, E clipped) or reference (the authors' "
        "procedure and numbers, to the bit: tuning, the report's fusion and SpikeSim rows)",
        choices=choices(Numerics),
    )
    target: float = opt(
        0.97, "target accuracy as a fraction of the ANN final-head accuracy", check=_fraction_open
    )


@dataclass
class EnergySection:
    model: str = opt("spikesim", "energy model", choices=choices(EnergyModel))
    e_ac_pj: float = opt(0.9, "syops: energy of one accumulate (pJ)", check=_positive)
    e_mac_pj: float = opt(4.6, "syops: energy of one multiply-accumulate (pJ)", check=_positive)
    xbar_size: int = opt(64, "spikesim: crossbar size", check=_positive)
    xbar_ar: float = opt(1.76423, "spikesim: crossbar array read (pJ)", check=_non_negative)
    tile_buff: float = opt(397.0, "spikesim: tile buffer (pJ)", check=_non_negative)
    temp_buff: float = opt(0.2, "spikesim: temporal buffer (pJ)", check=_non_negative)
    sub: float = opt(1.15e-6, "spikesim: subtractor (pJ)", check=_non_negative)
    adc: float = opt(2.03084, "spikesim: ADC (pJ)", check=_non_negative)
    htree: float = opt(19.64, "spikesim: H-tree (pJ, used ×8)", check=_non_negative)
    mux: float = opt(0.094245, "spikesim: multiplexer (pJ)", check=_non_negative)
    mem_fetch: float = opt(4.64, "spikesim: memory fetch (pJ)", check=_non_negative)
    neuron: float = opt(1.274, "spikesim: neuron (pJ, used ×4)", check=_non_negative)
    gap_rows: bool = opt(False, "spikesim: also map each head's global average pool onto crossbars")


@dataclass
class ExitSection:
    temperature: float = opt(
        1.0,
        "confidence and entropy exit policies: softmax of the final head's logits "
        "(λ·counts/t, λ its conversion scale) over this temperature; 1 is the ANN's own",
        check=_positive_at_most(1e6),
    )
    alpha: str = opt(
        "grid",
        "which tuned α(t) the BSF exit policies (fixed-t BSF, posterior) fuse with",
        choices=("grid", "emp"),
    )


@dataclass
class ComputeSection:
    threads: int | str = opt(
        "auto",
        'CPU threads torch uses: "auto" (per stage: one for tune and report, torch\'s '
        "default for train, convert and simulate) or a count; OMP_NUM_THREADS / "
        "MKL_NUM_THREADS and --threads win over it",
        check=_threads,
    )


SECTIONS: dict[str, type] = {
    "project": ProjectSection,
    "data": DataSection,
    "model": ModelSection,
    "train": TrainSection,
    "convert": ConvertSection,
    "simulate": SimulateSection,
    "fusion": FusionSection,
    "energy": EnergySection,
    "exit": ExitSection,
    "compute": ComputeSection,
}
