"""The trainer's timm wiring: LR per epoch, loss, optimizer, evaluation resolution, cost."""

import math

import pytest
import torch
from timm.loss import BinaryCrossEntropy, SoftTargetCrossEntropy
from timm.optim import Lamb
from timm.scheduler import create_scheduler_v2

from tests.trainer.helpers import run, tiny_config
from trainer import resolve_config
from trainer.data import eval_transform, train_transform
from trainer.optim import create_loss, create_optimizer, create_scheduler


def timm_lr_per_epoch(epochs, warmup_epochs, lr, warmup_lr, min_lr):
    """What timm's own factory gives, built independently of the trainer."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler, _ = create_scheduler_v2(optimizer, sched="cosine", num_epochs=epochs, warmup_epochs=warmup_epochs,
                                       warmup_lr=warmup_lr, min_lr=min_lr)
    out = []
    for epoch in range(epochs):
        scheduler.step(epoch)
        out.append(optimizer.param_groups[0]["lr"])
    return out


def test_trainer_lr_every_epoch_equals_timm(tmp_path):
    config = tiny_config(epochs=8, warmup_epochs=5, max_steps=1)
    result = run(config, tmp_path)
    expected = timm_lr_per_epoch(8, 5, config.lr, config.warmup_lr, config.min_lr)
    assert [r["lr"] for r in result.history] == pytest.approx(expected, rel=0, abs=0)
    assert expected[0] == config.warmup_lr and max(expected) < config.lr  # warm-up, then cosine


@pytest.mark.parametrize("recipe", ["a1", "a2", "a3"])
def test_full_recipe_schedule_equals_timm(recipe, image_folder):
    config = resolve_config(recipe, data=str(image_folder))
    model = torch.nn.Linear(2, 2)
    optimizer = create_optimizer(config, model)
    scheduler = create_scheduler(config, optimizer)
    ours = []
    for epoch in range(config.epochs):
        scheduler.step(epoch)
        ours.append(optimizer.param_groups[0]["lr"])
    assert ours == timm_lr_per_epoch(config.epochs, 5, config.lr, config.warmup_lr, config.min_lr)
    # hand-computed: after warm-up timm's cosine runs over all epochs (no warm-up prefix)
    cosine = 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * 5 / config.epochs))
    assert ours[5] == pytest.approx(config.min_lr + cosine, rel=1e-12)


def test_lamb_keeps_timm_gradient_clip_unless_turned_off(image_folder):
    model = torch.nn.Linear(2, 2)
    opt = create_optimizer(resolve_config("a2", data=str(image_folder)), model)
    assert isinstance(opt, Lamb) and opt.defaults["max_grad_norm"] == 1.0
    opt = create_optimizer(resolve_config("a2", data=str(image_folder), lamb_grad_clip=None), model)
    assert opt.defaults["max_grad_norm"] is None


def test_lamb_grad_clip_changes_the_update():
    def step(clip):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)
        opt = create_optimizer(resolve_config("a2", lamb_grad_clip=clip), model)
        (model(torch.randn(8, 4)).sum() * 1000).backward()
        opt.step()
        return model.weight.detach().clone()

    assert not torch.equal(step(1.0), step(None))


def test_loss_follows_recipe():
    bce = create_loss(resolve_config("a2"), mixup_active=True)
    assert isinstance(bce, BinaryCrossEntropy) and bce.target_threshold == 0.2
    assert isinstance(create_loss(resolve_config("a2", loss="ce"), mixup_active=True), SoftTargetCrossEntropy)
    smoothed = create_loss(resolve_config("a1", mixup=0.0, cutmix=0.0), mixup_active=False)
    assert isinstance(smoothed, BinaryCrossEntropy) and smoothed.smoothing == 0.1


def test_transforms_use_recipe_resolution_and_crop(image_folder):
    a3 = resolve_config("a3", data=str(image_folder))
    assert "size=(160, 160)" in repr(train_transform(a3)) and "rand-m6" not in repr(train_transform(a3))
    assert "RandAugment" in repr(train_transform(a3))
    text = repr(eval_transform(a3))
    assert "CenterCrop(size=(224, 224))" in text and "Resize(size=235" in text  # 224 / 0.95 = 235.8


def test_a3_trains_at_low_res_and_evaluates_at_high_res(tmp_path):
    config = tiny_config("a3", epochs=2)
    assert config.train_res < config.test_res
    result = run(config, tmp_path)
    assert result.completed and result.metrics["n_val"] == 360


def test_cost_accounting(tmp_path):
    result = run(tiny_config(epochs=1, warmup_epochs=0), tmp_path)
    m = result.metrics
    assert m["n_workers"] == 1 and m["device"] == "cpu"
    assert 0 < m["train_hours"] < 1 and m["peak_mem_gb"] > 0.05
    assert all(r["images_per_second"] > 0 and r["epoch_seconds"] > 0 for r in result.history)
    assert m["epochs_done"] == 1 and m["done"] is True


def test_extra_eval_set(tmp_path):
    from trainer.digits import digits_root

    result = run(tiny_config(epochs=1, warmup_epochs=0, eval_sets=(("again", str(digits_root() / "val")),)), tmp_path)
    assert result.metrics["top1_again"] == result.metrics["top1"]


def test_real_labels_top1(tmp_path):
    """ImageNet-ReaL scoring through timm's RealLabelsImagenet, on renamed digits."""
    import json
    import shutil

    from trainer.digits import digits_root

    src = digits_root()
    root = tmp_path / "inet"
    shutil.copytree(src / "train", root / "train")
    files = sorted((src / "val").glob("*/*.png"), key=lambda p: p.name)
    labels = []
    for i, f in enumerate(files):
        dest = root / "val" / f.parent.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dest / f"ILSVRC2012_val_{i + 1:08d}.JPEG")
        labels.append(list(range(10)))  # every class counts as right: ReaL top-1 must be 100
    real = tmp_path / "real.json"
    real.write_text(json.dumps(labels))
    config = resolve_config("a2", data=str(root), real_labels=str(real), epochs=1, warmup_epochs=0, max_steps=1,
                            batch_size=16, train_res=32, test_res=32, width_mult=0.25, workers=0)
    result = run(config, tmp_path / "out")
    assert result.metrics["top1_real"] == 100.0 and result.metrics["top1"] < 100.0
