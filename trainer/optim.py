"""Optimizer, LR schedule, loss and mixup/cutmix, from timm's factories, as timm's train.py
wires them for the RSB runs (one departure, the loss rule: see :func:`create_loss`)."""

from __future__ import annotations

from typing import Optional

import torch
from timm.data import Mixup
from timm.loss import BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2

from trainer.config import TrainConfig


def create_optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """LAMB (or any timm optimizer); no weight decay on biases and norm layers, as in timm.

    timm's LAMB clips the global gradient norm at 1.0 before its update. The paper does not
    mention it, but its runs used timm's LAMB, so the clip is part of the recipe as run;
    ``lamb_grad_clip=None`` turns it off.
    """
    kwargs = {}
    if config.opt.lower() == "lamb":
        kwargs["max_grad_norm"] = config.lamb_grad_clip
    return create_optimizer_v2(model, opt=config.opt, lr=config.lr, weight_decay=config.weight_decay, **kwargs)


def create_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer):
    """timm's per-epoch scheduler: ``warmup_epochs`` linear warm-up from ``warmup_lr``, then ``sched``
    to ``min_lr`` at ``epochs``; it stays at ``min_lr`` through the ``cooldown_epochs`` after that."""
    scheduler, _ = create_scheduler_v2(
        optimizer,
        sched=config.sched,
        num_epochs=config.epochs,
        warmup_epochs=config.warmup_epochs,
        warmup_lr=config.warmup_lr,
        min_lr=config.min_lr,
        cooldown_epochs=config.cooldown_epochs,
        step_on_epochs=True,
    )
    return scheduler


def create_mixup(config: TrainConfig, num_classes: int) -> Optional[Mixup]:
    """timm's batch-wise Mixup/CutMix (label smoothing folded in), or None when both are off."""
    if config.mixup <= 0 and config.cutmix <= 0:
        return None
    return Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix, label_smoothing=config.smoothing, num_classes=num_classes)


def create_loss(config: TrainConfig, mixup_active: bool) -> torch.nn.Module:
    """The training loss named by ``config.loss``: BCE (the RSB recipes) or cross-entropy.

    ``loss="bce"`` always trains timm's ``BinaryCrossEntropy``, with the target threshold;
    label smoothing is applied here only without mixup (with mixup, Mixup already smoothed
    the targets). ``loss="ce"`` chooses as timm's train.py does: soft-target CE with mixup,
    label-smoothing CE with ``smoothing`` > 0, else plain CE.

    Departure from timm's train.py: with ``--bce-loss`` but mixup and cutmix off and
    smoothing 0, timm falls back to plain cross-entropy (train.py at 0387e60, lines 571-572,
    unchanged at v1.0). The recipes name BCE as *the* loss (paper, Table 2), so an ablation
    that turns mixup/cutmix off must still train BCE here, or it would change two things at once.
    """
    if config.loss == "bce":
        smoothing = 0.0 if mixup_active else config.smoothing
        return BinaryCrossEntropy(smoothing=smoothing, target_threshold=config.bce_target_thresh)
    if mixup_active:
        return SoftTargetCrossEntropy()
    if config.smoothing > 0:
        return LabelSmoothingCrossEntropy(smoothing=config.smoothing)
    return torch.nn.CrossEntropyLoss()
