"""One training run, top to bottom: config in, metrics out through a callback.

This is the trainer's library entry point; ``python -m trainer`` and the sweep driver both
call :func:`train`. It knows nothing about Ray: the driver adapts ``report``.
"""

from __future__ import annotations

import inspect
import json
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from timm.utils import distribute_bn

from trainer import checkpoint as ckpt
from trainer import data as data_mod
from trainer.config import TrainConfig, derive_seed, resolve_runtime
from trainer.distributed import Dist, all_gather, barrier, setup
from trainer.errors import ConfigError
from trainer.files import atomic_write_json, atomic_write_text
from trainer.loop import EvalStats, evaluate, train_one_epoch
from trainer.model import create_model
from trainer.optim import create_loss, create_mixup, create_optimizer, create_scheduler
from trainer.predictions import MAIN_SET, SetPredictions, prediction_table, write_predictions
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

    ``out_dir`` receives config.json, history.jsonl, metrics.json, checkpoints/ and, once the
    last epoch is done, predictions.parquet (:mod:`trainer.predictions`). With
    ``resume_from`` (a checkpoint folder, or a run folder holding checkpoints/) the run
    continues exactly where that checkpoint left off; ``config`` must equal the checkpoint's
    except for :data:`EXECUTION_FIELDS` (checked before anything is written).
    Under DDP the BN running statistics are averaged over ranks before every evaluation
    (and so before every checkpoint), as timm's train.py does with ``--dist-bn reduce``.
    """
    wall_start = time.perf_counter()
    ctx = setup(config.device)
    config, notices = resolve_runtime(config, ctx.device.type)  # what runs is what config.json records
    # the checkpoint holds the resolved config: compare like with like, before anything is written
    state = _load_resume_state(Path(resume_from), config) if resume_from is not None else None
    for line in notices:
        log(line)
    amp = config.amp_dtype if config.amp else None
    channels_last = config.channels_last
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / ckpt.CONFIG_FILE, config.to_dict())

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
    if state is not None:
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
        state = None  # release the loaded tensors
        log(f"resumed from {resume_from} at epoch {start_epoch}/{config.total_epochs}")
    if out is not None and ctx.is_main:
        _rewrite_history(out, history)

    last_epoch = config.total_epochs if stop_after is None else min(config.total_epochs, stop_after)
    metrics: dict[str, Any] = {}
    final: dict[str, EvalStats] = {}  # eval set -> the last epoch's evaluation, with per-image predictions
    if history:  # resumed: a checkpoint of the last epoch already holds the final metrics
        metrics = _final_metrics(config, history[-1], ctx, prior_seconds, restarts, epochs_done=len(history))
    for epoch in range(start_epoch, last_epoch):
        scheduler.step(epoch)  # timm: the LR for `epoch`, warm-up included; min_lr past `epochs` (cool-down)
        lr = optimizer.param_groups[0]["lr"]
        data_mod.set_sampler_epoch(sampler, config, epoch)
        loader_gen.manual_seed(derive_seed(config.seed_aug, epoch, ctx.rank))
        per_image = epoch + 1 == config.total_epochs
        stats = train_one_epoch(
            model=train_model, loader=train_loader, optimizer=optimizer, loss_fn=loss_fn, mixup=mixup,
            scaler=scaler, aug_rng=aug_rng, ctx=ctx, epoch=epoch, amp=amp, channels_last=channels_last,
            max_steps=config.max_steps,
        )
        if ctx.world_size > 1:  # every rank evaluates its share with the same BN statistics
            distribute_bn(model, ctx.world_size, reduce=True)
        val, real = evaluate(model=model, loader=val_loader, ctx=ctx, amp=amp, channels_last=channels_last,
                             num_classes=splits.num_classes, real_labels=_real_labels(config, splits.val, ctx),
                             per_image=per_image)
        row = {
            "epoch": epoch + 1, "lr": lr, "train_loss": stats.train_loss,
            "top1": val.top1, "top5": val.top5, "eval_loss": val.loss, "n_val": val.n,
            "epoch_seconds": stats.seconds, "images_per_second": stats.images / max(stats.seconds, 1e-9),
        }
        if real is not None:
            row["top1_real"] = real
        for name, loader in extra_loaders:
            extra, _ = evaluate(model=model, loader=loader, ctx=ctx, amp=amp, channels_last=channels_last,
                                num_classes=splits.num_classes, per_image=per_image)
            row[f"top1_{name}"] = extra.top1
            final[name] = extra
        if per_image:
            final = {MAIN_SET: val, **final}
        history.append(row)
        train_seconds = prior_seconds + time.perf_counter() - wall_start
        metrics = _final_metrics(config, row, ctx, train_seconds, restarts, epochs_done=epoch + 1)
        state_dir = _save(out, config, ctx, epoch + 1, model, optimizer, scheduler, scaler, aug_rng,
                          history, train_seconds, restarts)
        if out is not None and ctx.is_main:
            with open(out / ckpt.HISTORY_FILE, "a") as fh:
                fh.write(json.dumps(row) + "\n")
        log(_progress_line(config, row))
        if report is not None:
            report(dict(metrics), state_dir)

    completed = len(history) >= config.total_epochs
    if out is not None and completed:  # before metrics.json: a finished run always has its predictions
        if not final:  # resumed after the last epoch: the final weights give the same predictions again
            final = {name: evaluate(model=model, loader=loader, ctx=ctx, amp=amp, channels_last=channels_last,
                                    num_classes=splits.num_classes, per_image=True)[0]
                     for name, loader in [(MAIN_SET, val_loader), *extra_loaders]}
        if ctx.is_main:
            _write_predictions(out, config, final)
    if out is not None and ctx.is_main and completed:
        atomic_write_json(out / ckpt.METRICS_FILE, metrics)
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
    # As timm's train.py with --dist-bn reduce: each rank keeps its own BN statistics during
    # the epoch (no broadcast from rank 0 at every forward); they are averaged before evaluation.
    # torch 2.14 renamed the switch (and deprecated the old name); torch>=2.4 is supported.
    ddp = torch.nn.parallel.DistributedDataParallel
    no_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(ddp).parameters
               else {"broadcast_buffers": False})
    return ddp(model, device_ids=ids, **no_sync)


def _load_resume_state(path: Path, config: TrainConfig) -> dict[str, Any]:
    found = ckpt.find_checkpoint(path)
    if found is None:
        raise ConfigError(f"no checkpoint found in {path}; expected {path}/checkpoints/epoch_XXXX/state.pt")
    state = ckpt.load_checkpoint(found)
    # a field added since the checkpoint was written counts as its default (what that run did)
    diff = config_differences(TrainConfig.from_dict(state["config"]).to_dict(), config.to_dict())
    if diff:
        raise ConfigError(
            f"checkpoint {found} was trained with a different config: {'; '.join(diff)}. Resume with the "
            f"stored settings (python -m trainer --resume DIR alone uses them), or start a new run"
        )
    return state


def config_differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``field: checkpoint X, given Y`` for every field outside :data:`EXECUTION_FIELDS` that differs."""
    names = sorted((set(saved) | set(now)) - set(EXECUTION_FIELDS))
    return [f"{k}: checkpoint {saved.get(k)!r}, given {now.get(k)!r}" for k in names if saved.get(k) != now.get(k)]


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


def _write_predictions(out: Path, config: TrainConfig, final: dict[str, EvalStats]) -> None:
    """predictions.parquet of the final evaluations; ``trial_id`` is the run folder's name."""
    sets = [SetPredictions(name, config.crop_pct, config.test_res, s.targets, s.preds) for name, s in final.items()]
    write_predictions(out / ckpt.PREDICTIONS_FILE, prediction_table(out.name, sets))


def _rewrite_history(out: Path, history: list[dict[str, Any]]) -> None:
    """history.jsonl as of the checkpoint: a resumed run must not repeat or skip epochs."""
    atomic_write_text(out / ckpt.HISTORY_FILE, "".join(json.dumps(r) + "\n" for r in history))


def _progress_line(config: TrainConfig, row: dict[str, Any]) -> str:
    return (
        f"epoch {row['epoch']:>4}/{config.total_epochs}  lr {row['lr']:.2e}  train_loss {row['train_loss']:.4f}  "
        f"top1 {row['top1']:6.2f}  top5 {row['top5']:6.2f}  {row['images_per_second']:8.1f} img/s  "
        f"{row['epoch_seconds']:6.1f} s"
    )
