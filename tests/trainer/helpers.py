"""Small helpers for trainer tests: tiny real runs on the embedded digits."""

from __future__ import annotations

from pathlib import Path

import torch

from trainer import resolve_config, train
from trainer.checkpoint import find_checkpoint, load_checkpoint

#: A real but tiny A2 run on digits: a few optimizer steps per epoch, full evaluation.
TINY = dict(epochs=3, warmup_epochs=1, max_steps=3, batch_size=16)


def tiny_config(recipe: str = "a2", **overrides):
    return resolve_config(recipe, **{**TINY, **overrides})


def run(config, out: Path, **kwargs):
    return train(config, out_dir=out, log=lambda _: None, **kwargs)


def final_weights(out: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(find_checkpoint(out))["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
