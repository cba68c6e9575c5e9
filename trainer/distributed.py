"""Where this process stands in a DDP job: torchrun's environment, or a process group that a
launcher (Ray Train) already set up. One process alone is a job of size one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from trainer.errors import ConfigError


@dataclass(frozen=True)
class Dist:
    """World size, rank, and the device this rank trains on."""

    world_size: int
    rank: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(requested: str, local_rank: int) -> torch.device:
    """``cuda:<local_rank>`` when CUDA is asked for (or ``auto`` and present), else CPU."""
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("device=cuda but no CUDA device is visible; use --device cpu")
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def setup(requested_device: str) -> Dist:
    """Join the process group described by torchrun's variables, if any (gloo on CPU, nccl on GPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_available() and dist.is_initialized():
        world_size, rank = dist.get_world_size(), dist.get_rank()
        return Dist(world_size, rank, local_rank, pick_device(requested_device, local_rank))
    device = pick_device(requested_device, local_rank)
    if world_size > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return Dist(world_size, dist.get_rank(), local_rank, device)
    return Dist(1, 0, 0, device)


def all_sum(values: list[float], ctx: Dist) -> list[float]:
    """Element-wise sum over ranks (float64), a no-op on one process."""
    if ctx.world_size == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device if ctx.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return t.tolist()


def all_gather(obj: Any, ctx: Dist) -> list[Any]:
    """Every rank's ``obj``, in rank order."""
    if ctx.world_size == 1:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(ctx: Dist) -> None:
    """Wait for every rank (no-op alone)."""
    if ctx.world_size > 1:
        dist.barrier()
