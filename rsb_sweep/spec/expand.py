"""Expanding a :class:`~rsb_sweep.spec.model.SweepSpec` into trials, and their stable ids.

:func:`expand` turns a spec into one :class:`~rsb_sweep.spec.model.TrialSpec` per (grid point,
seed), each with a fully resolved trainer config: every config is resolved (and so validated by
the trainer) before anything starts. :func:`move_eval_only` takes evaluation-only grid axes out
of a grid into the spec's :class:`~rsb_sweep.spec.model.EvalPlan`: each trained model keeps its
recipe's own setting and is evaluated again at every listed one.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, Mapping, Optional

from analysis.contract import EVAL_ONLY_CONFIG_FIELDS, EVAL_SETS_FIELD
from rsb_sweep.spec.model import SEED_SOURCES, EvalPlan, SweepSpec, TrialSpec
from trainer.config import SEED_FIELDS, resolve_config
from trainer.errors import ConfigError

#: Short names used in trial ids (``0007-lr0.002-wd0.01-bce-seed1``).
_LABEL_NAMES = {
    "weight_decay": "wd", "aug_repeats": "ra", "crop_pct": "crop", "smoothing": "ls", "drop_path": "dp",
    "train_res": "res", "test_res": "tres", "batch_size": "bs", "warmup_epochs": "wu", "epochs": "ep",
    "seed_init": "si", "seed_data": "sd", "seed_aug": "sa",
}
_VALUE_ONLY = ("recipe", "loss", "model", "opt", "sched")


def expand(spec: SweepSpec) -> list[TrialSpec]:
    """All trials of ``spec``: the grid's Cartesian product × the seed settings.

    Seeds vary fastest, so that seed k of every grid point is the same seed (paired design).
    Raises :class:`ConfigError` (from the trainer's validation) for any invalid trial.
    """
    _check_grid(spec)
    if any(k in EVAL_ONLY_CONFIG_FIELDS for k in spec.grid):
        raise ConfigError(f"grid keys {', '.join(k for k in spec.grid if k in EVAL_ONLY_CONFIG_FIELDS)} "
                          "change evaluation only; "
                          "list them under evaluate: (move_eval_only does this)")
    keys = list(spec.grid)
    points = list(itertools.product(*(spec.grid[k] for k in keys))) if keys else [()]
    seeds = spec.seeds.settings()
    trials: list[TrialSpec] = []
    for point in points:
        values = dict(zip(keys, point))
        recipe = str(values.pop("recipe", spec.recipe))
        for seed_values in seeds:
            fixed = spec.stand_in({**spec.overrides, **values})
            seed_fields = {k: v for k, v in seed_values.items() if not k.endswith("_level")}
            overrides = {**fixed, **_unpinned(seed_fields, fixed)}
            config = resolve_config(recipe, data=spec.data, **overrides)
            params = {**({"recipe": recipe} if "recipe" in spec.grid else {}), **values, "seed": seed_values["seed"]}
            if spec.seeds.cross:
                params.update({n: seed_values[f"{n}_level"] for n, _ in spec.seeds.cross})
            index = len(trials)
            trials.append(TrialSpec(trial_id=trial_label(index, params), index=index, params=params, config=config))
    return trials


def move_eval_only(spec: SweepSpec) -> tuple[SweepSpec, Optional[str]]:
    """``spec`` with its evaluation-only grid axes moved into its evaluation plan, and a line saying so.

    Two trials that differ only in ``crop_pct``, ``test_res`` or extra evaluation sets would train
    the same model twice: the grid keeps the training axes, each model keeps the recipe's (or the
    overrides') own setting, and the plan lists the values (and every set named) to evaluate it
    at, from its final checkpoint. None when nothing moved.
    """
    moved = {k: v for k, v in spec.grid.items() if k in EVAL_ONLY_CONFIG_FIELDS}
    if not moved:
        return spec, None
    sets = [pair for value in moved.get(EVAL_SETS_FIELD, ()) for pair in value]
    plan = spec.evaluate.merged(EvalPlan(crop_pct=tuple(float(v) for v in moved.get("crop_pct", ())),
                                         test_res=tuple(int(v) for v in moved.get("test_res", ())),
                                         eval_sets=tuple(dict(sets).items())))
    grid = {k: v for k, v in spec.grid.items() if k not in moved}
    out = replace(spec, grid=grid, evaluate=plan)
    names = " and ".join(moved)
    line = (f"{names} change{'s' if len(moved) == 1 else ''} evaluation only: moved from the grid to evaluate "
            "(no model is trained twice)")
    return out, line


def _unpinned(seed_values: Mapping[str, int], overrides: Mapping[str, Any]) -> dict[str, int]:
    """Seed values, except sources the user pinned explicitly (overrides or grid)."""
    return {k: v for k, v in seed_values.items() if k not in overrides}


def _check_grid(spec: SweepSpec) -> None:
    for key, values in spec.grid.items():
        varied = [n for n, _ in spec.seeds.cross] if spec.seeds.cross else list(spec.seeds.vary)
        clash = key in SEED_FIELDS and SEED_SOURCES[SEED_FIELDS.index(key)] in varied and spec.seeds.size > 1
        if key == "seed" or clash:
            raise ConfigError(f"grid key {key!r}: seeds are set by the seed axis (n, start, vary, cross), not the grid")
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"grid key {key!r}: expected a non-empty list of values")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"grid key {key!r}: values repeat ({values})")


def trial_label(index: int, params: Mapping[str, Any]) -> str:
    """A stable, file-system-safe trial id: the index, then the values that distinguish it."""
    parts = [f"{index:04d}"]
    for key, value in params.items():
        text = _short(value)
        parts.append(text if key in _VALUE_ONLY else f"{_LABEL_NAMES.get(key, key)}{text}")
    label = "-".join(parts)
    safe = "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in label)
    return safe[:96]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return str(value)
