"""The network: a timm model with the recipe's drop-path, optionally narrowed for the demo."""

from __future__ import annotations

import timm
import torch

from trainer.config import TrainConfig
from trainer.errors import ConfigError

_RESNET_CHANNELS = (64, 128, 256, 512)


def create_model(config: TrainConfig, num_classes: int) -> torch.nn.Module:
    """``timm.create_model`` with ``drop_path_rate``; ``width_mult`` narrows ResNet stages.

    Weights are drawn from torch's global generator: seed it with ``seed_init`` first.
    """
    kwargs = dict(num_classes=num_classes, drop_path_rate=config.drop_path, drop_rate=config.drop)
    if config.width_mult != 1.0:
        if not config.model.startswith(("resnet", "resnext", "seresnet")):
            raise ConfigError(f"width_mult={config.width_mult} only applies to timm ResNets, not {config.model!r}")
        channels = tuple(max(4, round(c * config.width_mult)) for c in _RESNET_CHANNELS)
        kwargs.update(channels=channels, stem_width=max(8, round(64 * config.width_mult)))
    return timm.create_model(config.model, pretrained=False, **kwargs)
