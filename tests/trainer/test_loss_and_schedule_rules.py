"""The loss rule (BCE whenever the recipe says BCE) and the LR schedule's end points."""

import torch
import torch.nn.functional as F
from timm.loss import BinaryCrossEntropy

from tests.trainer.helpers import run, tiny_config
from trainer import resolve_config
from trainer.optim import create_loss, create_optimizer, create_scheduler


def test_bce_recipe_trains_bce_even_without_mixup_cutmix_and_smoothing():
    # timm's train.py falls back to plain cross-entropy here; the trainer keeps the recipe's BCE.
    config = resolve_config("a2", mixup=0.0, cutmix=0.0, smoothing=0.0)
    loss_fn = create_loss(config, mixup_active=False)
    assert isinstance(loss_fn, BinaryCrossEntropy)
    logits, y = torch.randn(8, 10, generator=torch.Generator().manual_seed(0)), torch.arange(8)
    expected = F.binary_cross_entropy_with_logits(logits, F.one_hot(y, 10).float())
    assert torch.allclose(loss_fn(logits, y), expected)
    assert not torch.allclose(loss_fn(logits, y), F.cross_entropy(logits, y))


def test_ce_loss_follows_timm_rule():
    ce = resolve_config("a2", loss="ce", mixup=0.0, cutmix=0.0, smoothing=0.0)
    assert type(create_loss(ce, mixup_active=False)) is torch.nn.CrossEntropyLoss


def lrs(config):
    optimizer = create_optimizer(config, torch.nn.Linear(2, 2))
    scheduler = create_scheduler(config, optimizer)
    out = []
    for epoch in range(config.total_epochs):
        scheduler.step(epoch)
        out.append(optimizer.param_groups[0]["lr"])
    return out


def test_schedule_starts_at_warmup_lr_and_ends_at_min_lr_through_the_cooldown():
    config = resolve_config("a2", data="unused", epochs=20, cooldown_epochs=3)
    got = lrs(config)
    assert len(got) == 23 and got[0] == config.warmup_lr == 1e-4  # timm train.py's default in Sept 2021
    assert max(got) <= config.lr and got[-4] > config.min_lr
    assert got[-3:] == [config.min_lr] * 3 and config.min_lr == 1e-6
    assert lrs(resolve_config("a2", data="unused", epochs=20))[:20] == got[:20]  # cool-down only appends


def test_cooldown_epochs_are_trained_and_resumed(tmp_path):
    config = tiny_config(seed=1, epochs=1, warmup_epochs=0, cooldown_epochs=1)
    result = run(config, tmp_path / "run")
    assert result.completed and [r["epoch"] for r in result.history] == [1, 2]
    assert result.history[-1]["lr"] == config.min_lr and result.metrics["done"]
    part = run(config, tmp_path / "part", stop_after=1)  # the schedule done, the cool-down not
    assert not part.completed and not part.metrics["done"]
    resumed = run(config, tmp_path / "part", resume_from=tmp_path / "part")
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in result.history]
