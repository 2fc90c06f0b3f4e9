"""Turn the text of a project.toml into typed sections, collecting every problem.

Each problem is one line that names the key path and says what would fix it,
e.g. `[model] ic = 20: vgg11 has 8 blocks (0-7)`.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import types
import typing
from dataclasses import fields
from typing import Any, Union

from ..data.catalog import DATASETS
from ..errors import did_you_mean, toml_repr
from ..models.archs import ARCHS
from .schema import MAX_ALPHAS, SECTIONS, words

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _describe(tp: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if tp in names:
        return names[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return "a list of " + {int: "integers", str: "strings", float: "numbers"}[item]
    if origin in (Union, types.UnionType):
        arms = [arm for arm in typing.get_args(tp) if arm is not type(None)]
        return " or ".join(_describe(arm) for arm in arms)
    return str(tp)


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """(ok, converted value) for a TOML value against a schema annotation."""
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if tp is str:
        return isinstance(value, str), value
    origin = typing.get_origin(tp)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            return False, value
        converted = []
        for item in value:
            ok, item = _coerce(item, item_tp)
            if not ok:
                return False, value
            converted.append(item)
        return True, converted
    if origin in (Union, types.UnionType):
        for arm in typing.get_args(tp):
            if arm is type(None):
                continue
            ok, converted = _coerce(value, arm)
            if ok:
                return True, converted
        return False, value
    raise TypeError(f"unsupported schema type {tp!r}")


def _non_finite(value: Any) -> bool:
    """A float (or a list holding one) that is inf or nan."""
    if isinstance(value, list):
        return any(map(_non_finite, value))
    return isinstance(value, float) and not math.isfinite(value)


def parse_toml(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark some editors write
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        twice = _defined_twice(text) if str(exc).startswith("Cannot ") else None
        return None, [twice or f"not valid TOML: {exc}"]


_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _defined_twice(text: str) -> str | None:
    """`[train] lr: set twice (lines 3 and 5); keep one` for TOML's `Cannot overwrite a
    value` / `Cannot declare … twice` (None where the repeat is not a plain line)."""
    seen: dict[tuple[str, str], int] = {}
    tables: dict[str, int] = {}
    table, depth, quote = "", 0, None
    for number, line in enumerate(text.splitlines(), 1):
        if quote is not None:  # inside a multi-line string
            if line.count(quote) % 2:
                quote = None
            continue
        if depth > 0:  # inside a multi-line array
            depth += line.count("[") - line.count("]")
            continue
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            table = header.group(1).replace(" ", "")
            if table in tables:
                return f"[{table}]: declared twice (lines {tables[table]} and {number}); merge them"
            tables[table] = number
            continue
        key = _KEY.match(line)
        if key is None:
            continue
        name = key.group(1).replace(" ", "").replace('"', "").replace("'", "")
        where = f"[{table}] {name}" if table else name
        if (table, name) in seen:
            return f"{where}: set twice (lines {seen[table, name]} and {number}); keep one"
        seen[table, name] = number
        value = line[key.end() :]
        for mark in ('"""', "'''"):
            if value.count(mark) % 2:
                quote = mark
        if quote is None and value.lstrip().startswith("["):
            depth = value.count("[") - value.count("]")
    return None


def build_sections(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Typed section objects (defaults filled) and the schema-level problems."""
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in SECTIONS:
            hint = did_you_mean(name, SECTIONS)
            hint = hint.replace("'", "[", 1).replace("'", "]", 1) if hint else ""
            problems.append(
                f"[{name}]: unknown section{hint or '; sections are ' + ', '.join(SECTIONS)}"
            )
        elif not isinstance(value, dict):
            problems.append(f"{name} = {toml_repr(value)}: expected a [{name}] table")
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            table = {}
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            where = f"[{name}] {key}"
            if key not in known:
                if isinstance(value, dict):
                    problems.append(f"[{name}.{key}]: unknown table{did_you_mean(key, known)}")
                    continue
                home = [s for s, c in SECTIONS.items() if key in {f.name for f in fields(c)}]
                where_else = words(f"[{h}]" for h in home) if home else ""
                hint = f"; it belongs in {where_else}" if home else did_you_mean(key, known)
                problems.append(
                    f"{where}: unknown key{hint or '; known keys are ' + ', '.join(known)}"
                )
                continue
            ok, converted = _coerce(value, hints[key])
            if not ok:
                problems.append(f"{where} = {toml_repr(value)}: expected {_describe(hints[key])}")
                continue
            if _non_finite(converted):
                problems.append(f"{where} = {toml_repr(value)}: must be a finite number")
                continue
            meta = known[key].metadata
            choices = meta.get("choices")
            if choices and converted not in choices:
                hint = did_you_mean(str(converted), choices)
                problems.append(
                    f"{where} = {toml_repr(value)}: unknown {key}{hint or ''} "
                    f"(choose one of {', '.join(choices)})"
                )
                continue
            check = meta.get("check")
            if check is not None and converted is not None:
                items = converted if isinstance(converted, list) else [converted]
                bad = next((msg for msg in map(check, items) if msg), None)
                if bad:
                    problems.append(f"{where} = {toml_repr(value)}: {bad}")
                    continue
            values[key] = converted
        sections[name] = cls(**values)
    return sections, problems


def cross_check(sections: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """Problems that involve more than one key (needs typed, schema-valid sections)."""
    problems: list[str] = []
    data, model, train = sections["data"], sections["model"], sections["train"]
    sim, fusion = sections["simulate"], sections["fusion"]
    dataset = DATASETS[data.dataset]
    arch = ARCHS[model.arch]

    if model.ic is not None:
        ics = model.ic if isinstance(model.ic, list) else [model.ic]
        shown = toml_repr(model.ic)
        last = arch.num_blocks - 1
        if not ics:
            problems.append(f"[model] ic = []: give at least one block index (0-{last})")
        for ic in ics:
            if not 0 <= ic <= last:
                problems.append(
                    f"[model] ic = {shown}: {arch.name} has {arch.num_blocks} blocks (0-{last})"
                )
                break
        if len(set(ics)) != len(ics):
            problems.append(f"[model] ic = {shown}: each block index may appear once")

    if train.milestones is not None:
        ms = train.milestones
        for m in ms:
            if not 0 < m < train.epochs:
                problems.append(
                    f"[train] milestones = {toml_repr(ms)}: {m} is not between 1 and "
                    f"epochs - 1 = {train.epochs - 1}"
                )
                break
        if any(b <= a for a, b in itertools.pairwise(ms)):
            problems.append(f"[train] milestones = {toml_repr(ms)}: must be increasing")

    if dataset.needs_root and not data.root and not dataset.default_root:
        problems.append(
            f"[data] root: {dataset.name} needs the folder holding {dataset.root_hint}; "
            'set root = "/path/to/datasets"'
        )
    if data.download and dataset.name not in ("mnist", "cifar10", "cifar100"):
        problems.append(
            f"[data] download = true: only mnist, cifar10 and cifar100 can be downloaded; "
            f"put {dataset.name} under root yourself"
        )
    if data.image_size is not None and dataset.image_size is not None:
        problems.append(
            f"[data] image_size = {data.image_size}: only imagefolder images are resized; "
            f"{dataset.name} images are {dataset.image_size}×{dataset.image_size} (remove the key)"
        )
    if dataset.train_size is not None:
        pool = dataset.train_size
        test = 0
        if not dataset.has_test:
            test = data.test_size if data.test_size is not None else round(0.2 * pool)
            if test >= pool:
                problems.append(
                    f"[data] test_size = {test}: {dataset.name} has {pool} images; "
                    "leave some for training"
                )
        if data.tune_size is not None and data.tune_size + test >= pool:
            problems.append(
                f"[data] tune_size = {data.tune_size}: {dataset.name} has {pool - test} "
                "training images; leave some for training"
            )

    bad_splits = [s for s in sim.splits if s not in ("tune", "test")]
    if bad_splits:
        problems.append(
            f"[simulate] splits = {toml_repr(sim.splits)}: {bad_splits[0]!r} is not a split "
            "(use tune and/or test)"
        )
    elif not sim.splits or len(set(sim.splits)) != len(sim.splits):
        problems.append(
            f"[simulate] splits = {toml_repr(sim.splits)}: list tune and/or test, each once"
        )

    if fusion.alpha_max <= fusion.alpha_min:
        problems.append(
            f"[fusion] alpha_max = {fusion.alpha_max:g}: must be above alpha_min = "
            f"{fusion.alpha_min:g}"
        )
    points = (fusion.alpha_max - fusion.alpha_min) / fusion.alpha_step + 1
    if points > MAX_ALPHAS:
        problems.append(
            f"[fusion] alpha_step = {fusion.alpha_step:g}: the α grid from {fusion.alpha_min:g} "
            f"to {fusion.alpha_max:g} would hold {points:,.0f} values, at most {MAX_ALPHAS:,}; "
            "raise alpha_step or narrow alpha_min … alpha_max"
        )
    if fusion.knots is not None:
        k = fusion.knots
        if not k or k[0] != 0 or any(b <= a for a, b in itertools.pairwise(k)):
            problems.append(f"[fusion] knots = {toml_repr(k)}: must start at 0 and increase")
        elif k[-1] > sim.timesteps - 1:
            problems.append(
                f"[fusion] knots = {toml_repr(k)}: {k[-1]} is beyond the last timestep "
                f"{sim.timesteps - 1} ([simulate] timesteps = {sim.timesteps})"
            )
    return problems
