"""The run configuration: a frozen dataclass resolved from a recipe, a preset and overrides.

Field names are the results-table column names of DESIGN.md, so that a trial's config,
its ``config.json`` and its row in ``results.parquet`` speak the same language.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from trainer.errors import ConfigError
from trainer.presets import DIGITS, apply_preset
from trainer.recipes import get_recipe
from trainer.targets import apply_target, check_dataset


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything one training run depends on. Two equal configs give equal runs (on CPU)."""

    # what runs
    recipe: str = "a2"
    model: str = "resnet50"
    dataset: str = DIGITS
    data: Optional[str] = None  # ImageFolder root with train/ and val/; None = embedded digits
    width_mult: float = 1.0  # scales the ResNet stage widths; the digits preset shrinks it
    # seeds: `seed` derives the three streams unless one is pinned
    seed: int = 0
    seed_init: Optional[int] = None  # weights, drop-path
    seed_data: Optional[int] = None  # sample order, repeated-augmentation selection
    seed_aug: Optional[int] = None  # RandAugment, crops, flips, mixup/cutmix draws
    # the recipe (trainer.recipes.Recipe)
    epochs: int = 300
    train_res: int = 224
    test_res: int = 224
    crop_pct: float = 0.95
    batch_size: int = 2048
    opt: str = "lamb"
    lr: float = 5e-3
    weight_decay: float = 0.02
    warmup_epochs: int = 5
    sched: str = "cosine"
    loss: str = "bce"
    smoothing: float = 0.0
    mixup: float = 0.1
    cutmix: float = 1.0
    auto_augment: Optional[str] = "rand-m7-mstd0.5-inc1"
    aug_repeats: int = 3
    drop_path: float = 0.05
    bce_target_thresh: Optional[float] = 0.2
    interpolation: str = "bicubic"
    model_ema: bool = False
    drop: float = 0.0
    reprob: float = 0.0
    color_jitter: float = 0.0
    # Not in the paper: the defaults of timm's train.py when the RSB runs were made (Sept 2021;
    # train.py at 0387e60, the commit that added --bce-target-thresh: --warmup-lr 0.0001,
    # --min-lr 1e-6). timm changed them to 1e-5 and 0 a year later (b1b024d, 2022-10-07).
    warmup_lr: float = 1e-4  # LR of the first warm-up epoch
    min_lr: float = 1e-6  # floor of the cosine decay
    # Epochs at min_lr after `epochs` (timm's --cooldown-epochs). That train.py defaulted to 10,
    # so `--epochs 600` trained 610 unless overridden; no record of the RSB runs' value was
    # found, and the paper counts 600/300/100 epochs: 0 here, 10 reproduces timm's default.
    cooldown_epochs: int = 0
    lamb_grad_clip: Optional[float] = 1.0  # timm's Lamb clips the global grad norm at 1.0
    # execution: not part of the recipe, but part of what makes a run reproducible
    cache_images: bool = False  # keep decoded images in memory (small data sets)
    workers: int = 4  # data-loader processes per DDP worker; augmentation draws depend on it
    device: str = "auto"  # auto | cpu | cuda
    # auto settings (None): resolve_runtime fixes them before the run; config.json records the result
    amp: Optional[bool] = None  # None = on for CUDA (float16), off for CPU
    amp_dtype: Optional[str] = None  # float16 | bfloat16; bfloat16 on CPU only when asked for
    channels_last: Optional[bool] = None  # None = on (CUDA and CPU: 1.3x faster on CPU, ~1e-5 different weights)
    # CUDA: deterministic kernels (torch's deterministic mode, cuDNN, cuBLAS; trainer.rng.set_deterministic).
    # Off = what the trainer always did; CPU runs are bit-exact either way.
    deterministic: bool = False
    max_steps: Optional[int] = None  # cap on optimizer steps per epoch (smoke tests, benchmarks)
    eval_sets: tuple[tuple[str, str], ...] = ()  # extra ImageFolder evaluation sets (name, path)
    real_labels: Optional[str] = None  # ImageNet-ReaL real.json for the main validation set
    keep_checkpoints: int = 2
    # Once the run has finished: keep its final checkpoint whole ("full": it can be resumed) or its
    # weights alone ("weights": a third of the size with LAMB; evaluation and fine-tuning read nothing else).
    final_checkpoint: str = "weights"
    # Fine-tuning (trainer.init_from): start from a trained run's weights with a new classifier. The source is a
    # finished run folder (its final checkpoint) or one of its epoch_XXXX/ folders; the model and width are the
    # source's. trainer.init_from.resolve_source (the CLI, the run's start) records which checkpoint is read
    # (init_from), its epoch and its config hash.
    init_from: Optional[str] = None
    init_from_epoch: Optional[int] = None  # recorded: the epoch of the source checkpoint
    init_from_hash: Optional[str] = None  # recorded: trainer.init_from.config_hash of the source's config
    # CPU threads (trainer.threads): the intra-op count is part of what a CPU run reproduces. None =
    # what the process has; resolved, pinned (torch.set_num_threads) and recorded before the run.
    threads: Optional[int] = None
    interop_threads: Optional[int] = None  # pinned while the process can still take it (at its start); recorded

    @property
    def total_epochs(self) -> int:
        """Epochs trained in all: the schedule's ``epochs`` plus the cool-down at ``min_lr``."""
        return self.epochs + self.cooldown_epochs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are errors."""
        _check_known(values)
        values = dict(values)
        if "eval_sets" in values:
            values["eval_sets"] = tuple(tuple(x) for x in values["eval_sets"])
        return cls(**values)


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))
_HINTS = typing.get_type_hints(TrainConfig)

#: Overrides that change what is computed are results-table columns; these may also be set.
SEED_FIELDS = ("seed_init", "seed_data", "seed_aug")

#: Fields that may differ between a stored run (its checkpoint, its config.json) and the run that
#: resumes or repeats it: how it executes, not what it computes. ``threads`` is among them, though on
#: CPU a run reproduces the bits only at its recorded count (a change is said, not refused).
EXECUTION_FIELDS = ("cache_images", "workers", "device", "keep_checkpoints", "eval_sets", "real_labels", "data",
                    "final_checkpoint", "threads", "interop_threads",
                    "init_from")  # the source's path; what it holds is init_from_epoch and init_from_hash


def derive_seed(seed: int, *stream: int) -> int:
    """An independent 31-bit seed for ``stream`` under ``seed`` (NumPy's SeedSequence)."""
    return int(np.random.SeedSequence([int(seed), *map(int, stream)]).generate_state(1)[0] >> 1)


def resolve_config(recipe: str = "a2", data: Optional[str] = None, **overrides: Any) -> TrainConfig:
    """Recipe values, then the digits preset (only when no ``data`` is given), then overrides.

    The returned config has every seed filled in, so it names the run exactly.
    """
    _check_known(overrides)
    base = dataclasses.asdict(get_recipe(recipe))
    values: dict[str, Any] = {k: v for k, v in base.items() if k in FIELD_NAMES}
    values["recipe"] = recipe.lower()
    if data is None:
        values = apply_preset(DIGITS, values)
    else:
        values["data"] = str(data)
        values["dataset"] = _dataset_name(data)
    if data is None and overrides.get("dataset", DIGITS) != DIGITS:  # an embedded target (trainer.targets)
        values = apply_target(str(overrides["dataset"]), {**{k: v for k, v in base.items() if k in FIELD_NAMES},
                                                          "recipe": recipe.lower()})
    values.update({k: v for k, v in overrides.items()})
    if "eval_sets" in values:
        values["eval_sets"] = tuple(tuple(x) for x in values["eval_sets"])
    seed = int(values.get("seed", 0))
    for i, name in enumerate(SEED_FIELDS):
        if values.get(name) is None:
            values[name] = derive_seed(seed, i)
    config = TrainConfig(**values)
    validate(config)
    return config


def resolve_runtime(config: TrainConfig, device_type: str) -> tuple[TrainConfig, list[str]]:
    """``config`` with its auto settings fixed for ``device_type`` ('cpu' or 'cuda'), and notices.

    What config.json records and a resume compares: the device, ``amp`` with its dtype
    (float16 autocast on CUDA by default; on CPU only bfloat16, and only when asked for with
    ``amp_dtype='bfloat16'``, since it makes results depend on the CPU model), and
    ``channels_last`` (on by default everywhere). Idempotent.
    """
    notices = []
    amp, dtype = config.amp, config.amp_dtype
    if device_type == "cuda":
        amp = True if amp is None else amp
        dtype = (dtype or "float16") if amp else None
    else:
        if amp and dtype != "bfloat16":
            notices.append("amp=True on CPU: running in float32 (recorded as amp=False); CPU autocast is bfloat16 only "
                           "and makes results depend on the CPU model: add --amp-dtype bfloat16 to ask for it")
            amp = False
        amp = dtype == "bfloat16" if amp is None else amp
        dtype = dtype if amp else None
    channels_last = True if config.channels_last is None else config.channels_last
    resolved = dataclasses.replace(config, device=device_type, amp=amp, amp_dtype=dtype, channels_last=channels_last)
    return resolved, notices


def config_differences(saved: dict[str, Any], now: dict[str, Any], source: str = "checkpoint") -> list[str]:
    """``field: checkpoint X, given Y`` for every field outside :data:`EXECUTION_FIELDS` that differs."""
    names = sorted((set(saved) | set(now)) - set(EXECUTION_FIELDS))
    return [f"{k}: {source} {saved.get(k)!r}, given {now.get(k)!r}" for k in names if saved.get(k) != now.get(k)]


def _dataset_name(data: str) -> str:
    return Path(data).expanduser().resolve().name or str(data)


def _check_known(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(FIELD_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown config field(s) {', '.join(unknown)}; known fields: {', '.join(FIELD_NAMES)}"
        )


def parse_eval_set(text: str, flag: str = "--eval-set") -> tuple[str, str]:
    """``'v2=/data/v2'`` -> ``('v2', '/data/v2')``: an extra evaluation set as typed on a command line."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise ConfigError(f"{flag} {text!r}: expected NAME=PATH")
    return name, path


def parse_value(name: str, text: str) -> Any:
    """Convert a command-line string to the type of field ``name`` ('none' gives None)."""
    if name not in _HINTS:
        _check_known({name: text})
    hint = _HINTS[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    if optional and text.strip().lower() in ("none", "null", "off", ""):
        return None
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    try:
        if base is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if base is int:
            return int(float(text)) if float(text).is_integer() else int(text)
        if base is float:
            return float(text)
        if base is str:
            return text
    except ValueError:
        raise ConfigError(f"--{name.replace('_', '-')}: cannot read {text!r} as {base.__name__}") from None
    raise ConfigError(f"--{name.replace('_', '-')} cannot be set from the command line")


def validate(config: TrainConfig) -> None:
    """Raise :class:`ConfigError` naming the first out-of-range field and its valid range."""
    import timm

    def need(ok: bool, name: str, rule: str) -> None:
        if not ok:
            raise ConfigError(f"{name}={getattr(config, name)!r} is out of range: {rule}")

    need(config.lr > 0, "lr", "must be > 0")
    need(config.weight_decay >= 0, "weight_decay", "must be >= 0")
    need(0 < config.crop_pct <= 1, "crop_pct", "must be in (0, 1]")
    need(config.epochs >= 1, "epochs", "must be >= 1")
    need(config.cooldown_epochs >= 0, "cooldown_epochs", "must be >= 0")
    need(config.min_lr < config.lr, "min_lr", "must be below lr (lower --min-lr with a small --lr)")
    need(config.batch_size >= 2 and config.batch_size % 2 == 0, "batch_size", "must be even and >= 2 (mixup pairs samples)")
    need(config.train_res >= 8, "train_res", "must be >= 8 pixels")
    need(config.test_res >= 8, "test_res", "must be >= 8 pixels")
    need(0 <= config.warmup_epochs < config.epochs, "warmup_epochs", "must be in [0, epochs); lower --warmup-epochs when you shorten --epochs")
    need(config.loss in ("bce", "ce"), "loss", "must be 'bce' or 'ce'")
    need(0 <= config.smoothing < 1, "smoothing", "must be in [0, 1)")
    need(config.mixup >= 0, "mixup", "must be >= 0")
    need(config.cutmix >= 0, "cutmix", "must be >= 0")
    need(config.aug_repeats >= 0, "aug_repeats", "must be >= 0 (0 turns repeated augmentation off)")
    need(0 <= config.drop_path < 1, "drop_path", "must be in [0, 1)")
    need(0 <= config.drop < 1, "drop", "must be in [0, 1)")
    need(0 <= config.reprob <= 1, "reprob", "must be in [0, 1]")
    need(config.width_mult > 0, "width_mult", "must be > 0")
    need(config.workers >= 0, "workers", "must be >= 0")
    need(config.device in ("auto", "cpu", "cuda"), "device", "must be auto, cpu or cuda")
    need(config.amp_dtype in (None, "float16", "bfloat16"), "amp_dtype", "must be float16, bfloat16 or none (auto)")
    need(config.max_steps is None or config.max_steps >= 1, "max_steps", "must be >= 1 or none")
    need(config.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")
    need(config.final_checkpoint in ("full", "weights"), "final_checkpoint", "must be full or weights")
    need(config.threads is None or config.threads >= 1, "threads", "must be >= 1 or none (what the process has)")
    need(config.interop_threads is None or config.interop_threads >= 1, "interop_threads", "must be >= 1 or none")
    need(config.bce_target_thresh is None or 0 <= config.bce_target_thresh < 1, "bce_target_thresh", "must be in [0, 1) or none")
    need(config.interpolation in ("bicubic", "bilinear", "nearest"), "interpolation", "must be bicubic, bilinear or nearest")
    need(config.init_from is not None or (config.init_from_epoch is None and config.init_from_hash is None),
         "init_from_hash", "is recorded from --init-from; give --init-from PATH (a run folder or its epoch_XXXX/)")
    need(config.init_from_epoch is None or config.init_from_epoch >= 1, "init_from_epoch", "must be >= 1")
    check_dataset(config.dataset, config.data)
    need(config.sched in ("cosine", "step", "multistep", "plateau", "tanh", "poly"), "sched", "must be a timm scheduler name (e.g. cosine)")
    if config.model_ema:
        raise ConfigError("model_ema=True is not supported: the RSB procedures A1/A2/A3 train without EMA")
    if not timm.is_model(config.model):
        close = timm.list_models(f"*{config.model.split('_')[0][:6]}*")[:8]
        hint = f"; similar names: {', '.join(close)}" if close else ""
        raise ConfigError(f"unknown model {config.model!r}: not a timm model name{hint}")
    _check_optimizer(config.opt)
    _check_auto_augment(config.auto_augment)
    _check_eval_set_names([name for name, _ in config.eval_sets])


def _check_eval_set_names(names: list[str]) -> None:
    """Extra sets name columns (``top1_<name>``) and predictions rows: unique, and not the main set's."""
    taken = {"val", "real"}  # the main set in predictions.parquet; ImageNet-ReaL's top1_real
    clash = sorted({n for n in names if n in taken or names.count(n) > 1})
    if clash:
        raise ConfigError(f"evaluation set name(s) {', '.join(clash)} repeat or are reserved (val, real); "
                          "give each --eval-set its own NAME")


def _check_optimizer(name: str) -> None:
    from timm.optim import list_optimizers

    if name.lower() not in list_optimizers():
        raise ConfigError(f"unknown optimizer {name!r}: choose a timm optimizer such as lamb, adamw, sgd")


def _check_auto_augment(policy: Optional[str]) -> None:
    if policy is None:
        return
    if not policy.startswith(("rand", "augmix", "original", "v0", "3a", "trivial")):
        raise ConfigError(f"auto_augment={policy!r} is not a timm policy string (e.g. rand-m7-mstd0.5-inc1)")


