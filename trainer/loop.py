"""One training epoch and one evaluation pass: the inner loops, nothing else."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from trainer.distributed import Dist, all_sum
from trainer.errors import DivergenceError
from trainer.predictions import gather_in_image_order
from trainer.rng import RngStream


@dataclass(frozen=True)
class EpochStats:
    """What one training epoch did."""

    train_loss: float  # mean over this epoch's steps and workers
    images: int  # images seen by all workers
    seconds: float
    steps: int


@dataclass(frozen=True, kw_only=True)
class EvalStats:
    """Exact counts summed over workers, and the derived metrics (percent)."""

    top1: float
    top5: float
    loss: float
    n: int
    # with ``per_image``: targets and top-1 classes of the whole set in dataset order (every rank)
    targets: Optional[np.ndarray] = field(default=None, repr=False, compare=False)
    preds: Optional[np.ndarray] = field(default=None, repr=False, compare=False)


def autocast(device: torch.device, amp: Optional[str]):
    """Autocast to the dtype named by ``amp`` ('float16', 'bfloat16'); None: full precision.

    Which dtype may run where (fp16 on CUDA, bf16 on CPU only when asked for) is decided
    once, before the run, by :func:`trainer.config.resolve_runtime`.
    """
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=getattr(torch, amp))


def _batches(loader: Iterable, aug_rng: RngStream, mixup: Optional[Callable], device: torch.device, channels_last: bool):
    """Yield (input, target) on ``device``; loading and mixing draw from the augmentation stream."""
    it = iter(loader)
    while True:
        with aug_rng:
            batch = next(it, None)
            if batch is None:
                return
            x, y = batch
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            if mixup is not None:
                x, y = mixup(x, y)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        yield x, y


def train_one_epoch(
    *,
    model: torch.nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    loss_fn: torch.nn.Module,
    mixup: Optional[Callable],
    scaler: Optional[torch.amp.GradScaler],
    aug_rng: RngStream,
    ctx: Dist,
    epoch: int,
    amp: Optional[str],
    channels_last: bool,
    max_steps: Optional[int],
) -> EpochStats:
    """Train for one epoch; raise :class:`DivergenceError` at the first non-finite loss."""
    model.train()
    start = time.perf_counter()
    loss_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)
    steps = images = 0
    for x, y in _batches(loader, aug_rng, mixup, ctx.device, channels_last):
        with autocast(ctx.device, amp):
            loss = loss_fn(model(x), y)
        _check_finite(loss, ctx, epoch, steps)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        loss_sum += loss.detach().double()
        steps += 1
        images += x.shape[0]
        if max_steps is not None and steps >= max_steps:
            break
    if ctx.device.type == "cuda":
        torch.cuda.synchronize(ctx.device)
    seconds = time.perf_counter() - start
    total_loss, total_steps, total_images = all_sum([loss_sum.item(), steps, images], ctx)
    return EpochStats(
        train_loss=total_loss / max(total_steps, 1), images=int(total_images), seconds=seconds, steps=steps
    )


def _check_finite(loss: torch.Tensor, ctx: Dist, epoch: int, step: int) -> None:
    """Stop every worker together when any worker's loss is NaN or infinite."""
    bad = 0.0 if torch.isfinite(loss).item() else 1.0
    if ctx.world_size > 1:
        bad = all_sum([bad], ctx)[0]
    if bad:
        raise DivergenceError(
            f"loss became {'NaN' if math.isnan(loss.item()) else loss.item()} at epoch {epoch + 1}, step {step + 1}; "
            "try a lower --lr or a longer --warmup-epochs. The last good checkpoint is kept.",
            epoch=epoch + 1,
            step=step + 1,
        )


@torch.no_grad()
def evaluate(
    *,
    model: torch.nn.Module,
    loader: Iterable,
    ctx: Dist,
    amp: Optional[str],
    channels_last: bool,
    num_classes: int,
    real_labels=None,
    per_image: bool = False,
) -> tuple[EvalStats, Optional[float]]:
    """Top-1/top-5 (percent) and mean cross-entropy over the whole set, exact at any world size.

    ``real_labels`` is a ``timm.data.RealLabelsImagenet`` over this worker's share of the
    images, in loader order; when given, ReaL top-1 is returned as well. With ``per_image``
    the stats also carry every image's target and top-1 class, gathered from all ranks into
    dataset order (the loader's dataset is a ``Subset`` of this rank's indices).
    """
    model.eval()
    k = min(5, num_classes)
    correct1 = correct5 = loss_sum = 0.0
    n = 0
    targets, preds = [], []
    for x, y in loader:
        x = x.to(ctx.device, non_blocking=True)
        y = y.to(ctx.device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(ctx.device, amp):
            logits = model(x)
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        topk = logits.topk(k, dim=1).indices
        hits = topk.eq(y[:, None])
        correct1 += hits[:, 0].sum().item()
        correct5 += hits.any(dim=1).sum().item()
        n += y.shape[0]
        if per_image:
            targets.append(y.cpu())
            preds.append(topk[:, 0].cpu())
        if real_labels is not None:
            real_labels.add_result(logits)
    real = None
    real_hits = real_n = 0.0
    if real_labels is not None:
        flags = real_labels.is_correct[1]
        real_hits, real_n = float(sum(flags)), float(len(flags))
    c1, c5, ls, total, rh, rn = all_sum([correct1, correct5, loss_sum, n, real_hits, real_n], ctx)
    if real_labels is not None and rn > 0:
        real = 100.0 * rh / rn
    stats = EvalStats(top1=100.0 * c1 / total, top5=100.0 * c5 / total, loss=ls / total, n=int(total))
    if per_image:
        indices = getattr(loader.dataset, "indices", range(n))
        stats = replace(
            stats,
            targets=gather_in_image_order(_cat(targets), indices, ctx),
            preds=gather_in_image_order(_cat(preds), indices, ctx),
        )
    return stats, real


def _cat(parts: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(parts).numpy().astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
