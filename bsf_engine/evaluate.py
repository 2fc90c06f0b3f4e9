"""Accuracy of every head of a multi-exit network on one split."""

from __future__ import annotations

import torch

from .data import ImageSet, Normalisation, iterate_batches


@torch.no_grad()
def head_accuracies(
    model: torch.nn.Module,
    split: ImageSet,
    norm: Normalisation,
    batch_size: int,
    device: torch.device,
    num_workers: int = 0,
) -> dict[str, float]:
    """Top-1 accuracy per head name (model.eval() is restored to the previous mode after)."""
    was_training = model.training
    model.eval()
    correct = torch.zeros(len(model.head_names), dtype=torch.long)
    total = 0
    for x, y in iterate_batches(split, batch_size, norm, device=device, num_workers=num_workers):
        outputs = model(x)
        for index, logits in enumerate(outputs):
            correct[index] += (logits.argmax(1) == y).sum().cpu()
        total += len(y)
    model.train(was_training)
    return {name: correct[i].item() / max(total, 1) for i, name in enumerate(model.head_names)}
