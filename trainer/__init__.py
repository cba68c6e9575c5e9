"""One RSB training run: recipes, data, model, loop, checkpoint/resume, DDP, seeding.

Library entry point: ``resolve_config(...)`` then ``train(config, out_dir, report, resume_from)``.

The names below are loaded on first use (PEP 562), so that ``import trainer.errors`` or
``trainer.config`` does not pay for torch and timm: the sweep driver's ``status`` command and
its error handling import them without training anything.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the module that defines it
_EXPORTS = {
    "TrainConfig": "trainer.config", "resolve_config": "trainer.config", "derive_seed": "trainer.config",
    "TrainerError": "trainer.errors", "ConfigError": "trainer.errors", "DataError": "trainer.errors",
    "DivergenceError": "trainer.errors",
    "RECIPES": "trainer.recipes", "Recipe": "trainer.recipes", "get_recipe": "trainer.recipes",
    "train": "trainer.run", "RunResult": "trainer.run",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trainer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
