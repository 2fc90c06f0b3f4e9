"""The authors' procedures written out step by step: the slow oracle for reference numerics.

Written from their scripts at HEAD (tune_hyperparams.py: the α search and its
approximation; plot.py: the test curves, energies, AUC; spikesim_ene.py: the SpikeSim
rows), keeping what decides the last bit: the float32 spike arrays and α grid, the
order of every operation, blocks of 50 steps, files in os.listdir order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.integrate import trapezoid
from scipy.interpolate import interp1d
from scipy.special import beta

TIME_BATCH = 50
KNOTS_3000 = np.append(np.concatenate([np.arange(0, 500, 10), np.arange(500, 3000, 100)]), 2999)
GRID = np.arange(0, 101, 1, dtype="float32")


def alpha_search(train: Path, ic_index: int, timesteps: int, mode: str):
    """Their α(t) (float64 [T]) from a tuning folder, its files in os.listdir order, and
    for the grid the correct counts summed over files."""
    batches = []
    for name in os.listdir(train):
        if "labels_" not in name:
            continue
        index = name.split("_")[1].split(".")[0]
        batches.append(
            (
                np.load(train / name)["l"],
                np.load(train / f"-1_output_{index}.npz")["o"],
                np.load(train / f"{ic_index}_output_{index}.npz")["o"],
            )
        )
    return alpha_search_batches(batches, timesteps, mode)


def alpha_search_batches(batches, timesteps: int, mode: str):
    """The same from (labels [B], final [T, B, C] float32, IC [T, B, C] float32) per file."""
    files = len(batches)
    alphas = np.zeros(timesteps)
    correct = np.zeros((timesteps, len(GRID)), dtype=np.int64)
    for labels, final_spikes, mid_spikes in batches:
        labels = labels[np.newaxis, :, np.newaxis]
        final = np.cumsum(final_spikes, axis=0)
        mid = np.cumsum(mid_spikes, axis=0)
        prior = np.tile(GRID, (TIME_BATCH, final.shape[1], final.shape[2], 1))
        for block in range(timesteps // TIME_BATCH):
            steps = slice(block * TIME_BATCH, (block + 1) * TIME_BATCH)
            n = np.arange(block * TIME_BATCH + 1, (block + 1) * TIME_BATCH + 1, 1)
            n = n[:, np.newaxis, np.newaxis]
            m = final[steps]
            e = (mid[steps] / n) + 1e-16
            n, m, e = n[..., np.newaxis], m[..., np.newaxis], e[..., np.newaxis]
            if mode == "grid":
                post_a = prior + m
                post_b = prior * (1 / e - 1) + (n - m)
                rate = post_a / (post_a + post_b)
                hits = np.sum(np.argmax(rate, axis=2) == labels, axis=1)  # [50, α]
                correct[steps] += hits
                best = GRID[np.argmax(hits, axis=-1)]
            else:
                with np.errstate(all="ignore"):
                    top = beta(m + prior + 1, n - m + prior * (1 / e - 1))
                    bottom = beta(prior + 1, prior * (1 / e - 1))
                    ratio = top / (bottom + 1e-9)
                best = np.mean(GRID[np.argmax(ratio, axis=-1)], axis=(1, 2))
            alphas[steps] += best / files
    return alphas, correct


def approximate(raw: np.ndarray, knots: np.ndarray = KNOTS_3000) -> np.ndarray:
    return interp1d(knots, raw[knots], kind="linear")(np.arange(len(raw)))


def _rate(alphas, final, mid):
    n = np.arange(1, final.shape[0] + 1)[:, np.newaxis, np.newaxis]
    e = (mid / n) + 1e-16
    a = alphas[:, np.newaxis, np.newaxis]
    post_a = a + final
    post_b = a * (1 / e - 1) + (n - final)
    return post_a / (post_a + post_b)


def accuracy_curves(snn: Path, grid_alphas: np.ndarray, emp_alphas: np.ndarray):
    """Their four accuracy curves over every .npz of the test folder."""
    steps = grid_alphas.shape[0]
    acc = {name: np.zeros(steps) for name in ("grid", "emp", "final", "mid")}
    total = 0
    for name in os.listdir(snn):
        if not name.endswith(".npz") or "ene_acc" in name:
            continue
        data = np.load(snn / name)
        labels = data["labels"]
        final, mid = data["final"].cumsum(axis=0), data["mid"].cumsum(axis=0)
        n = np.arange(1, final.shape[0] + 1)[:, np.newaxis, np.newaxis]
        acc["grid"] += np.sum(np.argmax(_rate(grid_alphas, final, mid), axis=2) == labels, axis=1)
        acc["emp"] += np.sum(np.argmax(_rate(emp_alphas, final, mid), axis=2) == labels, axis=1)
        acc["final"] += np.sum(np.argmax(final / n, axis=2) == labels, axis=1)
        acc["mid"] += np.sum(np.argmax(mid / n, axis=2) == labels, axis=1)
        total += labels.shape[0]
    return {name: values / total for name, values in acc.items()}


SPIKESIM = {  # their spikesim_config.json
    "xbar_size": 64,
    "xbar_ar": 1.76423,
    "tile_buff": 397.0,
    "temp_buff": 0.2,
    "sub": 1.15e-6,
    "adc": 2.03084,
    "htree": 19.64,
    "mux": 0.094245,
    "mem_fetch": 4.64,
    "neuron": 1.274,
}


def vgg_energy_per_step(blocks, shape, ic_index: int, classes: int) -> tuple[float, float]:
    """(final-only, BSF) J per step of a VGG (blocks: (channels, stride)), their way."""
    ch, dim = shape[0], (shape[1], shape[2])
    in_ch, out_ch, out_dim, kernels, dims = [], [], [], [], []
    for channels, stride in blocks:
        in_ch.append(ch)
        ch = channels
        dim = (int((dim[0] + 2 - 3) / stride) + 1, int((dim[1] + 2 - 3) / stride) + 1)
        out_ch.append(ch)
        out_dim.append(dim)
        kernels.append((3, 3))
        dims.append((channels, dim))
    for index in (ic_index, -1):
        pool = dims[index][1][0]
        in_ch.append(ch)
        out_ch.append(ch)
        out_dim.append((1, 1))
        kernels.append((pool, pool))
        in_ch.append(np.ceil(dims[index][0] / 4))
        out_ch.append(classes)
        out_dim.append((1, 1))
        kernels.append((4, 1))
    c = SPIKESIM
    size = c["xbar_size"]
    rows, total = [], 0
    for i, k in enumerate(kernels):
        pe_ar = k[0] * k[1] * c["xbar_ar"] + (size / 8) * (c["adc"] + c["mux"])
        pe_cycle = (
            c["htree"] * 8
            + c["mem_fetch"]
            + c["neuron"] * 4.0
            + size / 8 * pe_ar
            + (size / 8) * 16 * c["sub"]
            + (size / 8) * c["temp_buff"]
            + c["tile_buff"]
        )
        pixels = out_dim[i][0] * out_dim[i][1]
        cycles = np.ceil(out_ch[i] / size) * np.ceil(in_ch[i] / size) * pixels
        total += cycles * pe_cycle * 1
        rows.append(cycles * pe_cycle * 1)
    bsf = total
    final_only = sum([*rows[:-2], rows[-1]])
    bsf *= 1e-12
    final_only *= 1e-12
    return final_only, bsf


def headline(acc, final_energy, bsf_energy, fp_acc: float, percentage: float = 0.97):
    """Their energies to the target, energy decrease % and AUC increase %."""
    steps = np.arange(1, acc["grid"].shape[0] + 1)
    fp, bsf = steps * final_energy, steps * bsf_energy
    target = fp_acc * percentage
    fp_hit = fp[acc["final"] >= target][0]
    out = {"final": {"energy": fp_hit}}
    for name in ("grid", "emp"):
        out[name] = {"energy": bsf[acc[name] >= target][0]}

    def auc(energies, values):
        keep = energies <= fp_hit
        return trapezoid(values[keep], energies[keep], dx=1e-7)

    out["final"]["auc"] = auc(fp, acc["final"])
    for name in ("grid", "emp"):
        out[name]["auc"] = auc(bsf, acc[name])
        base = out["final"]["auc"]
        out[name]["auc_increase"] = (out[name]["auc"] - base) / base * 100
        out[name]["decrease"] = (fp_hit - out[name]["energy"]) / fp_hit * 100
    return out
