"""CPU threads on a busy box: torch's default threading against bsf's thread policy.

    python benchmarks/threads.py [--samples 1000] [--timesteps 1000] [--rounds 2]
                                 [--no-simulate]

Builds a project from synthetic spikes (benchmarks/synthetic_spikes.py: a tune and a
test split, an ANN accuracy, a VGG19 spec for the energy model), then times each
workload in a fresh process, idle and with ONE competing CPU-bound process
(`while True: pass`), in two modes:
  old      torch's default: one thread per core, OpenMP's default (spinning) waits
  policy   what `bsf` does now: the stage's thread policy (bsf_engine/compute.py), in a
           process whose idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE)
Workloads: `tune` and `report` (exact numerics, through the stage registry's
`Stage.run`, as every face runs them) and, unless --no-simulate, the simulator's
convolutions (a random VGG11, 16 images × T = 32; the policy keeps torch's threads
there; a third mode, `one`, runs it on one thread, to see whether threads pay).
Rounds interleave every (workload, mode, idle/busy) once per round. Printed: median
seconds, busy/idle per mode, old/policy, the load average around it, and whether
every mode computed the same alpha.npz / report / spikes.
Goal (issue 11 §2): busy ≤ 1.5 × idle under the policy.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MODES = ("old", "policy")
SIMULATE_MODES = (*MODES, "one")  # the simulator also on one thread: do threads pay there?
LOADS = ("idle", "busy")
PROJECT_TOML = """\
[data]
dataset = "cifar10"
root = "/nonexistent"  # never read: the spikes are synthetic

[model]
arch = "vgg19"
ic = 6

[simulate]
timesteps = {timesteps}

[fusion]
numerics = "exact"
"""


def make_project(folder: Path, samples: int, timesteps: int) -> None:
    """A project holding synthetic tune and test spikes and what the report reads."""
    from synthetic_spikes import write_split

    from bsf_engine.layout import MANIFEST, Layout
    from bsf_engine.models.spec import ModelSpec

    if (folder / "spikes" / "test" / MANIFEST).is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.toml").write_text(PROJECT_TOML.format(timesteps=timesteps))
    paths = Layout(folder)
    for split, seed in (("tune", 0), ("test", 1)):
        write_split(paths.spikes(split), samples, timesteps, 10, seed=seed)
    spec = ModelSpec("vgg19", 3, 32, 10, (6,), batchnorm=False)
    paths.ann_json.write_text(json.dumps({"final_test_accuracy": 0.93}))
    paths.snn_json.write_text(json.dumps({"spec": spec.to_dict()}))


# -- one timed workload, in a child process ----------------------------------------------
def child(workload: str, folder: Path, mode: str) -> None:
    from bsf_engine import compute, stages
    from bsf_engine.events import Events
    from bsf_engine.project import Project

    # old: torch's default count, as before the policy; policy: none given
    flag = {"old": compute.torch_default(), "one": 1}.get(mode)
    if workload == "simulate":
        print(json.dumps(simulate_child(flag)))
        return
    project = Project.open(folder)
    stage = stages.get(workload)
    importlib.import_module(stage.module)  # imports (torch's among them) are not timed
    chosen = compute.threads_for(stage.name, stage.threads, project.config.compute.threads, flag)
    began = time.perf_counter()
    result = stage.run(project, Events(), threads=flag)  # as every face runs a stage
    seconds = time.perf_counter() - began
    if workload == "tune":
        digest = hashlib.sha256(project.layout.alpha_npz.read_bytes()).hexdigest()
    else:
        kept = {k: v for k, v in result.items() if k not in ("stamp", "inputs")}
        digest = hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()
    print(json.dumps({"seconds": seconds, "threads": chosen.count, "digest": digest[:16]}))


def simulate_child(flag: int | None) -> dict:
    import torch
    from simulate import random_network

    from bsf_engine import stages
    from bsf_engine.snn.simulator import Simulator

    model = random_network("vgg11")
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    simulator = Simulator(model)
    with stages.SIMULATE_TEST.computing("auto", flag) as chosen, torch.no_grad():
        simulator.run(x[:2], 4)  # warm-up
        began = time.perf_counter()
        out = simulator.run(x, 32)
        seconds = time.perf_counter() - began
    total = sum(int(v.sum()) for v in out.heads.values()) + int(out.counts.sum())
    return {"seconds": seconds, "threads": chosen.count, "digest": str(total)}


def timed(workload: str, folder: Path, mode: str, busy: bool) -> dict:
    env = dict(os.environ)
    if mode != "old":
        from bsf_engine.compute import quiet_waits

        quiet_waits(env)  # as the `bsf` command and detached workers do
    spinner = None
    if busy:
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", workload, str(folder), mode],
            capture_output=True,
            text=True,
            env=env,
        )
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if proc.returncode != 0:
        raise SystemExit(f"{workload} ({mode}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-simulate", action="store_true", help="skip the simulator rows")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.child[2])
        return
    folder = ROOT / "benchmarks" / ".threads-data" / f"s{args.samples}-t{args.timesteps}"
    make_project(folder, args.samples, args.timesteps)
    workloads = ["tune", "report"] + ([] if args.no_simulate else ["simulate"])
    print(
        f"## threads: tune and report on {args.samples} samples × T = {args.timesteps} × 10 "
        f"classes (exact numerics, 101 α)"
        + ("" if args.no_simulate else "; simulate: random VGG11, 16 images × T = 32")
    )
    print(
        f"{os.cpu_count()} CPUs; busy = one competing `while True: pass` process; "
        f"{args.rounds} interleaved rounds; load average (1/5/15 min) before: {load()}"
    )
    timed("tune", folder, "policy", False)  # alpha.npz for the report (and a warm cache)
    seconds: dict[tuple[str, str, str], list[float]] = {}
    threads: dict[tuple[str, str], int] = {}
    digests: dict[str, set[str]] = {w: set() for w in workloads}
    for round_ in range(args.rounds):
        for workload in workloads:
            for busy in (False, True):
                for mode in SIMULATE_MODES if workload == "simulate" else MODES:
                    result = timed(workload, folder, mode, busy)
                    key = (workload, mode, LOADS[busy])
                    seconds.setdefault(key, []).append(result["seconds"])
                    threads[workload, mode] = result["threads"]
                    digests[workload].add(result["digest"])
        print(f"  round {round_ + 1} done, load average {load()}", flush=True)
    print()
    print(
        f"{'workload':<9} {'mode':<7} {'threads':>7} {'idle s':>8} {'busy s':>8} {'busy/idle':>9}"
    )
    for workload in workloads:
        for mode in SIMULATE_MODES if workload == "simulate" else MODES:
            idle = statistics.median(seconds[workload, mode, "idle"])
            busy = statistics.median(seconds[workload, mode, "busy"])
            print(
                f"{workload:<9} {mode:<7} {threads[workload, mode]:>7} {idle:>8.2f} "
                f"{busy:>8.2f} {busy / idle:>8.2f}×"
            )
        old_busy = statistics.median(seconds[workload, "old", "busy"])
        new_busy = statistics.median(seconds[workload, "policy", "busy"])
        old_idle = statistics.median(seconds[workload, "old", "idle"])
        new_idle = statistics.median(seconds[workload, "policy", "idle"])
        print(
            f"{workload:<9} old/policy: idle {old_idle / new_idle:.2f}×, busy "
            f"{old_busy / new_busy:.2f}×; same output in every mode: "
            f"{len(digests[workload]) == 1}"
        )
    print(f"load average after: {load()}")
    for key, values in sorted(seconds.items()):
        print(f"  {' '.join(key)}: " + ", ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
