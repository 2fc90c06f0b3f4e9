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

SpikingJelly is a benchmark-only dependency: `make bench-setup` installs it.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bsf_engine.convert import measure_scales, normalise  # noqa: E402
from bsf_engine.models.net import MultiExitNet, ResidualBlock, build_model  # noqa: E402
from bsf_engine.models.spec import ModelSpec  # noqa: E402
from bsf_engine.snn.oracle import simulate_stepwise  # noqa: E402
from bsf_engine.snn.simulator import Simulator  # noqa: E402
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


ARCH_IC = {"vgg11": 3, "vgg19": 6, "vggtiny": 2}


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
    try:
        from spikingjelly.activation_based import layer, neuron
    except ImportError:
        return None
    mode = "m" if multi_step else "s"

    def stateless(module: nn.Module) -> nn.Module:
        return layer.SeqToANNContainer(module) if multi_step else module

    def if_node() -> nn.Module:
        return neuron.IFNode(v_threshold=1.0, v_reset=None, step_mode=mode)

    class SJNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            assert not any(isinstance(b, ResidualBlock) for b in model.blocks)
            self.convs = nn.ModuleList(stateless(copy.deepcopy(b.conv)) for b in model.blocks)
            self.neurons = nn.ModuleList(if_node() for _ in model.blocks)
            self.taps = {model.tapped_block(h): h for h in model.head_names}
            self.pools = nn.ModuleDict(
                {
                    h: stateless(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
                    for h in model.head_names
                }
            )
            self.pool_neurons = nn.ModuleDict({h: if_node() for h in model.head_names})
            self.fcs = nn.ModuleDict(
                {h: stateless(copy.deepcopy(model.heads[h].fc)) for h in model.head_names}
            )
            self.out_neurons = nn.ModuleDict({h: if_node() for h in model.head_names})
            self.order = model.head_names

        def forward(self, x):
            outputs = {}
            for index, (conv, node) in enumerate(zip(self.convs, self.neurons)):
                x = node(conv(x))
                if index in self.taps and self.taps[index] != "final":
                    outputs[self.taps[index]] = self._head(self.taps[index], x)
            outputs["final"] = self._head("final", x)
            return [outputs[h] for h in self.order]

        def _head(self, name, x):
            return self.out_neurons[name](
                self.fcs[name](self.pool_neurons[name](self.pools[name](x)))
            )

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timesteps", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--nets", default="vgg11,vgg19,digits")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child, args.batch)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    gen = torch.Generator().manual_seed(1)
    for name in args.nets.split(","):
        if name == "digits":
            model, images, what = digits_network()
            x = images[: args.batch]
            speed(f"digits ({what})", model, x, args.timesteps, args.rounds)
            storage(f"digits ({what})", model, images[:128], 500)
        else:
            model = random_network(name)
            x = torch.randn(args.batch, 3, 32, 32, generator=gen)
            speed(f"{name} at CIFAR shape (random weights)", model, x, args.timesteps, args.rounds)
    if "vgg11" in args.nets:
        model = random_network("vgg11")
        storage("vgg11 (random weights)", model, torch.randn(64, 3, 32, 32, generator=gen), 1024)
    if not args.skip_memory:
        memory(args.batch)


if __name__ == "__main__":
    main()
