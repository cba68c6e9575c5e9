"""One RSB training run: recipes, data, model, loop, checkpoint/resume, DDP, seeding.

Library entry point: ``resolve_config(...)`` then ``train(config, out_dir, report, resume_from)``.
"""

from trainer.config import TrainConfig, derive_seed, resolve_config
from trainer.errors import ConfigError, DataError, DivergenceError, TrainerError
from trainer.recipes import RECIPES, Recipe, get_recipe
from trainer.run import RunResult, train

__all__ = [
    "TrainConfig", "resolve_config", "derive_seed", "train", "RunResult", "RECIPES", "Recipe", "get_recipe",
    "TrainerError", "ConfigError", "DataError", "DivergenceError",
]
