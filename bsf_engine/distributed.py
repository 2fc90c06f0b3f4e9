"""The torch.distributed world a bsf process runs in.

Under `torchrun` (one node or several, or `srun torchrun` under SLURM) every process
gets RANK, WORLD_SIZE and LOCAL_RANK in its environment; bsf then joins the process
group the first time a stage needs it. Without
them a process is a world of one and nothing here talks to anyone. Rank 0 is the
leader: it alone holds the project lock, writes manifests and records the run.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

T = TypeVar("T")
WAIT = timedelta(days=7)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def leader(self) -> bool:
        return self.rank == 0

    @property
    def sharded(self) -> bool:
        return self.size > 1

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's share of `items`: every size-th from its rank (round robin)."""
        return list(items[self.rank :: self.size])


def world() -> World:
    """The world torchrun's environment describes (a world of one without it)."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return World()
    return World(
        int(os.environ.get("RANK", "0")),
        size,
        int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0"))),
    )


def join() -> World:
    """The world, with this process in its process group. The group is gloo's: what
    bsf's ranks exchange are a few Python objects (a manifest, the next stage), which
    gloo carries on CPUs and GPUs alike."""
    here = world()
    if not here.sharded:
        return here
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "gloo"
        # rank 0 may train or tune for hours while the others wait for the next
        # sharded stage: the default 30-minute collective timeout would end them
        dist.init_process_group(backend=backend, timeout=WAIT)
        # a group still up when the interpreter exits aborts it ("terminate called
        # without an active exception" from gloo's threads): leave it first
        atexit.register(leave)
    return here


def leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def broadcast(value: Any, here: World) -> Any:
    """The leader's `value`, on every rank."""
    if not here.sharded:
        return value
    import torch.distributed as dist

    box = [value if here.leader else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value: Any, here: World) -> list[Any] | None:
    """Every rank's `value`, by rank, on the leader (None elsewhere)."""
    if not here.sharded:
        return [value]
    import torch.distributed as dist

    out: list[Any] | None = [None] * here.size if here.leader else None
    dist.gather_object(value, out, dst=0)
    return out
