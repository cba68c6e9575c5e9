"""What a sweep is: a base recipe, fixed overrides, a grid, a seed axis and what to evaluate.

A :class:`SweepSpec` is built from the command line (``seeds``, ``grid``) or from a YAML file
(:mod:`rsb_sweep.spec.sweepfile`); :func:`rsb_sweep.spec.expand.expand` turns it into one
:class:`TrialSpec` per (grid point, seed), each with a fully resolved trainer config.

Train once, evaluate many: the test crop ratio and the test resolution change evaluation only
(:data:`EVAL_ONLY_FIELDS`), so they are never grid axes; the spec's :class:`EvalPlan` lists
the settings each trained model is evaluated at (:mod:`rsb_sweep.driver.evaluate`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from analysis.contract import EVAL_ONLY_FIELDS
from trainer.config import SEED_FIELDS, TrainConfig, derive_seed
from trainer.errors import ConfigError

#: Seed sources a sweep can vary, in the order of ``trainer.config.SEED_FIELDS``.
SEED_SOURCES = ("init", "data", "aug")


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


@dataclass(frozen=True, kw_only=True)
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
    #: Digits stand-ins (a sweep file's ``digits_models:``): model name -> the fields that replace
    #: it on the embedded digits (``model``, ``width_mult``, ``model_args``); unused with a data folder.
    digits_models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def stand_in(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A trial's overrides with its model replaced by its digits stand-in (on digits only)."""
        entry = self.digits_models.get(values.get("model")) if self.data is None else None
        return {**values, **{k: v for k, v in (entry or {}).items() if k != "paper"}}

    def describe_stand_ins(self) -> str:
        """The start-up line naming every stand-in the sweep uses on digits ('' when none)."""
        if self.data is not None or not self.digits_models:
            return ""
        parts = [f"{entry['paper'] + ' ' if entry.get('paper') else ''}{name} → {describe_stand_in(entry)}"
                 for name, entry in self.digits_models.items()]
        return "digits stand-ins (digits_models): " + "; ".join(parts)
    #: ``units: paper`` sweeps only (None otherwise): the values mapped, ``{field: [(paper, digits), …]}``.
    paper_units: Optional[Mapping[str, Sequence[tuple[Any, Any]]]] = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the whole spec, stored in the manifest (:meth:`from_dict` reads it back)."""
        return {
            "name": self.name, "recipe": self.recipe, "data": self.data, "overrides": dict(self.overrides),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "seeds": {"n": self.seeds.n, "start": self.seeds.start, "vary": list(self.seeds.vary),
                      "cross": dict(self.seeds.cross)},
            "description": self.description, "source": self.source, "evaluate": self.evaluate.to_dict(),
            "digits_models": {k: dict(v) for k, v in self.digits_models.items()},
            **({"paper_units": {k: [list(p) for p in v] for k, v in self.paper_units.items()}}
               if self.paper_units is not None else {}),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "SweepSpec":
        """The spec :meth:`to_dict` stored (a manifest's ``spec``), every part of it, values typed again
        (JSON keeps no tuples): how ``ab`` expands its next wave, and how any driver can re-read a sweep."""
        from rsb_sweep.spec.fields import coerce

        seeds = doc["seeds"]
        return cls(name=doc["name"], recipe=doc["recipe"], data=doc["data"],
                   overrides={k: coerce(k, v) for k, v in doc["overrides"].items()},
                   grid={k: [coerce(k, v) for v in values] for k, values in doc.get("grid", {}).items()},
                   seeds=SeedAxis(n=seeds["n"], start=seeds["start"], vary=tuple(seeds["vary"]),
                                  cross=tuple((str(k), int(c)) for k, c in (seeds.get("cross") or {}).items())),
                   description=doc.get("description", ""), source=doc.get("source", "command line"),
                   evaluate=EvalPlan.from_dict(doc.get("evaluate")),
                   digits_models={str(k): dict(v) for k, v in (doc.get("digits_models") or {}).items()},
                   paper_units=None if doc.get("paper_units") is None else
                   {k: [tuple(p) for p in v] for k, v in doc["paper_units"].items()})


def describe_stand_in(entry: Mapping[str, Any]) -> str:
    """``resnet18 ×0.125`` / ``vit_tiny_patch16_224 (img_size=24,patch_size=4)``: one stand-in, as printed."""
    width = f" ×{entry['width_mult']:g}" if entry.get("width_mult", 1.0) != 1.0 else ""
    args = f" ({entry['model_args']})" if entry.get("model_args") else ""
    return f"{entry['model']}{width}{args}"


@dataclass(frozen=True)
class TrialSpec:
    """One trial: a stable id, the swept values that name it, and its resolved config."""

    trial_id: str
    index: int
    params: Mapping[str, Any]
    config: TrainConfig
