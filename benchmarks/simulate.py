"""Simulation speed, memory and storage, against baselines in the same run.

    python benchmarks/simulate.py [--rounds 5] [--timesteps 64] [--batch 64]
                                  [--nets vgg11,vgg19,digits]

Contenders (batch 64, T = 64 by default), run interleaved (A B C … A B C …),
reported as median and range of image-timesteps/s:
  ours          bsf's simulator with its defaults for this device
  ours-float    the same with float32 convolutions (no integer spike convs)
  step-oracle   the plain step-by-step loop (bsf_engine.snn.oracle) in float32
  sj-single     SpikingJelly 2.0, IFNode(v_reset=None), single-step mode
  sj-multi      SpikingJelly 2.0, multi-step mode (SeqToANNContainer + IFNode), torch backend
  ann           one ANN forward of the same (normalised) network, images/s
Then peak RSS of a simulation at T = 64 and T = 1024 (fresh processes), and
spike storage: bytes per batch and read time against the reference layout
(float32 [T, B, C] arrays in a compressed npz).

Device mode, for a GPU (`--device cpu` runs the same code, e.g. at tiny sizes):

    python benchmarks/simulate.py --device cuda [--batches 256,1024] [--timesteps 64]
        [--dtype bfloat16] [--nets vgg19,vgg11,resnet18] [--rounds 5] [--json FILE]

per net and batch, interleaved, synchronised around every timed call, after one
warm-up call each (kernels compiled, graphs captured), medians over the rounds:
  ours                   the simulator's defaults (float32: true float32, TF32 off)
  ours-bf16[+compile|+triton][+graph]   --dtype convs with a float32 membrane, with
                         each scan (scans.py) and with CUDA graphs: what each option buys
  step-oracle            the step-by-step loop, float32, over its first --oracle-steps
  sj-multi-bf16|fp32     SpikingJelly multi-step in time chunks as long as ours, its
                         IF implementation of choice (bf16 through its precision API)
  ann-bf16|fp32          dense forwards of the same network (images/s): the limit
with the spikes of each next to ours (options must agree exactly), the ratios to the
goals (best ours ≥ 0.9× the ANN, ≥ 1.5× SpikingJelly), the full CIFAR-10 VGG19
experiment's time extrapolated from the VGG19 rates (goal < 10 min), and the peak GPU
memory of one VGG19 simulation at T = 64 and 3000 (--memory-*). benchmarks/gpu_check.sh
runs all of it on a lent GPU in one go.

SpikingJelly is a benchmark-only dependency: `make bench-setup` installs it.
"""

from __future__ import annotations

import argparse
import copy
import gc
import importlib.metadata
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bsf_engine.convert import measure_scales, normalise  # noqa: E402
from bsf_engine.models.net import (  # noqa: E402
    ConvBlock,
    Head,
    MultiExitNet,
    ResidualBlock,
    build_model,
)
from bsf_engine.models.spec import ModelSpec  # noqa: E402
from bsf_engine.models.walk import HeadLayer, walk  # noqa: E402
from bsf_engine.snn import scans  # noqa: E402
from bsf_engine.snn.oracle import simulate_stepwise  # noqa: E402
from bsf_engine.snn.simulator import (  # noqa: E402
    DTYPES,
    SimulationResult,
    Simulator,
    default_memory_budget,
    float32_convolutions,
)
from bsf_engine.spikes.store import encode_batch, read_batch_file  # noqa: E402


# -- networks -----------------------------------------------------------------------
def random_network(arch: str, seed: int = 0) -> MultiExitNet:
    """Random weights, normalised on random images like a conversion would (fires 5–20%)."""
    torch.manual_seed(seed)
    spec = ModelSpec(arch, 3, 32, 10, (ARCH_IC[arch],), batchnorm=False)
    model = build_model(spec).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                module.bias.normal_(0.0, 0.05)
        calibration = torch.randn(128, 3, 32, 32)
        scales = measure_scales(model, [(calibration, None)], 128, 99.9)
    return normalise(model, scales)


ARCH_IC = {"vgg11": 3, "vgg19": 6, "vggtiny": 2, "resnet18": 3}


def digits_network() -> tuple[MultiExitNet, torch.Tensor, str]:
    """The trained digits SNN when projects/digits has one, else a random vggtiny."""
    from bsf_engine.layout import Layout
    from bsf_engine.snn.network import load_converted

    path = Layout(ROOT / "projects" / "digits").snn_pt
    if path.is_file():
        net = load_converted(path)
        from sklearn.datasets import load_digits

        images = torch.from_numpy(load_digits().images[:, None] / 16.0).float()
        mean, std = net.mean[0], net.std[0]
        return net.model, (images - mean) / std, "trained projects/digits"
    torch.manual_seed(0)
    spec = ModelSpec("vggtiny", 1, 8, 10, (2,), batchnorm=False)
    model = build_model(spec).eval()
    x = torch.randn(256, 1, 8, 8)
    return normalise(model, measure_scales(model, [(x, None)], 256, 99.9)), x, "random vggtiny"


# -- SpikingJelly ---------------------------------------------------------------------
def spikingjelly_network(model: MultiExitNet, multi_step: bool) -> nn.Module | None:
    """The network as SpikingJelly modules, layer for layer in the walk's order: each conv
    (a residual block's conv1, and conv2 plus its shortcut) into an IFNode with soft
    reset, each head a pool → IFNode → linear → IFNode."""
    try:
        from spikingjelly.activation_based import layer, neuron
    except ImportError:
        return None
    mode = "m" if multi_step else "s"

    def stateless(module: nn.Module) -> nn.Module:
        return layer.SeqToANNContainer(module) if multi_step else module

    def if_node() -> nn.Module:
        return neuron.IFNode(v_threshold=1.0, v_reset=None, step_mode=mode)

    def key(name: str) -> str:  # module names cannot hold dots
        return name.replace(".", "_")

    class SJNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = list(walk(model.spec))
            self.ops = nn.ModuleDict()
            self.neurons = nn.ModuleDict()
            for item in self.layers:
                if isinstance(item, HeadLayer):
                    pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
                    self.ops[key(item.pool)] = stateless(pool)
                    head = model.heads[item.name]
                    assert isinstance(head, Head)
                    self.ops[key(item.output)] = stateless(copy.deepcopy(head.fc))
                    self.neurons[key(item.pool)] = if_node()
                    self.neurons[key(item.output)] = if_node()
                    continue
                block = model.layer(item)
                if isinstance(block, ResidualBlock):
                    for part in ("conv1", "conv2", "shortcut"):
                        conv = copy.deepcopy(getattr(block, part))
                        self.ops[f"{key(item.name)}_{part}"] = stateless(conv)
                    self.neurons[key(f"{item.name}.mid")] = if_node()
                else:
                    assert isinstance(block, ConvBlock)
                    self.ops[key(item.name)] = stateless(copy.deepcopy(block.conv))
                self.neurons[key(item.name)] = if_node()
            self.order = model.head_names

        def forward(self, x):
            outputs = {}
            for item in self.layers:
                if isinstance(item, HeadLayer):
                    pooled = self.neurons[key(item.pool)](self.ops[key(item.pool)](x))
                    fc = self.ops[key(item.output)](pooled)
                    outputs[item.name] = self.neurons[key(item.output)](fc)
                elif item.kind == "residual":
                    name = key(item.name)
                    mid = self.neurons[key(f"{item.name}.mid")](self.ops[f"{name}_conv1"](x))
                    current = self.ops[f"{name}_conv2"](mid) + self.ops[f"{name}_shortcut"](x)
                    x = self.neurons[name](current)
                else:
                    x = self.neurons[key(item.name)](self.ops[key(item.name)](x))
            return [outputs[h] for h in self.order]

    return SJNet().eval()


def run_spikingjelly(net: nn.Module, x: torch.Tensor, timesteps: int, multi_step: bool):
    from spikingjelly.activation_based import functional

    functional.reset_net(net)
    with torch.no_grad():
        if multi_step:
            return net(x.unsqueeze(0).expand(timesteps, *x.shape).contiguous())
        outs = [net(x) for _ in range(timesteps)]
        return [torch.stack([o[i] for o in outs]) for i in range(len(outs[0]))]


# -- measurements ---------------------------------------------------------------------
def interleaved(contenders: dict, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in contenders}
    with torch.no_grad():
        for fn, _ in contenders.values():
            fn()  # warm-up (allocators, oneDNN primitive caches)
        for _ in range(rounds):
            for name, (fn, work) in contenders.items():
                began = time.perf_counter()
                fn()
                results[name].append(work / (time.perf_counter() - began))
    return results


def mismatch(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    wrong = sum((a[h] != b[h]).sum().item() for h in a)
    return wrong / sum(a[h].numel() for h in a)


def speed(name: str, model: MultiExitNet, x: torch.Tensor, timesteps: int, rounds: int) -> None:
    batch = x.shape[0]
    work = batch * timesteps
    ours = Simulator(model)
    ours_float = Simulator(model, conv_backend="float")
    contenders = {
        "ours": (lambda: ours.run(x, timesteps), work),
        "ours-float": (lambda: ours_float.run(x, timesteps), work),
        "step-oracle": (lambda: simulate_stepwise(model, x, timesteps, dtype=torch.float32), work),
    }
    sj = {}
    for label, multi in (("sj-single", False), ("sj-multi", True)):
        net = spikingjelly_network(model, multi)
        if net is not None:
            sj[label] = net
            contenders[label] = (
                lambda net=net, multi=multi: run_spikingjelly(net, x, timesteps, multi),
                work,
            )
    contenders["ann"] = (lambda: model(x), batch)
    print(f"\n## {name}: batch {batch}, T = {timesteps}, {rounds} interleaved rounds")
    convs = sum(isinstance(m, nn.Conv2d) for m in model.blocks.modules()) - 1
    print(
        f"ours runs {len(ours.integer_convs)} of {convs} spike convolutions as integer, "
        f"chunk {ours.chunk_length(min(batch, ours.sub_batch or batch))}, "
        f"sub-batch {ours.sub_batch}"
    )
    if not sj:
        print("SpikingJelly is not installed (make bench-setup): its rows are missing")
    results = interleaved(contenders, rounds)
    med = {k: statistics.median(v) for k, v in results.items()}
    for key, values in results.items():
        unit = "images/s" if key == "ann" else "image-timesteps/s"
        print(f"{key:12s} {med[key]:9.1f} {unit:18s} (range {min(values):.1f}-{max(values):.1f})")
    reference = simulate_stepwise(model, x, timesteps, dtype=torch.float32)
    result = ours.run(x, timesteps)
    neurons = torch.tensor([p.neurons for p in result.populations], dtype=torch.float64)
    rates = result.counts.sum(0).double() / (timesteps * batch * neurons)
    print(
        f"firing rate: mean {100 * rates.mean():.1f}% over populations "
        f"(min {100 * rates.min():.1f}%, max {100 * rates.max():.1f}%)"
    )
    ours_mismatch = mismatch(result.heads, reference.heads)
    print(f"spike mismatch vs the float32 step oracle: ours {ours_mismatch:.2e}")
    exact = simulate_stepwise(model, x, timesteps, dtype=torch.float64)
    print(
        f"  for scale: float32 oracle vs float64 oracle "
        f"{mismatch(reference.heads, exact.heads):.2e}, ours vs float64 oracle "
        f"{mismatch(result.heads, exact.heads):.2e}"
    )
    for label, net in sj.items():
        outs = run_spikingjelly(net, x, timesteps, label == "sj-multi")
        sj_heads = {h: o.bool() for h, o in zip(model.head_names, outs)}
        sj_mismatch = mismatch(sj_heads, reference.heads)
        print(f"spike mismatch vs the float32 step oracle: {label} {sj_mismatch:.2e}")
    baselines = {k: med[k] for k in ("step-oracle", "sj-single", "sj-multi") if k in med}
    best = max(baselines, key=baselines.get)
    print(f"ratio ours / best baseline ({best}): {med['ours'] / baselines[best]:.2f}")
    print(f"ratio ours / ANN forward: {med['ours'] / med['ann']:.2f}")
    print(f"ratio ours / ours-float: {med['ours'] / med['ours-float']:.2f}")


def rss_child(timesteps: int, batch: int) -> None:
    model = random_network("vgg11")
    x = torch.randn(batch, 3, 32, 32)
    Simulator(model).run(x, timesteps)
    print(json.dumps({"timesteps": timesteps, "peak_rss_mb": peak_rss_kb() / 1024}))


def peak_rss_kb() -> int:
    """This process's peak RSS. (getrusage's ru_maxrss survives exec, so a child started
    by a big parent would report the parent's peak; VmHWM belongs to this image only.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory(batch: int) -> None:
    print("\n## peak RSS of one VGG11 simulation (fresh process each)")
    peaks = {}
    for timesteps in (64, 1024):
        proc = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(timesteps), "--batch", str(batch)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[timesteps] = json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_mb"]
        print(f"T = {timesteps:5d}: {peaks[timesteps]:.0f} MB")
    print(f"ratio peak RSS T=1024 / T=64: {peaks[1024] / peaks[64]:.3f}")


def reference_npz(labels: np.ndarray, heads: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    ic = next(h for h in heads if h != "final")
    np.savez_compressed(
        buffer,
        labels=labels,
        final=heads["final"].astype(np.float32),
        mid=heads[ic].astype(np.float32),
    )
    return buffer.getvalue()


def storage(name: str, model: MultiExitNet, x: torch.Tensor, timesteps: int) -> None:
    result = Simulator(model).run(x, timesteps)
    heads = {h: s.numpy() for h, s in result.heads.items()}
    labels = np.zeros(x.shape[0], dtype=np.int64)
    ours = encode_batch(labels, np.arange(x.shape[0]), heads, result.counts.numpy(), timesteps)
    ref = reference_npz(labels, heads)
    heads_only = encode_batch(
        labels, np.arange(x.shape[0]), heads, np.zeros((timesteps, 0), dtype=np.int64), timesteps
    )
    tmp = ROOT / "benchmarks" / ".storage-probe"
    tmp.mkdir(exist_ok=True)
    (tmp / "ours.npz").write_bytes(ours)
    (tmp / "ref.npz").write_bytes(ref)

    def read_ours():
        batch = read_batch_file(tmp / "ours.npz")
        return [batch.head(h) for h in batch.heads]

    def read_ref():
        with np.load(tmp / "ref.npz") as npz:
            return [npz["final"], npz["mid"], npz["labels"]]

    times = {"ours": [], "ref": []}
    for _ in range(7):
        for key, fn in (("ours", read_ours), ("ref", read_ref)):
            began = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - began)
    for path in tmp.iterdir():
        path.unlink()
    tmp.rmdir()
    print(f"\n## storage, {name}: {x.shape[0]} images × T = {timesteps}")
    print(f"bytes per batch: ours {len(ours):,} (heads + per-layer counts), reference {len(ref):,}")
    print(
        f"ratio bytes ours / reference: {len(ours) / len(ref):.3f} "
        f"(heads alone: {len(heads_only) / len(ref):.3f})"
    )
    t_ours, t_ref = statistics.median(times["ours"]), statistics.median(times["ref"])
    print(f"read one batch: ours {1e3 * t_ours:.1f} ms, reference {1e3 * t_ref:.1f} ms")
    print(f"ratio read time ours / reference: {t_ours / t_ref:.2f}")


# -- device mode: --device cuda (or cpu: the same code at small sizes) -------------------
SHORT = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
# the full CIFAR-10 VGG19 experiment: 10,000 tune + 10,000 test images × T = 3000
FULL_IMAGES, FULL_T = 20_000, 3000


@dataclass
class Contender:
    run: Callable[[], Any]  # one simulation (or ANN forwards); returns what it computed
    work: int  # image-timesteps per call (images for the ANN)
    note: str = ""


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def describe(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:160] if lines else ''}"


def ours_variants(dtype: torch.dtype) -> list[tuple[str, dict]]:
    """(label, Simulator options): its defaults, then `dtype` with each scan, each with
    and without CUDA graphs (those the device cannot run are reported as such)."""
    variants: list[tuple[str, dict]] = [("ours", {})]
    for graph in (False, True):
        for scan in scans.SCANS:
            if dtype == torch.float32 and scan == "loop" and not graph:
                continue  # that is "ours"
            name = f"ours-{SHORT[dtype]}" + ("" if scan == "loop" else f"+{scan}")
            name += "+graph" if graph else ""
            variants.append((name, {"dtype": dtype, "scan": scan, "cuda_graph": graph}))
    return variants


def sj_multi(
    model: MultiExitNet,
    x: torch.Tensor,
    timesteps: int,
    chunk: int,
    dtype: torch.dtype,
    device: torch.device,
) -> Contender | None:
    """SpikingJelly multi-step, `chunk` steps a call (its state carries, so memory stays
    bounded as ours does), its fastest IF implementation: chosen by SpikingJelly itself
    (native CUDA if built, else Triton, else torch); bf16/fp16 through its precision
    API, which keeps a float32 membrane as ours does (Triton only)."""
    net = spikingjelly_network(model, multi_step=True)
    if net is None:
        return None
    from spikingjelly.activation_based import functional

    net = net.to(device, dtype)
    for param in net.parameters():
        param.requires_grad_(False)
    if dtype != torch.float32:
        from spikingjelly.activation_based.precision import (
            PrecisionConfig,
            prepare_model_for_precision,
        )

        config = PrecisionConfig(mode="fp32", neuron_storage="fp32")
        net = prepare_model_for_precision(net, device, config).model
        note = f"{SHORT[dtype]} convs, float32 membrane (its precision API: Triton)"
    elif device.type == "cuda":
        try:
            chosen = functional.neuron_implementation("if", device)["implementation"]
        except Exception as exc:  # only the note needs it
            chosen = f"unknown ({describe(exc)})"
        note = f"float32 (TF32 convs, PyTorch's default), IF implementation: {chosen}"
    else:
        note = "float32, IF implementation: torch (CPU)"
    x = x.to(device, dtype)
    heads = len(model.head_names)
    classes = model.spec.num_classes

    def run() -> dict[str, torch.Tensor]:
        functional.reset_net(net)
        record = torch.zeros(
            (heads, timesteps, x.shape[0], classes), dtype=torch.bool, device=device
        )
        with torch.no_grad():
            for start in range(0, timesteps, chunk):
                steps = min(chunk, timesteps - start)
                outs = net(x.unsqueeze(0).expand(steps, *x.shape))
                for index, spikes in enumerate(outs):
                    record[index, start : start + steps] = spikes.bool()
        record = record.cpu()
        return {h: record[i] for i, h in enumerate(model.head_names)}

    return Contender(run, x.shape[0] * timesteps, note)


def ann_forward(model: MultiExitNet, x: torch.Tensor, dtype: torch.dtype, reps: int) -> Contender:
    """`reps` dense forwards of the same network in `dtype` (channels_last on CUDA)."""
    device = x.device
    ann = copy.deepcopy(model).to(device, dtype).eval()
    x = x.to(dtype)
    if device.type == "cuda":
        ann = ann.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def run() -> None:
        with torch.no_grad(), float32_convolutions(device, dtype):
            for _ in range(reps):
                ann(x)

    return Contender(run, x.shape[0] * reps, f"{reps} forward{'s' if reps > 1 else ''} a call")


def device_contenders(
    model: MultiExitNet,
    x: torch.Tensor,
    args: argparse.Namespace,
    dtype: torch.dtype,
    budget: int,
) -> tuple[dict[str, Contender], dict[str, str], int]:
    """Every contender for one net and batch, with the ones that could not be made."""
    device, timesteps = x.device, args.timesteps
    contenders: dict[str, Contender] = {}
    failed: dict[str, str] = {}
    wanted = set(args.variants.split(",")) if args.variants else None
    chunk = Simulator(model, device=device, memory_budget=budget).chunk_length(x.shape[0])
    for name, options in ours_variants(dtype):
        if wanted and name not in wanted:
            continue
        try:
            sim = Simulator(model, device=device, memory_budget=budget, **options)
        except (ValueError, RuntimeError) as exc:
            failed[name] = describe(exc)
            continue
        contenders[name] = Contender(partial(sim.run, x, timesteps), x.shape[0] * timesteps)
    steps = min(args.oracle_steps, timesteps)
    if not wanted or "step-oracle" in wanted:
        contenders["step-oracle"] = Contender(
            lambda: simulate_stepwise(model, x, steps, dtype=torch.float32, device=device),
            x.shape[0] * steps,
            f"float32, its rate over the first {steps} steps",
        )
    for sj_dtype in dict.fromkeys((dtype, torch.float32)):
        name = f"sj-multi-{SHORT[sj_dtype]}"
        if wanted and name not in wanted:
            continue
        try:
            made = sj_multi(model, x, timesteps, chunk, sj_dtype, device)
        except Exception as exc:  # SpikingJelly refuses this setting here: say so, go on
            failed[name] = describe(exc)
            continue
        if made is None:
            failed[name] = "SpikingJelly is not installed (make bench-setup)"
        else:
            contenders[name] = made
    reps = 10 if device.type == "cuda" else 1
    for ann_dtype in dict.fromkeys((dtype, torch.float32)):
        name = f"ann-{SHORT[ann_dtype]}"
        if not wanted or name in wanted:
            contenders[name] = ann_forward(model, x, ann_dtype, reps)
    return contenders, failed, chunk


def measure(
    contenders: dict[str, Contender], rounds: int, device: torch.device, failed: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Warm-up call each (compiles, captures; its output kept for the spike checks), then
    `rounds` interleaved rounds, synchronised around every timed call. A contender that
    fails (out of memory, say) is dropped and named; the others go on."""
    outputs: dict[str, Any] = {}
    results: dict[str, list[float]] = {}
    for name in list(contenders):
        try:
            with torch.no_grad():
                outputs[name] = contenders[name].run()
            sync(device)
            results[name] = []
        except Exception as exc:
            failed[name] = describe(exc)
            del contenders[name]
            release(device)
    for _ in range(rounds):
        for name in list(contenders):
            try:
                sync(device)
                began = time.perf_counter()
                with torch.no_grad():
                    contenders[name].run()
                sync(device)
                results[name].append(contenders[name].work / (time.perf_counter() - began))
            except Exception as exc:
                failed[name] = describe(exc)
                del contenders[name], results[name]
                release(device)
    return {k: v for k, v in results.items() if v}, outputs


def heads_of(output: Any) -> dict[str, torch.Tensor] | None:
    if isinstance(output, SimulationResult):
        return output.heads
    return output if isinstance(output, dict) else None


def spike_checks(model: MultiExitNet, dtype: torch.dtype, outputs: dict[str, Any]) -> dict:
    """What each contender's spikes are next to ours: the options must give exactly
    ours-<dtype>'s (or ours's); the oracle is compared over the steps it ran."""
    checks: dict[str, float] = {}
    heads = {k: h for k, v in outputs.items() if (h := heads_of(v)) is not None}
    base = f"ours-{SHORT[dtype]}" if f"ours-{SHORT[dtype]}" in heads else "ours"
    for name, got in heads.items():
        if name.startswith("ours-") and name != base:
            reference = base if name.startswith(f"ours-{SHORT[dtype]}") else "ours"
            if reference in heads:
                checks[f"{name} vs {reference}"] = mismatch(got, heads[reference])
        elif name.startswith("sj-multi-"):
            reference = "ours" if name.endswith("fp32") else base
            if reference in heads:
                checks[f"{name} vs {reference}"] = mismatch(got, heads[reference])
    if "step-oracle" in heads and "ours" in heads:
        oracle = heads["step-oracle"]
        steps = next(iter(oracle.values())).shape[0]
        first = {h: s[:steps] for h, s in heads["ours"].items()}
        checks[f"ours vs step-oracle (float32, first {steps} steps)"] = mismatch(first, oracle)
    for name, value in checks.items():
        verdict = "identical" if value == 0 else f"mismatch {value:.2e}"
        print(f"spikes {name}: {verdict}")
    if isinstance(outputs.get("ours"), SimulationResult):
        result = outputs["ours"]
        neurons = torch.tensor([p.neurons for p in result.populations], dtype=torch.float64)
        batch = next(iter(result.heads.values())).shape[1]
        rates = result.counts.sum(0).double() / (result.timesteps * batch * neurons)
        print(f"firing rate (ours): mean {100 * rates.mean():.1f}% over populations")
    return checks


def device_speed(
    name: str, model: MultiExitNet, x: torch.Tensor, args: argparse.Namespace, dtype: torch.dtype
) -> dict:
    device = x.device
    began = time.perf_counter()
    budget = default_memory_budget(device)  # one budget for all: the same chunk length
    contenders, failed, chunk = device_contenders(model, x, args, dtype, budget)
    batch, timesteps = x.shape[0], args.timesteps
    print(f"\n## {name}: batch {batch}, T = {timesteps}, {args.rounds} interleaved rounds")
    print(f"ours: chunk {chunk} steps (memory budget {budget / 2**30:.1f} GiB)")
    results, outputs = measure(contenders, args.rounds, device, failed)
    med = {k: statistics.median(v) for k, v in results.items()}
    for key, values in results.items():
        unit = "images/s" if key.startswith("ann") else "image-timesteps/s"
        note = contenders[key].note if not key.startswith("ours") else ""
        print(
            f"{key:24s} {med[key]:12.1f} {unit:18s} (range {min(values):.1f}-{max(values):.1f})"
            + (f"  {note}" if note else "")
        )
    for key, why in failed.items():
        print(f"{key:24s} {'-':>12s} not measured: {why}")
    checks = spike_checks(model, dtype, outputs)
    ours = {k: v for k, v in med.items() if k.startswith("ours")}
    ratios: dict[str, float] = {}
    if ours:
        best = max(ours, key=lambda k: ours[k])
        print(f"best of ours: {best}")
        ann = f"ann-{SHORT[dtype]}"
        if ann in med:
            ratios["best / ANN"] = med[best] / med[ann]
            print(f"ratio {best} / {ann} forward: {ratios['best / ANN']:.2f} (goal >= 0.9)")
        sj = {k: v for k, v in med.items() if k.startswith("sj-multi")}
        if sj:
            fastest = max(sj, key=lambda k: sj[k])
            ratios["best / SpikingJelly"] = med[best] / med[fastest]
            print(f"ratio {best} / {fastest}: {ratios['best / SpikingJelly']:.2f} (goal >= 1.5)")
        if "step-oracle" in med:
            ratios["best / step-oracle"] = med[best] / med["step-oracle"]
            print(f"ratio {best} / step-oracle: {ratios['best / step-oracle']:.1f}")
        base = f"ours-{SHORT[dtype]}" if f"ours-{SHORT[dtype]}" in med else "ours"
        for key in ours:
            if key != base and key.startswith(base):
                print(f"ratio {key} / {base}: {med[key] / med[base]:.2f}")
        if "ours" in med and base != "ours":
            print(f"ratio {base} / ours (float32): {med[base] / med['ours']:.2f}")
    print(f"({time.perf_counter() - began:.0f} s)")
    return {
        "batch": batch,
        "timesteps": timesteps,
        "chunk": chunk,
        "median": med,
        "range": {k: [min(v), max(v)] for k, v in results.items()},
        "notes": {k: c.note for k, c in contenders.items()},
        "not_measured": failed,
        "spikes": checks,
        "ratios": ratios,
    }


def device_memory(model: MultiExitNet, args: argparse.Namespace, dtype: torch.dtype) -> dict:
    """Peak GPU memory of one simulation at each T, a fresh simulator every time."""
    device = torch.device(args.device)
    batch = args.memory_batch
    steps = [int(t) for t in args.memory_timesteps.split(",")]
    print(f"\n## GPU memory peak of one {args.memory_net} simulation, batch {batch}")
    if device.type != "cuda":
        print("(torch.cuda.max_memory_allocated: CUDA only, skipped here)")
        return {}
    wanted = set(args.memory_variants.split(",")) if args.memory_variants else None
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(3)).to(device)
    peaks: dict[str, dict[int, float]] = {}
    print(f"{'variant':24s}" + "".join(f"{f'T = {t}':>14s}" for t in steps) + "   ratio")
    for name, options in ours_variants(dtype):
        if wanted and name not in wanted:
            continue
        peaks[name] = {}
        try:
            for timesteps in steps:
                release(device)
                torch.cuda.reset_peak_memory_stats(device)
                began = time.perf_counter()
                Simulator(model, device=device, **options).run(x, timesteps)
                sync(device)
                peaks[name][timesteps] = torch.cuda.max_memory_allocated(device) / 2**20
                print(f"  ({name}, T = {timesteps}: {time.perf_counter() - began:.1f} s)")
        except Exception as exc:
            print(f"{name:24s} not measured: {describe(exc)}")
            release(device)
            continue
        row = "".join(f"{peaks[name][t]:10.0f} MiB" for t in steps)
        print(f"{name:24s}{row}   {peaks[name][steps[-1]] / peaks[name][steps[0]]:.3f}")
    return {"batch": batch, "peak_mib": peaks}


def extrapolate(report: dict) -> dict:
    """The full CIFAR-10 VGG19 experiment's simulation time from the measured VGG19 rates."""
    runs = report.get("speed", {}).get("vgg19", [])
    work = FULL_IMAGES * FULL_T
    print(
        f"\n## extrapolated: full CIFAR-10 VGG19 experiment ({FULL_IMAGES:,} images × "
        f"T = {FULL_T} = {work:.2e} image-timesteps, one GPU)"
    )
    if not runs:
        return {}
    rates: dict[str, tuple[float, int]] = {}
    for run in runs:
        for name, rate in run["median"].items():
            if name.startswith("ours") and rate > rates.get(name, (0.0, 0))[0]:
                rates[name] = (rate, run["batch"])
    minutes = {name: work / rate / 60 for name, (rate, _) in rates.items()}
    for name in sorted(minutes, key=lambda k: minutes[k]):
        rate, batch = rates[name]
        print(
            f"{name:24s} {minutes[name]:8.1f} min  ({rate:,.0f} image-timesteps/s at batch {batch})"
        )
    best = min(minutes, key=lambda k: minutes[k])
    print(f"best: {best}, {minutes[best]:.1f} min (goal < 10 min)")
    print(
        "(linear in T: a chunk costs the same at any step; loading and writing spikes not counted)"
    )
    return {"minutes": minutes, "best": best}


def device_main(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    dtype = DTYPES[args.dtype]
    began = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        print(
            f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, Triton "
            f"{'yes' if scans.triton_importable() else 'no'}"
        )
    try:
        print(f"SpikingJelly {importlib.metadata.version('spikingjelly')}")
    except importlib.metadata.PackageNotFoundError:
        print("SpikingJelly is not installed (make bench-setup): its rows are missing")
    report: dict[str, Any] = {"device": str(device), "dtype": args.dtype, "speed": {}}
    gen = torch.Generator().manual_seed(1)
    nets = [n for n in (args.nets or "vgg19,vgg11,resnet18").split(",") if n not in ("", "none")]
    skipped = []
    for name in nets:
        model = random_network(name)
        for batch in (int(b) for b in args.batches.split(",")):
            if args.time_limit and time.perf_counter() - began > args.time_limit:
                skipped.append(f"{name} batch {batch}")
                continue
            x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
            title = f"{name} at CIFAR shape (random weights), {args.dtype}"
            result = device_speed(title, model, x, args, dtype)
            report["speed"].setdefault(name, []).append(result)
            del x
            release(device)
            write_report(args, report)
        if name == "vgg19":
            report["extrapolation"] = extrapolate(report)
    if skipped:
        print(f"\nnot measured (past --time-limit {args.time_limit:.0f} s): {', '.join(skipped)}")
        report["skipped"] = skipped
    if not args.skip_memory:
        report["memory"] = device_memory(random_network(args.memory_net), args, dtype)
    print(f"\n(all: {time.perf_counter() - began:.0f} s)")
    write_report(args, report)


def write_report(args: argparse.Namespace, report: dict) -> None:
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timesteps", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--nets",
        default=None,
        help="default: vgg11,vgg19,digits; with --device vgg19,vgg11,resnet18 (none: no speed)",
    )
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    device = parser.add_argument_group("device mode (--device)")
    device.add_argument("--device", default=None, help="cuda, cuda:N or cpu: the device table")
    device.add_argument("--batches", default="256,1024")
    device.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    device.add_argument("--variants", default=None, help="only these rows (comma-separated)")
    device.add_argument("--oracle-steps", type=int, default=8)
    device.add_argument("--memory-net", default="vgg19")
    device.add_argument("--memory-batch", type=int, default=256)
    device.add_argument("--memory-timesteps", default="64,3000")
    device.add_argument("--memory-variants", default=None, help="default: every ours row")
    device.add_argument("--json", default=None, help="also write every number to this file")
    device.add_argument(
        "--time-limit", type=float, default=None, help="seconds: start no new net/batch after"
    )
    args = parser.parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child, args.batch)
        return
    if args.device is not None:
        device_main(args)
        return
    nets = args.nets or "vgg11,vgg19,digits"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    gen = torch.Generator().manual_seed(1)
    for name in nets.split(","):
        if name == "digits":
            model, images, what = digits_network()
            x = images[: args.batch]
            speed(f"digits ({what})", model, x, args.timesteps, args.rounds)
            storage(f"digits ({what})", model, images[:128], 500)
        else:
            model = random_network(name)
            x = torch.randn(args.batch, 3, 32, 32, generator=gen)
            speed(f"{name} at CIFAR shape (random weights)", model, x, args.timesteps, args.rounds)
    if "vgg11" in nets:
        model = random_network("vgg11")
        storage("vgg11 (random weights)", model, torch.randn(64, 3, 32, 32, generator=gen), 1024)
    if not args.skip_memory:
        memory(args.batch)


if __name__ == "__main__":
    main()
