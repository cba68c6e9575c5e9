"""One training run, top to bottom: config in, metrics out through a callback.

This is the trainer's library entry point; ``python -m trainer`` and the sweep driver both
call :func:`train`. It knows nothing about Ray: the driver adapts ``report``.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from trainer import checkpoint as ckpt
from trainer import data as data_mod
from trainer.config import TrainConfig, derive_seed, resolve_runtime
from trainer.distributed import Dist, all_gather, barrier, setup
from trainer.errors import ConfigError
from trainer.loop import evaluate, train_one_epoch
from trainer.model import create_model
from trainer.optim import create_loss, create_mixup, create_optimizer, create_scheduler
from trainer.rng import RngStream, global_state, seed_globals, set_global_state

#: ``report(metrics, checkpoint_dir)``: called on every worker after every epoch; the
#: checkpoint folder is given on rank 0 only (None elsewhere).
ReportFn = Callable[[dict[str, Any], Optional[Path]], None]

#: Fields that may differ between a checkpoint and the run resuming it.
EXECUTION_FIELDS = ("cache_images", "workers", "device", "keep_checkpoints", "eval_sets", "real_labels", "data")


@dataclass
class RunResult:
    """What a finished (or stopped) run returns."""

    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = True


def train(
    config: TrainConfig,
    out_dir: Optional[Path] = None,
    report: Optional[ReportFn] = None,
    resume_from: Optional[Path] = None,
    stop_after: Optional[int] = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Train ``config`` to its last epoch (or ``stop_after`` epochs) and evaluate every epoch.

    ``out_dir`` receives config.json, history.jsonl, metrics.json and checkpoints/. With
    ``resume_from`` (a checkpoint folder, or a run folder holding checkpoints/) the run
    continues exactly where that checkpoint left off.
    """
    wall_start = time.perf_counter()
    ctx = setup(config.device)
    config, notices = resolve_runtime(config, ctx.device.type)
    for line in notices:
        log(line)
    amp = config.amp_dtype if config.amp else None
    channels_last = config.channels_last
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))

    # data
    splits = data_mod.build_datasets(config)
    sampler = data_mod.train_sampler(config, splits.train, ctx.world_size, ctx.rank)
    loader_gen = torch.Generator()
    train_loader = data_mod.train_loader(config, splits.train, sampler, ctx.world_size, loader_gen)
    val_loader = data_mod.eval_loader(config, splits.val, ctx.world_size, ctx.rank)
    extra_loaders = [(name, data_mod.eval_loader(config, ds, ctx.world_size, ctx.rank)) for name, ds in splits.extra]

    # model, from seed_init; then one drop-path stream per rank
    model = init_model(config, splits.num_classes).to(ctx.device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    seed_globals(derive_seed(config.seed_init, 1, ctx.rank))
    aug_rng = RngStream(derive_seed(config.seed_aug, ctx.rank))

    optimizer = create_optimizer(config, model)
    scheduler = create_scheduler(config, optimizer)
    mixup = create_mixup(config, splits.num_classes)
    loss_fn = create_loss(config, mixup_active=mixup is not None).to(ctx.device)
    scaler = torch.amp.GradScaler("cuda") if amp == "float16" and ctx.device.type == "cuda" else None
    train_model = _wrap_ddp(model, ctx)

    # resume
    start_epoch, history, prior_seconds, restarts = 0, [], 0.0, 0
    if resume_from is not None:
        state = _load_resume_state(Path(resume_from), config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        streams = state["rng"][ctx.rank]
        set_global_state(streams["main"])
        aug_rng.state = streams["aug"]
        start_epoch, history = state["epoch"], list(state["history"])
        prior_seconds, restarts = state["train_seconds"], state["restarts"] + 1
        log(f"resumed from {resume_from} at epoch {start_epoch}/{config.epochs}")
    if out is not None and ctx.is_main:
        _rewrite_history(out, history)

    last_epoch = config.epochs if stop_after is None else min(config.epochs, stop_after)
    metrics: dict[str, Any] = {}
    if history:  # resumed: a checkpoint of the last epoch already holds the final metrics
        metrics = _final_metrics(config, history[-1], ctx, prior_seconds, restarts, epochs_done=len(history))
    for epoch in range(start_epoch, last_epoch):
        scheduler.step(epoch)  # timm: the LR for `epoch`, warm-up included
        lr = optimizer.param_groups[0]["lr"]
        data_mod.set_sampler_epoch(sampler, config, epoch)
        loader_gen.manual_seed(derive_seed(config.seed_aug, epoch, ctx.rank))
        stats = train_one_epoch(
            model=train_model, loader=train_loader, optimizer=optimizer, loss_fn=loss_fn, mixup=mixup,
            scaler=scaler, aug_rng=aug_rng, ctx=ctx, epoch=epoch, amp=amp, channels_last=channels_last,
            max_steps=config.max_steps,
        )
        val, real = evaluate(model=model, loader=val_loader, ctx=ctx, amp=amp, channels_last=channels_last,
                             num_classes=splits.num_classes, real_labels=_real_labels(config, splits.val, ctx))
        row = {
            "epoch": epoch + 1, "lr": lr, "train_loss": stats.train_loss,
            "top1": val.top1, "top5": val.top5, "eval_loss": val.loss, "n_val": val.n,
            "epoch_seconds": stats.seconds, "images_per_second": stats.images / max(stats.seconds, 1e-9),
        }
        if real is not None:
            row["top1_real"] = real
        for name, loader in extra_loaders:
            extra, _ = evaluate(model=model, loader=loader, ctx=ctx, amp=amp, channels_last=channels_last,
                                num_classes=splits.num_classes)
            row[f"top1_{name}"] = extra.top1
        history.append(row)
        train_seconds = prior_seconds + time.perf_counter() - wall_start
        metrics = _final_metrics(config, row, ctx, train_seconds, restarts, epochs_done=epoch + 1)
        state_dir = _save(out, config, ctx, epoch + 1, model, optimizer, scheduler, scaler, aug_rng,
                          history, train_seconds, restarts)
        if out is not None and ctx.is_main:
            with open(out / "history.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")
        log(_progress_line(config, row))
        if report is not None:
            report(dict(metrics), state_dir)

    completed = len(history) >= config.epochs
    if out is not None and ctx.is_main and completed:
        _write_json_atomic(out / "metrics.json", metrics)
    barrier(ctx)
    return RunResult(metrics=metrics, history=history, completed=completed)


def init_model(config: TrainConfig, num_classes: int) -> torch.nn.Module:
    """The initial weights: a function of ``seed_init`` alone (identical on every rank)."""
    seed_globals(config.seed_init)
    return create_model(config, num_classes)


def _wrap_ddp(model: torch.nn.Module, ctx: Dist) -> torch.nn.Module:
    if ctx.world_size == 1:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def _load_resume_state(path: Path, config: TrainConfig) -> dict[str, Any]:
    found = ckpt.find_checkpoint(path)
    if found is None:
        raise ConfigError(f"no checkpoint found in {path}; expected {path}/checkpoints/epoch_XXXX/state.pt")
    state = ckpt.load_checkpoint(found)
    saved = {k: v for k, v in state["config"].items() if k not in EXECUTION_FIELDS}
    now = {k: v for k, v in config.to_dict().items() if k not in EXECUTION_FIELDS}
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if diff:
        raise ConfigError(
            f"checkpoint {found} was trained with a different config ({', '.join(diff)}); resume with the same settings"
        )
    return state


def _save(out, config, ctx, epoch, model, optimizer, scheduler, scaler, aug_rng, history, train_seconds, restarts):
    """Gather every rank's random streams; rank 0 writes the checkpoint and returns its folder."""
    streams = all_gather({"main": global_state(), "aug": aug_rng.state}, ctx)
    if out is None or not ctx.is_main:
        return None
    state = {
        "config": config.to_dict(), "epoch": epoch, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None, "rng": streams,
        "history": history, "train_seconds": train_seconds, "restarts": restarts,
        "world_size": ctx.world_size,
    }
    return ckpt.save_checkpoint(out / "checkpoints", epoch, state, keep=config.keep_checkpoints)


def _real_labels(config: TrainConfig, val_set, ctx: Dist):
    """timm's ReaL evaluator over this rank's share of the validation images (or None)."""
    if not config.real_labels:
        return None
    from timm.data import RealLabelsImagenet

    names = [val_set.filename(i, basename=True) for i in range(ctx.rank, len(val_set), ctx.world_size)]
    return RealLabelsImagenet(names, real_json=config.real_labels, topk=(1,))


def _final_metrics(config: TrainConfig, row: dict[str, Any], ctx: Dist, seconds: float, restarts: int, epochs_done: int):
    metrics = {k: v for k, v in row.items() if k not in ("lr", "epoch_seconds", "images_per_second")}
    metrics.update(
        epochs_done=epochs_done, restarts=restarts, train_hours=seconds / 3600.0, n_workers=ctx.world_size,
        device=_device_name(ctx), peak_mem_gb=_peak_mem_gb(ctx), done=epochs_done >= config.epochs,
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


def _rewrite_history(out: Path, history: list[dict[str, Any]]) -> None:
    """history.jsonl as of the checkpoint: a resumed run must not repeat or skip epochs."""
    tmp = out / "history.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    os.replace(tmp, out / "history.jsonl")


def _write_json_atomic(path: Path, value: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    os.replace(tmp, path)


def _progress_line(config: TrainConfig, row: dict[str, Any]) -> str:
    return (
        f"epoch {row['epoch']:>4}/{config.epochs}  lr {row['lr']:.2e}  train_loss {row['train_loss']:.4f}  "
        f"top1 {row['top1']:6.2f}  top5 {row['top5']:6.2f}  {row['images_per_second']:8.1f} img/s  "
        f"{row['epoch_seconds']:6.1f} s"
    )
