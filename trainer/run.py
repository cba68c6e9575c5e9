"""One training run, top to bottom: config in, metrics out through a callback.

:func:`train` reads as the recipe, one named stage a line: resolve the config (and the
checkpoint to resume) → open the run folder → build the data → build the model and what trains
it → restore the checkpoint → per epoch: train and evaluate (:func:`run_epoch`), checkpoint,
report → at the end, predictions and metrics.json (:func:`finish`). The stages follow it in that
order. This is the trainer's library entry point; ``python -m trainer`` and the sweep driver both
call :func:`train`. It knows nothing about Ray: the driver adapts ``report``.
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import torch
from timm.utils import distribute_bn

from trainer import checkpoint as ckpt
from trainer import data as data_mod
from trainer.config import TrainConfig, config_differences, derive_seed, resolve_runtime
from trainer.distributed import Dist, all_gather, barrier, setup
from trainer.errors import ConfigError
from trainer.files import atomic_write_json, atomic_write_text
from trainer.init_from import load_backbone, load_source, resolve_source
from trainer.loop import EvalStats, evaluate, train_one_epoch
from trainer.metrics import final_metrics, progress_line
from trainer.model import create_model
from trainer.optim import create_loss, create_mixup, create_optimizer, create_scheduler
from trainer.predictions import MAIN_SET, SetPredictions, prediction_table, write_predictions
from trainer.rng import RngStream, global_state, seed_globals, set_deterministic, set_global_state
from trainer.threads import resolve_threads, threads_restored

#: ``report(metrics, checkpoint_dir)``: called on every worker after every epoch; the
#: checkpoint folder is given on rank 0 only (None elsewhere).
ReportFn = Callable[[dict[str, Any], Optional[Path]], None]


@dataclass
class RunResult:
    """What a finished (or stopped) run returns."""

    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = True


@dataclass(frozen=True, kw_only=True)
class RunData:
    """The run's data: the splits, every loader, and the sampler and generator each epoch reseeds."""

    splits: data_mod.DataSplits
    sampler: Any
    generator: torch.Generator
    train: Iterable
    val: Iterable
    extra: list[tuple[str, Iterable]]


@dataclass(frozen=True, kw_only=True)
class RunParts:
    """What the training steps need: the model (and its DDP wrapper), optimizer, LR schedule,
    mixup/cutmix, loss, gradient scaler, this rank's augmentation stream and the precision."""

    model: torch.nn.Module
    train_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    mixup: Optional[Callable]
    loss_fn: torch.nn.Module
    scaler: Optional[torch.amp.GradScaler]
    aug_rng: RngStream
    amp: Optional[str]
    channels_last: bool


@dataclass
class Progress:
    """Where the run stands: epochs done, their history rows, training seconds spent by earlier
    processes of this run, and how many times it was restored."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    prior_seconds: float = 0.0
    restarts: int = 0


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
    except for :data:`trainer.config.EXECUTION_FIELDS` (checked before anything is written).
    Under DDP the BN running statistics are averaged over ranks before every evaluation
    (and so before every checkpoint), as timm's train.py does with ``--dist-bn reduce``.
    The stages run in this order, which the random streams depend on (bit-exact resume). The
    intra-op thread count is pinned for the run (:mod:`trainer.threads`) and given back after it.
    """
    with threads_restored():
        return _train(config, out_dir, report, resume_from, stop_after, log)


def _train(config: TrainConfig, out_dir: Optional[Path], report: Optional[ReportFn], resume_from: Optional[Path],
           stop_after: Optional[int], log: Callable[[str], None]) -> RunResult:
    """:func:`train`, one named stage a line."""
    wall_start = time.perf_counter()
    ctx = setup(config.device)
    config, state, source = resolve_run(config, ctx, resume_from, log)
    out = open_run_folder(out_dir, config, ctx)
    data = build_data(config, ctx)
    parts = build_parts(config, ctx, data.splits.num_classes, source)
    source = None  # release the source's tensors
    progress = Progress()
    if state is not None:
        progress, state = restore(parts, state, ctx), None  # release the loaded tensors
        log(f"resumed from {resume_from} at epoch {progress.epoch}/{config.total_epochs}")
    if out is not None and ctx.is_main:
        _rewrite_history(out, progress.history)

    last_epoch = config.total_epochs if stop_after is None else min(config.total_epochs, stop_after)
    metrics: dict[str, Any] = {}
    if progress.history:  # resumed: a checkpoint of the last epoch already holds the final metrics
        metrics = final_metrics(config, progress.history[-1], ctx, progress.prior_seconds, progress.restarts,
                                epochs_done=len(progress.history))
    final: dict[str, EvalStats] = {}  # eval set -> the last epoch's evaluation, with per-image predictions
    for epoch in range(progress.epoch, last_epoch):
        row, final = run_epoch(config, ctx, data, parts, epoch)
        progress.history.append(row)
        progress.epoch = epoch + 1
        train_seconds = progress.prior_seconds + time.perf_counter() - wall_start
        metrics = final_metrics(config, row, ctx, train_seconds, progress.restarts, epochs_done=epoch + 1)
        state_dir = save_state(out, config, ctx, parts, progress, train_seconds)
        if out is not None and ctx.is_main:
            with open(out / ckpt.HISTORY_FILE, "a") as fh:
                fh.write(json.dumps(row) + "\n")
        log(progress_line(config, row))
        if report is not None:
            report(dict(metrics), state_dir)

    completed = len(progress.history) >= config.total_epochs
    if out is not None and completed:
        finish(out, config, ctx, data, parts, final, metrics)
    barrier(ctx)
    return RunResult(metrics=metrics, history=progress.history, completed=completed)


# ------------------------------------------------------------------------------------------
# the stages, in the order train() runs them


def resolve_run(config: TrainConfig, ctx: Dist, resume_from: Optional[Path],
                log: Callable[[str], None]) -> tuple[TrainConfig, Optional[dict[str, Any]], Optional[ckpt.Weights]]:
    """The config as it runs on this device and thread count (what config.json records), the
    checkpoint state to resume from, checked against that config before anything is written, and, for
    a fine-tuning run at epoch 0, its source's weights (:mod:`trainer.init_from`; never on a resume); the
    thread count pinned (the stored one on a resume, unless given) and torch's deterministic mode
    set as the config says."""
    config, notices = resolve_runtime(config, ctx.device.type)
    state = _load_resume_state(Path(resume_from), config) if resume_from is not None else None
    source = None
    if config.init_from is not None and state is None:  # fine-tuning, at epoch 0: the source is read
        config = resolve_source(config)
        source = load_source(config)
        log(f"fine-tuning from {source.folder} (epoch {source.epoch}, config {config.init_from_hash}): "
            f"its {config.model} backbone, a new classifier from seed_init")
    config, thread_notices = resolve_threads(config, TrainConfig.from_dict(state["config"]) if state else None)
    set_deterministic(config.deterministic)
    for line in notices + thread_notices:
        log(line)
    return config, state, source


def open_run_folder(out_dir: Optional[Path], config: TrainConfig, ctx: Dist) -> Optional[Path]:
    """The run folder with its config.json (written by rank 0), or None for a run that keeps no files."""
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / ckpt.CONFIG_FILE, config.to_dict())
    return out


def build_data(config: TrainConfig, ctx: Dist) -> RunData:
    """The datasets and this rank's loaders (timm's datasets and transforms, :mod:`trainer.data`)."""
    splits = data_mod.build_datasets(config)
    sampler = data_mod.train_sampler(config, splits.train, ctx.world_size, ctx.rank)
    generator = torch.Generator()
    train_loader = data_mod.train_loader(config, splits.train, sampler, ctx.world_size, generator)
    val_loader = data_mod.eval_loader(config, splits.val, ctx.world_size, ctx.rank)
    extra = [(name, data_mod.eval_loader(config, ds, ctx.world_size, ctx.rank)) for name, ds in splits.extra]
    return RunData(splits=splits, sampler=sampler, generator=generator, train=train_loader, val=val_loader, extra=extra)


def build_parts(config: TrainConfig, ctx: Dist, num_classes: int, source: Optional[ckpt.Weights] = None) -> RunParts:
    """The model from ``seed_init`` (with ``source``'s backbone when fine-tuning), then one drop-path stream
    per rank, and what trains it."""
    model = init_model(config, num_classes, source).to(ctx.device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    seed_globals(derive_seed(config.seed_init, 1, ctx.rank))
    aug_rng = RngStream(derive_seed(config.seed_aug, ctx.rank))
    amp = config.amp_dtype if config.amp else None
    optimizer = create_optimizer(config, model)
    scheduler = create_scheduler(config, optimizer)
    mixup = create_mixup(config, num_classes)
    loss_fn = create_loss(config, mixup_active=mixup is not None).to(ctx.device)
    scaler = torch.amp.GradScaler("cuda") if amp == "float16" and ctx.device.type == "cuda" else None
    return RunParts(model=model, train_model=_wrap_ddp(model, ctx), optimizer=optimizer, scheduler=scheduler,
                    mixup=mixup, loss_fn=loss_fn, scaler=scaler, aug_rng=aug_rng, amp=amp,
                    channels_last=config.channels_last)


def restore(parts: RunParts, state: dict[str, Any], ctx: Dist) -> Progress:
    """Load a checkpoint into ``parts`` (model, optimizer, schedule, scaler, this rank's random
    streams), so that the run continues bit-exactly; where it stood."""
    parts.model.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    if parts.scaler is not None and state.get("scaler") is not None:
        parts.scaler.load_state_dict(state["scaler"])
    streams = state["rng"][ctx.rank]
    set_global_state(streams["main"])
    parts.aug_rng.state = streams["aug"]
    return Progress(epoch=state["epoch"], history=list(state["history"]), prior_seconds=state["train_seconds"],
                    restarts=state["restarts"] + 1)


def run_epoch(config: TrainConfig, ctx: Dist, data: RunData, parts: RunParts,
              epoch: int) -> tuple[dict[str, Any], dict[str, EvalStats]]:
    """Train one epoch, then evaluate every set: the epoch's history row and, at the last epoch,
    each set's evaluation with its per-image predictions (empty before)."""
    parts.scheduler.step(epoch)  # timm: the LR for `epoch`, warm-up included; min_lr past `epochs` (cool-down)
    lr = parts.optimizer.param_groups[0]["lr"]
    data_mod.set_sampler_epoch(data.sampler, config, epoch)
    data.generator.manual_seed(derive_seed(config.seed_aug, epoch, ctx.rank))
    per_image = epoch + 1 == config.total_epochs
    stats = train_one_epoch(
        model=parts.train_model, loader=data.train, optimizer=parts.optimizer, loss_fn=parts.loss_fn,
        mixup=parts.mixup, scaler=parts.scaler, aug_rng=parts.aug_rng, ctx=ctx, epoch=epoch, amp=parts.amp,
        channels_last=parts.channels_last, max_steps=config.max_steps,
    )
    if ctx.world_size > 1:  # every rank evaluates its share with the same BN statistics
        distribute_bn(parts.model, ctx.world_size, reduce=True)
    val, real = _evaluate_set(parts, ctx, data, data.val, per_image, _real_labels(config, data.splits.val, ctx))
    row = {
        "epoch": epoch + 1, "lr": lr, "train_loss": stats.train_loss,
        "top1": val.top1, "top5": val.top5, "eval_loss": val.loss, "n_val": val.n,
        "epoch_seconds": stats.seconds, "images_per_second": stats.images / max(stats.seconds, 1e-9),
    }
    if real is not None:
        row["top1_real"] = real
    final = {MAIN_SET: val}
    for name, loader in data.extra:
        final[name], _ = _evaluate_set(parts, ctx, data, loader, per_image)
        row[f"top1_{name}"] = final[name].top1
    return row, (final if per_image else {})


def save_state(out: Optional[Path], config: TrainConfig, ctx: Dist, parts: RunParts, progress: Progress,
               train_seconds: float) -> Optional[Path]:
    """Gather every rank's random streams; rank 0 writes the checkpoint and returns its folder."""
    streams = all_gather({"main": global_state(), "aug": parts.aug_rng.state}, ctx)
    if out is None or not ctx.is_main:
        return None
    state = {
        "config": config.to_dict(), "epoch": progress.epoch, "model": parts.model.state_dict(),
        "optimizer": parts.optimizer.state_dict(), "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.scaler.state_dict() if parts.scaler is not None else None, "rng": streams,
        "history": progress.history, "train_seconds": train_seconds, "restarts": progress.restarts,
        "world_size": ctx.world_size,
    }
    return ckpt.save_checkpoint(out / ckpt.CHECKPOINTS_DIR, progress.epoch, state, keep=config.keep_checkpoints)


def finish(out: Path, config: TrainConfig, ctx: Dist, data: RunData, parts: RunParts,
           final: dict[str, EvalStats], metrics: dict[str, Any]) -> None:
    """A finished run writes its per-image predictions, then metrics.json (so that a finished run
    always has its predictions), then keeps its final checkpoint as ``final_checkpoint`` says
    (whole, or its weights alone: a process that dies before that leaves it whole). Resumed after
    its last epoch, it evaluates the final weights again, which give the same predictions."""
    if not final:
        final = {name: _evaluate_set(parts, ctx, data, loader, per_image=True)[0]
                 for name, loader in [(MAIN_SET, data.val), *data.extra]}
    if ctx.is_main:
        _write_predictions(out, config, final)
        atomic_write_json(out / ckpt.METRICS_FILE, metrics)
        last = ckpt.find_checkpoint(out / ckpt.CHECKPOINTS_DIR)
        if config.final_checkpoint == "weights" and last and ckpt.checkpoint_epoch(last) == config.total_epochs:
            ckpt.keep_weights_only(last)


# ------------------------------------------------------------------------------------------
# helpers of the stages


def init_model(config: TrainConfig, num_classes: int, source: Optional[ckpt.Weights] = None) -> torch.nn.Module:
    """The initial weights: a function of ``seed_init`` alone (identical on every rank); fine-tuning, the
    source's backbone over them, so that the new classifier alone is drawn from ``seed_init``."""
    seed_globals(config.seed_init)
    model = create_model(config, num_classes)
    if source is not None:
        load_backbone(model, source.model)
    return model


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
    if ckpt.is_weights_only(state):
        raise ConfigError(
            f"checkpoint {found} holds the final weights only (final_checkpoint='weights': the optimizer, LR "
            f"schedule and random streams were dropped once the run finished), so training cannot continue "
            f"from it. The run is done (its metrics.json); evaluate it with python -m trainer.evaluate, or train "
            f"with --final-checkpoint full to keep final checkpoints that can be resumed"
        )
    # a field added since the checkpoint was written counts as its default (what that run did)
    diff = config_differences(TrainConfig.from_dict(state["config"]).to_dict(), config.to_dict())
    if diff:
        raise ConfigError(
            f"checkpoint {found} was trained with a different config: {'; '.join(diff)}. Resume with the "
            f"stored settings (python -m trainer --resume DIR alone uses them), or start a new run"
        )
    return state


def _evaluate_set(parts: RunParts, ctx: Dist, data: RunData, loader: Iterable, per_image: bool,
                  real_labels: Any = None) -> tuple[EvalStats, Optional[float]]:
    """One evaluation pass over ``loader`` (:func:`trainer.loop.evaluate`) with the run's precision."""
    return evaluate(model=parts.model, loader=loader, ctx=ctx, amp=parts.amp, channels_last=parts.channels_last,
                    num_classes=data.splits.num_classes, real_labels=real_labels, per_image=per_image)


def _real_labels(config: TrainConfig, val_set, ctx: Dist):
    """timm's ReaL evaluator over this rank's share of the validation images (or None)."""
    if not config.real_labels:
        return None
    from timm.data import RealLabelsImagenet

    names = [val_set.filename(i, basename=True) for i in range(ctx.rank, len(val_set), ctx.world_size)]
    return RealLabelsImagenet(names, real_json=config.real_labels, topk=(1,))


def _write_predictions(out: Path, config: TrainConfig, final: dict[str, EvalStats]) -> None:
    """predictions.parquet of the final evaluations; ``trial_id`` is the run folder's name."""
    sets = [SetPredictions(name, config.crop_pct, config.test_res, s.targets, s.preds) for name, s in final.items()]
    write_predictions(out / ckpt.PREDICTIONS_FILE, prediction_table(out.name, sets))


def _rewrite_history(out: Path, history: list[dict[str, Any]]) -> None:
    """history.jsonl as of the checkpoint: a resumed run must not repeat or skip epochs."""
    atomic_write_text(out / ckpt.HISTORY_FILE, "".join(json.dumps(r) + "\n" for r in history))
