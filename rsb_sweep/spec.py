"""What a sweep is: a base recipe, fixed overrides, a grid, a seed axis and what to evaluate.

A :class:`SweepSpec` is built from the command line (``seeds``, ``grid``) or from a YAML file
(:mod:`rsb_sweep.specfile`); :func:`expand` turns it into one :class:`TrialSpec` per
(grid point, seed), each with a fully resolved trainer config. Every config is resolved
(and so validated by the trainer) before anything starts.

Train once, evaluate many: the test crop ratio and the test resolution change evaluation only
(:data:`EVAL_ONLY_FIELDS`), so they are never grid axes. :func:`move_eval_only` takes them out
of a grid into the spec's :class:`EvalPlan`: each trained model keeps its recipe's own setting
and is evaluated again at every listed one (:mod:`rsb_sweep.evaluations`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

from analysis.contract import EVAL_ONLY_FIELDS
from trainer.config import SEED_FIELDS, TrainConfig, derive_seed, resolve_config
from trainer.errors import ConfigError

#: Seed sources a sweep can vary, in the order of ``trainer.config.SEED_FIELDS``.
SEED_SOURCES = ("init", "data", "aug")

#: Short names used in trial ids (``0007-lr0.002-wd0.01-bce-seed1``).
_LABEL_NAMES = {
    "weight_decay": "wd", "aug_repeats": "ra", "crop_pct": "crop", "smoothing": "ls", "drop_path": "dp",
    "train_res": "res", "test_res": "tres", "batch_size": "bs", "warmup_epochs": "wu", "epochs": "ep",
    "seed_init": "si", "seed_data": "sd", "seed_aug": "sa",
}
_VALUE_ONLY = ("recipe", "loss", "model", "opt", "sched")


@dataclass(frozen=True)
class SeedAxis:
    """Which seeds each grid point runs.

    ``n`` seeds ``start .. start+n-1``; the sources in ``vary`` follow the trial's seed, the
    others are pinned to the values seed ``start`` gives them. With ``cross`` (source -> count)
    the design is crossed instead: every combination of the listed sources' levels, the
    unlisted sources pinned (e.g. init × data order with augmentation fixed).
    """

    n: int = 1
    start: int = 0
    vary: tuple[str, ...] = SEED_SOURCES
    cross: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name in self.vary:
            if name not in SEED_SOURCES:
                raise ConfigError(f"unknown seed source {name!r} in vary: choose from {', '.join(SEED_SOURCES)}")
        if not self.cross and self.n < 1:
            raise ConfigError(f"seeds: n={self.n} must be >= 1")
        for name, count in self.cross:
            if name not in SEED_SOURCES:
                raise ConfigError(f"unknown seed source {name!r} in cross: choose from {', '.join(SEED_SOURCES)}")
            if count < 1:
                raise ConfigError(f"seeds: cross {name}={count} must be >= 1")

    @property
    def size(self) -> int:
        """Number of seed settings per grid point."""
        if self.cross:
            out = 1
            for _, count in self.cross:
                out *= count
            return out
        return self.n

    def settings(self) -> list[dict[str, int]]:
        """One dict per seed setting: ``seed``, the three source seeds (and ``<source>_level`` when crossed)."""
        pinned = {f: derive_seed(self.start, i) for i, f in enumerate(SEED_FIELDS)}
        out = []
        if self.cross:
            names = [n for n, _ in self.cross]
            for k, levels in enumerate(itertools.product(*(range(c) for _, c in self.cross))):
                values = {"seed": self.start + k, **pinned}
                for name, level in zip(names, levels):
                    i = SEED_SOURCES.index(name)
                    values[SEED_FIELDS[i]] = derive_seed(self.start + level, i)
                    values[f"{name}_level"] = level
                out.append(values)
            return out
        for k in range(self.n):
            seed = self.start + k
            values = {"seed": seed, **pinned}
            for name in self.vary:
                i = SEED_SOURCES.index(name)
                values[SEED_FIELDS[i]] = derive_seed(seed, i)
            out.append(values)
        return out


@dataclass(frozen=True)
class EvalPlan:
    """The evaluation-only settings every trained model is evaluated at (the manifest's ``evaluate``).

    ``crop_pct`` / ``test_res``: the values to evaluate (empty: the trial's own only);
    ``eval_sets``: extra ``(name, path)`` ImageFolders, evaluated besides the main set and the
    trial's own sets. Each trial is evaluated at every (crop_pct, test_res) pair on every set.
    """

    crop_pct: tuple[float, ...] = ()
    test_res: tuple[int, ...] = ()
    eval_sets: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.crop_pct or self.test_res or self.eval_sets)

    def merged(self, other: "EvalPlan") -> "EvalPlan":
        """This plan and ``other``'s new values (order kept; a set name given again takes the new path)."""
        sets = dict(self.eval_sets)
        sets.update(dict(other.eval_sets))
        return EvalPlan(crop_pct=tuple(dict.fromkeys(self.crop_pct + other.crop_pct)),
                        test_res=tuple(dict.fromkeys(self.test_res + other.test_res)),
                        eval_sets=tuple(sets.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"crop_pct": list(self.crop_pct), "test_res": list(self.test_res),
                "eval_sets": [list(s) for s in self.eval_sets]}

    @classmethod
    def from_dict(cls, doc: Optional[Mapping[str, Any]]) -> "EvalPlan":
        """The plan stored in a manifest (an experiment written before evaluations: an empty plan)."""
        doc = doc or {}
        return cls(crop_pct=tuple(float(c) for c in doc.get("crop_pct", ())),
                   test_res=tuple(int(r) for r in doc.get("test_res", ())),
                   eval_sets=tuple((str(n), str(p)) for n, p in doc.get("eval_sets", ())))

    def describe(self) -> str:
        parts = [f"{k} {', '.join(f'{v:g}' for v in sorted(getattr(self, k)))}" for k in EVAL_ONLY_FIELDS
                 if getattr(self, k)]
        parts += [f"set {name}" for name, _ in self.eval_sets]
        return "; ".join(parts)


@dataclass(frozen=True)
class SweepSpec:
    """A sweep before expansion: recipe, data, fixed overrides, a grid, a seed axis, what to evaluate."""

    name: str
    recipe: str = "a2"
    data: Optional[str] = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)  # field -> values (recipe allowed)
    seeds: SeedAxis = SeedAxis()
    description: str = ""
    source: str = "command line"
    evaluate: EvalPlan = EvalPlan()


@dataclass(frozen=True)
class TrialSpec:
    """One trial: a stable id, the swept values that name it, and its resolved config."""

    trial_id: str
    index: int
    params: Mapping[str, Any]
    config: TrainConfig


def expand(spec: SweepSpec) -> list[TrialSpec]:
    """All trials of ``spec``: the grid's Cartesian product × the seed settings.

    Seeds vary fastest, so that seed k of every grid point is the same seed (paired design).
    Raises :class:`ConfigError` (from the trainer's validation) for any invalid trial.
    """
    _check_grid(spec)
    if any(k in EVAL_ONLY_FIELDS + ("eval_sets",) for k in spec.grid):
        raise ConfigError(f"grid keys {', '.join(k for k in spec.grid if k in EVAL_ONLY_FIELDS + ('eval_sets',))} "
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
            fixed = {**spec.overrides, **values}
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
    moved = {k: v for k, v in spec.grid.items() if k in EVAL_ONLY_FIELDS + ("eval_sets",)}
    if not moved:
        return spec, None
    sets = [pair for value in moved.get("eval_sets", ()) for pair in value]
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


def describe(spec: SweepSpec) -> Mapping[str, Any]:
    """A JSON-ready summary of a spec, stored in the manifest."""
    return {
        "name": spec.name, "recipe": spec.recipe, "data": spec.data, "overrides": dict(spec.overrides),
        "grid": {k: list(v) for k, v in spec.grid.items()},
        "seeds": {"n": spec.seeds.n, "start": spec.seeds.start, "vary": list(spec.seeds.vary),
                  "cross": dict(spec.seeds.cross)},
        "description": spec.description, "source": spec.source, "evaluate": spec.evaluate.to_dict(),
    }
