"""What a run reports: metrics.json's content (the final epoch's metrics and the run's cost, as
the paper's Table 3 counts it: hours, workers, device, peak memory) and the line logged per epoch."""

from __future__ import annotations

import resource
from typing import Any

import torch

from trainer.config import TrainConfig
from trainer.distributed import Dist

#: Columns of an epoch's history row that are not final metrics.
PER_EPOCH_ONLY = ("lr", "epoch_seconds", "images_per_second")


def final_metrics(config: TrainConfig, row: dict[str, Any], ctx: Dist, seconds: float, restarts: int,
                  epochs_done: int) -> dict[str, Any]:
    """metrics.json's content after an epoch: its row without the per-epoch columns, and the run's cost."""
    metrics = {k: v for k, v in row.items() if k not in PER_EPOCH_ONLY}
    metrics.update(
        epochs_done=epochs_done, restarts=restarts, train_hours=seconds / 3600.0, n_workers=ctx.world_size,
        device=_device_name(ctx), peak_mem_gb=_peak_mem_gb(ctx), done=epochs_done >= config.total_epochs,
    )
    return metrics


def _device_name(ctx: Dist) -> str:
    if ctx.device.type == "cuda":
        return torch.cuda.get_device_name(ctx.device)
    return "cpu"


def _peak_mem_gb(ctx: Dist) -> float:
    """CUDA peak allocated memory, or this process's peak RSS on CPU (lifetime of the process)."""
    if ctx.device.type == "cuda":
        return torch.cuda.max_memory_allocated(ctx.device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def progress_line(config: TrainConfig, row: dict[str, Any]) -> str:
    """The line a run logs after each epoch."""
    return (
        f"epoch {row['epoch']:>4}/{config.total_epochs}  lr {row['lr']:.2e}  train_loss {row['train_loss']:.4f}  "
        f"top1 {row['top1']:6.2f}  top5 {row['top5']:6.2f}  {row['images_per_second']:8.1f} img/s  "
        f"{row['epoch_seconds']:6.1f} s"
    )
