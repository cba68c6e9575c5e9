"""The network: a timm model with the recipe's drop-path, optionally narrowed or resized for the demo."""

from __future__ import annotations

from typing import Any

import timm
import torch

from trainer.config import TrainConfig
from trainer.errors import ConfigError
from trainer.model_args import parse_model_args, takes_width

_RESNET_CHANNELS = (64, 128, 256, 512)


def create_model(config: TrainConfig, num_classes: int) -> torch.nn.Module:
    """``timm.create_model`` with ``drop_path_rate``, the config's ``model_args``; ``width_mult``
    narrows ResNet stages.

    Weights are drawn from torch's global generator: seed it with ``seed_init`` first.
    """
    return build_model(config.model, num_classes, width_mult=config.width_mult, model_args=config.model_args,
                       drop_path=config.drop_path, drop=config.drop)


def build_model(model: str, num_classes: int, width_mult: float = 1.0, model_args: Any = "",
                drop_path: float = 0.0, drop: float = 0.0) -> torch.nn.Module:
    """The timm model ``model`` with these settings; a :class:`ConfigError` saying which argument
    timm refused (an unknown keyword, a size that does not fit)."""
    kwargs: dict[str, Any] = dict(num_classes=num_classes, drop_path_rate=drop_path, drop_rate=drop)
    if width_mult != 1.0:
        if not takes_width(model):
            raise ConfigError(f"width_mult={width_mult} only applies to timm ResNets, not {model!r}")
        channels = tuple(max(4, round(c * width_mult)) for c in _RESNET_CHANNELS)
        kwargs.update(channels=channels, stem_width=max(8, round(64 * width_mult)))
    extra = parse_model_args(model_args)
    clash = sorted(set(extra) & set(kwargs) - {"num_classes", "drop_path_rate", "drop_rate"})
    if clash:
        raise ConfigError(f"model_args {', '.join(clash)}: set by width_mult={width_mult}; give one or the other")
    if not timm.is_model(model):
        raise ConfigError(f"unknown model {model!r}: not a timm model name (timm.list_models('{model[:4]}*') lists some)")
    try:
        return timm.create_model(model, pretrained=False, **kwargs, **extra)
    except (TypeError, ValueError, AssertionError, RuntimeError, KeyError) as exc:
        given = ", ".join(f"{k}={v!r}" for k, v in extra.items()) or "no model_args"
        raise ConfigError(f"timm could not build {model!r} with {given}"
                          f"{f', width_mult={width_mult}' if width_mult != 1.0 else ''}: {type(exc).__name__}: {exc}") from None
