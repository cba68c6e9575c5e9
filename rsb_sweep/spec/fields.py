"""Trainer config fields as a sweep may set them: which ones, and how values are converted.

The command line and YAML files both go through :func:`coerce`, so that ``2e-3`` means the
same everywhere (PyYAML reads ``2e-3`` as a string; the trainer's ``parse_value`` reads it).
"""

from __future__ import annotations

import typing
from typing import Any

from analysis.contract import EVAL_SETS_FIELD
from trainer.config import FIELD_NAMES, TrainConfig, parse_value
from trainer.errors import ConfigError

#: Fields a sweep sets in its own way: recipe (top level or grid), data (top level),
#: dataset (derived from data), seed (the seed axis), the thread counts (each trial's CPU share,
#: ``--cpus-per-trial``: the worker pins it and the trial's config.json records it).
SPECIAL_FIELDS = ("recipe", "data", "dataset", "seed", "threads", "interop_threads")

#: Fields that may be overridden (fixed, or as a grid axis).
OVERRIDABLE = tuple(f for f in FIELD_NAMES if f not in SPECIAL_FIELDS)

#: Fields that may be grid axes: everything overridable, plus the recipe.
GRIDDABLE = ("recipe",) + OVERRIDABLE

#: Short aliases accepted on the command line and in YAML.
ALIASES = {"wd": "weight_decay", "ra": "aug_repeats", "crop": "crop_pct", "ls": "smoothing"}

_HINTS = typing.get_type_hints(TrainConfig)


def canonical(name: str) -> str:
    """The config field for ``name`` (dashes become underscores, aliases resolved)."""
    key = name.replace("-", "_")
    return ALIASES.get(key, key)


def coerce(name: str, value: Any) -> Any:
    """``value`` converted to the type of field ``name``; a :class:`ConfigError` naming both otherwise."""
    if name == "recipe":
        if not isinstance(value, str):
            raise ConfigError(f"recipe: expected a recipe name (a1, a2, a3), got {value!r}")
        return value.lower()
    if name not in _HINTS:
        raise ConfigError(f"unknown config field {name!r}; known fields: {', '.join(OVERRIDABLE)}")
    if name == EVAL_SETS_FIELD:
        return _eval_sets(value)
    if isinstance(value, str):
        return parse_value(name, value)
    hint = _HINTS[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{name}: cannot be none")
    if base is bool:
        if isinstance(value, bool):
            return value
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif base is str:
        return str(value)
    raise ConfigError(f"{name}: expected {getattr(base, '__name__', base)}, got {value!r}")


def _eval_sets(value: Any) -> tuple[tuple[str, str], ...]:
    """``{name: path}``, ``[[name, path], …]`` or ``["name=path", …]``."""
    if isinstance(value, dict):
        return tuple((str(k), str(v)) for k, v in value.items())
    out = []
    for item in value or ():
        if isinstance(item, str) and "=" in item:
            name, _, path = item.partition("=")
            out.append((name, path))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
        else:
            raise ConfigError(f"eval_sets: expected NAME=PATH entries, got {item!r}")
    return tuple(out)
