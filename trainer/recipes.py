"""The RSB training procedures A1, A2, A3: one source of truth.

Values are Table 2 of "ResNet strikes back" (Wightman, Touvron, Jégou, 2021) for
ResNet-50 on ImageNet-1k. Two values are not in that table and come from timm's own RSB
runs: the BCE target threshold (``--bce-target-thresh 0.2``) and bicubic interpolation.
Every field can be overridden per run (see :func:`trainer.config.resolve_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Optional

from trainer.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """One training procedure: the hyper-parameters the paper fixes."""

    epochs: int
    train_res: int
    test_res: int
    crop_pct: float
    batch_size: int  # global batch, summed over all workers
    opt: str
    lr: float
    weight_decay: float
    warmup_epochs: int
    sched: str
    loss: str  # "bce" or "ce"
    smoothing: float
    mixup: float
    cutmix: float
    auto_augment: Optional[str]
    aug_repeats: int  # 0 = repeated augmentation off
    drop_path: float
    bce_target_thresh: Optional[float]
    interpolation: str
    # Off in all three procedures; kept as fields so that the table is explicit.
    model_ema: bool = False
    drop: float = 0.0
    reprob: float = 0.0
    color_jitter: float = 0.0


_COMMON = dict(
    test_res=224,
    crop_pct=0.95,
    batch_size=2048,
    opt="lamb",
    warmup_epochs=5,
    sched="cosine",
    loss="bce",
    cutmix=1.0,
    bce_target_thresh=0.2,
    interpolation="bicubic",
)

A1 = Recipe(
    epochs=600, train_res=224, lr=5e-3, weight_decay=0.01, smoothing=0.1, mixup=0.2,
    auto_augment="rand-m7-mstd0.5-inc1", aug_repeats=3, drop_path=0.05, **_COMMON,
)
A2 = Recipe(
    epochs=300, train_res=224, lr=5e-3, weight_decay=0.02, smoothing=0.0, mixup=0.1,
    auto_augment="rand-m7-mstd0.5-inc1", aug_repeats=3, drop_path=0.05, **_COMMON,
)
A3 = Recipe(
    epochs=100, train_res=160, lr=8e-3, weight_decay=0.02, smoothing=0.0, mixup=0.1,
    auto_augment="rand-m6-mstd0.5-inc1", aug_repeats=0, drop_path=0.0, **_COMMON,
)

RECIPES: Mapping[str, Recipe] = MappingProxyType({"a1": A1, "a2": A2, "a3": A3})


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (case-insensitive); a clear error for any other name."""
    key = name.lower()
    if key not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}: choose one of {', '.join(sorted(RECIPES))}")
    return RECIPES[key]
