"""Stage `train`: multi-exit training with the Shallow-Deep Networks IC loss schedule.

Loss = Σ_ic w_ic(epoch)·CE(IC) + CE(final), with w_ic growing linearly from
`ic_weight_start` to the IC's goal (its share of the conv MACs by default).
Every epoch ends with an atomic checkpoint (train.ckpt); a rerun resumes after
the last finished epoch and, because each epoch's shuffling and augmentation
come from a generator seeded by (seed, epoch), ends with the same weights as an
uninterrupted run. Results: ann.pt (spec + weights), ann.json (accuracies per
head on tune = validation, and test), split.json (the split indices).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from . import atomic, distributed, layout
from .data import Datasets, ImageSet, iterate_batches, load_datasets
from .devices import resolve_device
from .errors import ArtifactExistsError, DivergedError, Interrupted, MissingArtifactError
from .evaluate import head_accuracies
from .events import Events
from .models.complexity import ic_mac_fraction
from .models.net import MultiExitNet, build_model
from .models.spec import ModelSpec, ic_name
from .project import Project
from .stages import TRAIN


def model_spec(project: Project, data: Datasets) -> ModelSpec:
    cfg = project.config
    return ModelSpec(
        arch=cfg.model.arch,
        in_channels=data.in_channels,
        image_size=data.image_size,
        num_classes=data.num_classes,
        ics=tuple(cfg.ics),
        width=cfg.model.width,
        batchnorm=cfg.model.batchnorm,
    )


def ic_weights(project: Project, spec: ModelSpec, epoch: int) -> dict[str, float]:
    """Loss weight of each IC head during `epoch` (0-based)."""
    t = project.config.train
    weights = {}
    for ic in spec.ics:
        goal = t.ic_weight_goal if t.ic_weight_goal is not None else ic_mac_fraction(spec, ic)
        weights[ic_name(ic)] = t.ic_weight_start + (epoch / t.epochs) * (goal - t.ic_weight_start)
    return weights


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def _optimizer(project: Project, model: nn.Module):
    t = project.config.train
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim <= 1 and "bn" in name else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": t.weight_decay},
        {"params": no_decay, "weight_decay": 0.0 if t.optimizer == "adamw" else t.weight_decay},
    ]
    if t.optimizer == "sgd":
        opt = torch.optim.SGD(
            groups, lr=t.lr, momentum=t.momentum, nesterov=t.nesterov and t.momentum > 0
        )
    else:
        opt = torch.optim.AdamW(groups, lr=t.lr)
    if t.schedule == "multistep":
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=t.milestones, gamma=t.gamma)
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t.epochs)
    return opt, sched


def _amp(device: torch.device, enabled: bool):
    """(autocast context factory, GradScaler or None)."""
    if device.type != "cuda" or not enabled:
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def _load_checkpoint(project: Project, force: bool) -> dict[str, Any] | None:
    path = project.layout.train_checkpoint
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:
        if force:
            return None
        raise MissingArtifactError(
            f"{path}: unreadable checkpoint; delete it (or pass --force) to train from scratch"
        ) from None
    if state.get("config_hash") != TRAIN.config_hash(project.config):
        if force:
            return None
        raise ArtifactExistsError(
            f"{path}: an interrupted run with a different [data]/[model]/[train] config; "
            "pass --force to discard it and train from scratch"
        )
    return state


def _check_existing(project: Project, force: bool) -> dict[str, Any] | None:
    """The current ann.json if training is already done; refuse to replace a different one."""
    paths = project.layout
    if force or not paths.ann_json.is_file():
        return None
    if TRAIN.is_current(project) and paths.ann_pt.is_file():
        return layout.read_json(paths.ann_json)
    raise ArtifactExistsError(
        f"{paths.ann_pt}: made from a different {TRAIN.config_label} config; "
        "pass --force to retrain and replace it"
    )


def rank_share(train: ImageSet, seed: int, epoch: int, here: distributed.World) -> ImageSet:
    """This rank's share of an epoch's training images (DistributedSampler's part): a
    permutation seeded by (seed, epoch), dealt round robin, cut to equal lengths so
    every rank takes the same number of steps. The whole set for a world of one."""
    if not here.sharded:
        return train
    order = torch.randperm(len(train), generator=epoch_generator(seed, epoch))
    each = len(train) // here.size
    return train.subset(order[here.rank :: here.size][:each])


def train_one_epoch(
    model,
    data: Datasets,
    project: Project,
    epoch: int,
    optimizer,
    device,
    autocast,
    scaler,
    events: Events,
    here: distributed.World | None = None,
    step_model: nn.Module | None = None,
) -> dict[str, float]:
    """One epoch; under torchrun on this rank's share of the images, with a batch of
    batch_size / ranks so that a step of all ranks (through DDP, `step_model`) sees
    batch_size images as one process does."""
    cfg = project.config
    here = here or distributed.World()
    step_model = step_model or model
    weights = ic_weights(project, model.spec, epoch)
    head_weights = [weights.get(name, 1.0) for name in model.head_names]
    criterion = nn.CrossEntropyLoss()
    model.train()
    images = rank_share(data.train, cfg.train.seed, epoch, here)
    batch_size = max(1, cfg.data.batch_size // here.size)
    batches = -(-len(images) // batch_size)
    # Running sums stay on the device; reading them (a sync) happens only when reporting.
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros(len(head_weights), dtype=torch.long, device=device)
    report_every = max(1, batches // 50)
    seen = 0
    batch_iter = iterate_batches(
        images,
        batch_size,
        data.norm,
        shuffle=True,
        augment=data.augment,
        # a world of one keeps the generator it always had (the same weights as before)
        generator=epoch_generator(cfg.train.seed, epoch * here.size + here.rank),
        device=device,
        num_workers=cfg.data.num_workers,
    )
    for step, (x, y) in enumerate(batch_iter, 1):
        with autocast():
            outputs = step_model(x)
            loss = sum(w * criterion(out.float(), y) for w, out in zip(head_weights, outputs))
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            total_loss += loss.detach().double() * len(y)
            correct += torch.stack([(out.argmax(1) == y).sum() for out in outputs])
        seen += len(y)
        if step % report_every == 0 or step == batches:
            if not math.isfinite(total_loss.item()):  # (a read the progress makes anyway)
                raise _diverged(project, epoch, step, batches, total_loss.item())
            events.progress(
                "batch",
                step,
                batches,
                "batch",
                loss=total_loss.item() / seen,
                acc=correct[-1].item() / seen,
            )
    result = {"loss": total_loss.item() / seen}
    for i, name in enumerate(model.head_names):
        result[f"train_acc/{name}"] = correct[i].item() / seen
    return result


def _diverged(project: Project, epoch: int, step: int, batches: int, loss: float) -> DivergedError:
    """The error for a loss that became inf/nan: stop before anything is saved from it."""
    t = project.config.train
    kept = ""
    if project.layout.train_checkpoint.is_file():
        kept = (
            f"; {layout.TRAIN_CHECKPOINT} (after epoch {epoch}) is kept, but a new lr is a new "
            f"config: retrain with `bsf train {project.folder} --force`"
        )
    return DivergedError(
        f"[train] lr = {t.lr:g}: the training loss became {loss} in epoch {epoch + 1} (by "
        f"batch {step} of {batches}); lower `[train] lr`{kept}"
    )


def run(project: Project, events: Events | None = None, *, force: bool = False) -> dict[str, Any]:
    """Train (or resume training) the project's ANN; returns what ann.json holds."""
    events = events or Events()
    cfg = project.config
    done = _check_existing(project, force)
    if done is not None:
        events.log(f"{project.layout.ann_pt} is up to date (use --force to retrain)")
        return done
    device = resolve_device(cfg.train.device, "[train] device")
    here = distributed.join()
    if here.sharded and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", here.local_rank)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: pick the fastest kernels
    state = _load_checkpoint(project, force)
    data = load_datasets(cfg)
    if device.type == "cuda":
        data.train = data.train.on_device(device)  # in-memory sets: no per-batch copies
    spec = model_spec(project, data)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        model: MultiExitNet = build_model(spec)
    model.to(device)
    step_model = _parallel(model, device, here)
    optimizer, scheduler = _optimizer(project, model)
    autocast, scaler = _amp(device, cfg.train.amp)
    history: list[dict[str, Any]] = []
    start_epoch, elapsed = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        history, start_epoch, elapsed = state["history"], state["epoch"], state["elapsed"]
        events.log(f"resuming from {layout.TRAIN_CHECKPOINT} after epoch {start_epoch}")
    epochs = cfg.train.epochs
    eval_bs = cfg.data.eval_batch_size
    events.progress("epoch", start_epoch, epochs, "epoch")
    for epoch in range(start_epoch, epochs):
        began = time.perf_counter()
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
        row.update(
            train_one_epoch(
                model,
                data,
                project,
                epoch,
                optimizer,
                device,
                autocast,
                scaler,
                events,
                here,
                step_model,
            )
        )
        scheduler.step()
        val = head_accuracies(model, data.tune, data.norm, eval_bs, device, cfg.data.num_workers)
        row.update({f"val_acc/{name}": acc for name, acc in val.items()})
        elapsed += time.perf_counter() - began
        history.append(row)
        checkpoint = {
            "config_hash": TRAIN.config_hash(cfg),
            "epoch": epoch + 1,
            "elapsed": elapsed,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "history": history,
        }
        if here.leader:  # the others resume from it too: the folder is shared
            atomic.save_torch(project.layout.train_checkpoint, checkpoint)
        for key, value in row.items():
            if key not in ("epoch",):
                events.metric(key, value, epoch=epoch + 1)
        events.progress("epoch", epoch + 1, epochs, "epoch", loss=row["loss"], val_acc=val["final"])
        if epoch + 1 < epochs:
            events.checkpoint()
    if not here.leader:  # rank 0 evaluates and writes ann.pt; the same weights are here
        return {}
    return _finish(project, model, data, device, history, elapsed, events)


def _parallel(model: nn.Module, device: torch.device, here: distributed.World) -> nn.Module:
    """What a training step runs: the model, or under torchrun the model in DDP (its
    gradients averaged over the ranks, over NCCL on CUDA, gloo on the CPU)."""
    if not here.sharded:
        return model
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        group = dist.new_group(backend="nccl")
        return DistributedDataParallel(model, device_ids=[device.index], process_group=group)
    return DistributedDataParallel(model)


def _finish(project, model, data, device, history, elapsed, events) -> dict[str, Any]:
    cfg = project.config
    eval_bs, workers = cfg.data.eval_batch_size, cfg.data.num_workers
    val = head_accuracies(model, data.tune, data.norm, eval_bs, device, workers)
    test = head_accuracies(model, data.test, data.norm, eval_bs, device, workers)
    stamp = TRAIN.stamp(cfg)
    spec = model.spec
    summary: dict[str, Any] = {
        "stamp": stamp,
        "spec": spec.to_dict(),
        "heads": list(spec.head_names),
        "classes": data.classes,
        "split": data.record(),
        "normalisation": {"mean": list(data.norm.mean), "std": list(data.norm.std)},
        "accuracy": {"val": val, "test": test},
        "final_test_accuracy": test["final"],
        "ic_weight_goal": ic_weights(project, spec, cfg.train.epochs),
        "epochs": cfg.train.epochs,
        "device": str(device),
        "train_seconds": round(elapsed, 2),
        "history": history,
    }
    split = {
        "dataset": cfg.data.dataset,
        "seed": data.plan.seed,
        "digest": data.plan.digest(),
        "indices": data.plan.indices(),
    }
    paths = project.layout
    atomic.write_json(paths.split_json, split)
    buffer = io.BytesIO()
    cpu_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(
        {
            "spec": spec.to_dict(),
            "state_dict": cpu_state,
            "stamp": stamp,
            "heads": list(spec.head_names),
        },
        buffer,
    )
    atomic.write_bytes(paths.ann_pt, buffer.getvalue())
    atomic.write_json(paths.ann_json, summary)
    paths.train_checkpoint.unlink(missing_ok=True)
    for path, kind in (
        (paths.ann_pt, "ann"),
        (paths.ann_json, "ann-metrics"),
        (paths.split_json, "split"),
    ):
        events.artifact(str(path), kind)
    for name in spec.head_names:
        events.metric(f"test_acc/{name}", test[name])
    return summary


def load_ann(project: Project, device: torch.device | str = "cpu") -> tuple[MultiExitNet, dict]:
    """The trained ANN (eval mode) and its ann.json; errors say to run `bsf train`."""
    TRAIN.require_current(project)
    paths = project.layout
    meta = layout.read_json(paths.ann_json)
    try:
        saved = torch.load(paths.ann_pt, map_location="cpu", weights_only=False)
        spec = ModelSpec.from_dict(saved["spec"])
        model = build_model(spec)
        model.load_state_dict(saved["state_dict"])
    except Exception as exc:
        raise MissingArtifactError(
            f"{paths.ann_pt}: unreadable ({exc.__class__.__name__}); "
            f"rerun `bsf train {project.folder} --force`"
        ) from None
    bad = [
        k
        for k, v in saved["state_dict"].items()
        if v.is_floating_point() and not torch.isfinite(v).all()
    ]
    if bad:
        raise MissingArtifactError(
            f"{paths.ann_pt}: NaN/inf in {bad[0]}; rerun `bsf train {project.folder} --force`"
        )
    return model.to(device).eval(), meta


__all__ = ["Interrupted", "load_ann", "run"]
