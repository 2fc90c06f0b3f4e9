"""project.toml templates for `bsf new`, and the config reference (docs/config.md).

A template sets the keys that matter for its dataset and lists every other key
commented out at its default, with its meaning, so the file documents itself.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from ..data.catalog import DATASETS
from ..errors import toml_repr
from ..models.archs import ARCHS
from .schema import SECTIONS

# The paper's MNIST setting, also the start for the other 28×28 digit and clothing sets
# (render_template copies a preset before changing it).
MNIST_SETTING: dict[str, dict[str, Any]] = {
    "model": {"arch": "vgg11", "ic": 3},
    "train": {"epochs": 60},
    "simulate": {"timesteps": 3000},
}

# Per-dataset starting points (the paper's settings where it has them).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "digits": {
        "data": {"batch_size": 32},
        "model": {"arch": "vggtiny", "ic": 2},
        "train": {"epochs": 30, "lr": 0.05},
        "simulate": {"timesteps": 500, "batch_size": 128, "output_delay": True},
    },
    "mnist": MNIST_SETTING,
    "fashion-mnist": MNIST_SETTING,
    "mnist5k": MNIST_SETTING,
    "cifar10": {
        "model": {"arch": "vgg19", "ic": 6},
        "train": {"epochs": 200},
        "simulate": {"timesteps": 3000},
    },
    "cifar100": {
        "model": {"arch": "vgg19", "ic": 6},
        "train": {"epochs": 200},
        "simulate": {"timesteps": 3000},
    },
    "tiny-imagenet": {
        "model": {"arch": "resnet18", "ic": 3},
        "train": {"epochs": 100},
        "simulate": {"timesteps": 3000},
    },
    "imagefolder": {
        "data": {"image_size": 32},
        "model": {"arch": "resnet18", "ic": 3},
        "train": {"epochs": 100},
        "simulate": {"timesteps": 3000},
    },
}


def _default(f) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory()


def render_template(
    dataset: str = "digits",
    arch: str | None = None,
    ic: int | list[int] | None = None,
    root: str | None = None,
    name: str = "",
    description: str = "",
) -> str:
    preset = {section: dict(values) for section, values in PRESETS[dataset].items()}
    chosen: dict[str, dict[str, Any]] = {s: dict(preset.get(s, {})) for s in SECTIONS}
    chosen["data"]["dataset"] = dataset
    if name:
        chosen["project"]["name"] = name
    if description:
        chosen["project"]["description"] = description
    if root is not None:
        chosen["data"]["root"] = root
    elif DATASETS[dataset].needs_root and not DATASETS[dataset].default_root:
        chosen["data"]["root"] = "~/datasets"
    if arch is not None:
        chosen["model"]["arch"] = arch
        if ic is None:
            chosen["model"]["ic"] = ARCHS[arch].default_ic
    if ic is not None:
        chosen["model"]["ic"] = ic
    lines = [
        "# bsf project. Keys set here override the defaults; the commented keys show",
        "# every other setting at its default. Reference: docs/config.md",
    ]
    for section, cls in SECTIONS.items():
        lines += ["", f"[{section}]"]
        for f in fields(cls):
            doc = f.metadata.get("doc", "")
            if f.name in chosen[section]:
                lines.append(f"{f.name} = {toml_repr(chosen[section][f.name])}  # {doc}")
            else:
                default = _default(f)
                shown = "(auto)" if default is None else toml_repr(default)
                lines.append(f"# {f.name} = {shown}  # {doc}")
    return "\n".join(lines) + "\n"


def schema_markdown() -> str:
    """The config reference as Markdown (docs/config.md is this, verbatim)."""
    out = [
        "# project.toml reference",
        "",
        "Generated from `bsf_engine/config/schema.py` by",
        "`python -m bsf_engine.config.template > docs/config.md`; a test keeps it in step.",
        "Keys left out take the default; *auto* means the default follows from the",
        "dataset or architecture (see the description). Unknown keys are errors.",
    ]
    for section, cls in SECTIONS.items():
        out += ["", f"## [{section}]", "", "| key | default | meaning |", "|---|---|---|"]
        for f in fields(cls):
            default = _default(f)
            shown = "*auto*" if default is None else f"`{toml_repr(default)}`"
            doc = f.metadata.get("doc", "")
            choices = f.metadata.get("choices")
            if choices:
                doc += " — one of " + ", ".join(f"`{c}`" for c in choices)
            out.append(f"| `{f.name}` | {shown} | {doc} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(schema_markdown(), end="")
