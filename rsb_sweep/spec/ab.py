"""The arms of an ``rsb-sweep ab`` comparison: its settings, the arms parsed and checked, and
the trials of each wave (pure: no Ray, no files; the wave loop is :mod:`rsb_sweep.driver.ab`).

Both arms run on the same seeds, expanded exactly as ``seeds`` would. Arms that differ only in
evaluation-only fields (crop ratio, test resolution) train once: each wave trains one model per
seed, evaluated at both arms' settings from its final checkpoint (:func:`evaluation_plan`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from analysis.contract import (EVAL_ONLY_CONFIG_FIELDS, EVAL_ONLY_FIELDS, EVAL_SETS_FIELD, EXTRA_TOP1_PREFIX,
                              METRIC_COLUMNS)
from rsb_sweep.errors import SweepError
from trainer.config import SEED_FIELDS

if TYPE_CHECKING:
    from rsb_sweep.spec.model import EvalPlan, SweepSpec, TrialSpec

ARMS = ("a", "b")
#: Verdicts that end the loop (besides ``undecided`` at the seed cap).
DECIDED = ("a_better", "b_better", "equivalent")
#: Metrics where lower is better.
LOWER_IS_BETTER = ("eval_loss",)


@dataclass(frozen=True, kw_only=True)
class AbSettings:
    """What an ``ab`` compares and how; stored in the manifest under ``"ab"``."""

    a: Mapping[str, Any]
    b: Mapping[str, Any]
    delta: float = 0.1
    alpha: float = 0.05
    wave: int = 2
    max_seeds: int = 50
    metric: str = "top1"
    paired: bool = False
    wave_ends: tuple[int, ...] = field(default_factory=tuple)
    eval_only: bool = False  # the arms differ only in evaluation: one model per seed, evaluated twice

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in LOWER_IS_BETTER

    def arm(self, name: str) -> Mapping[str, Any]:
        return self.a if name == "a" else self.b

    def name(self, arm: str) -> str:
        """``A [lr=0.005]``: the arm's label in sentences and figures (no parentheses: the verdict
        sentence puts its interval in them)."""
        fields = ", ".join(f"{k}={_text(v)}" for k, v in self.arm(arm).items())
        return f"{arm.upper()} [{fields}]"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(a=dict(self.a), b=dict(self.b), wave_ends=list(self.wave_ends))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AbSettings":
        return cls(**{**d, "wave_ends": tuple(d.get("wave_ends", ()))})


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------------------------------
# building: arms and waves


def parse_arm(text: str, option: str) -> dict[str, Any]:
    """``"lr=5e-4,wd=0.02"`` -> ``{'lr': 0.0005, 'weight_decay': 0.02}`` (typed, aliases resolved)."""
    from rsb_sweep.spec.fields import OVERRIDABLE, canonical, coerce

    out: dict[str, Any] = {}
    for part in (p.strip() for p in str(text).split(",")):
        key, eq, value = part.partition("=")
        if not part or not eq or not key.strip() or not value.strip():
            raise SweepError(f"{option} {text!r}: expected FIELD=VALUE[,FIELD=VALUE…], e.g. {option} lr=5e-4")
        name = canonical(key.strip())
        if name != "recipe" and (name not in OVERRIDABLE or name == EVAL_SETS_FIELD):
            raise SweepError(f"{option}: no such field {key.strip()!r}; `rsb-sweep fields` lists them")
        if name in out:
            raise SweepError(f"{option}: {key.strip()} given twice")
        out[name] = coerce(name, value.strip())
    return out


def make_settings(spec: "SweepSpec", a: Mapping[str, Any], b: Mapping[str, Any], **options: Any) -> AbSettings:
    """Check the arms against each other and the common overrides; the settings of a new ``ab``."""
    settings = AbSettings(a=dict(a), b=dict(b), **options)
    if settings.wave < 1 or settings.max_seeds < 2:
        raise SweepError(f"--wave must be >= 1 and --max-seeds >= 2 (got {settings.wave}, {settings.max_seeds})")
    if not 0 < settings.alpha < 1 or not (settings.delta >= 0 and math.isfinite(settings.delta)):
        raise SweepError(f"--alpha must lie in (0, 1) and --delta be >= 0 (got {settings.alpha}, {settings.delta})")
    for arm in ARMS:
        clash = sorted(set(settings.arm(arm)) & set(spec.overrides))
        if clash:
            raise SweepError(f"--{clash[0].replace('_', '-')} is also set in --{arm}; set it in one place")
    first = {arm: _arm_trials(spec, settings, arm, 0, 1)[0].config.to_dict() for arm in ARMS}
    differ = sorted(k for k in first["a"] if k not in SEED_FIELDS and first["a"][k] != first["b"].get(k))
    if not differ:
        raise SweepError("--a and --b give the same configuration: the arms must differ in some field")
    if set(differ) <= set(EVAL_ONLY_CONFIG_FIELDS):  # train once, evaluate at both settings, compare paired
        from dataclasses import replace

        settings = replace(settings, eval_only=True, paired=True)
    metrics = {*METRIC_COLUMNS} | {f"{EXTRA_TOP1_PREFIX}{name}" for name, _ in first["a"].get("eval_sets") or ()}
    if settings.metric not in metrics:
        raise SweepError(f"--metric {settings.metric}: choose one of {', '.join(sorted(metrics))}")
    return settings


def _arm_trials(spec: "SweepSpec", settings: AbSettings, arm: str, done: int, n: int) -> "list[TrialSpec]":
    """Seeds ``done .. done+n-1`` of one arm, expanded like any sweep (so pinned seeds match ``seeds``).

    For arms that differ only in evaluation the arm's evaluation fields are left out: the model
    keeps its recipe's own setting and is evaluated at the arm's."""
    from dataclasses import replace

    from rsb_sweep.spec.expand import expand

    fields = {k: v for k, v in settings.arm(arm).items() if not (settings.eval_only and k in EVAL_ONLY_CONFIG_FIELDS)}
    recipe = fields.pop("recipe", spec.recipe)
    arm_spec = replace(spec, recipe=recipe, overrides={**spec.overrides, **fields}, grid={},
                       seeds=replace(spec.seeds, n=done + n))
    return expand(arm_spec)[done:]


def wave_trials(spec: "SweepSpec", settings: AbSettings, first_index: int, done: int, n: int) -> "list[TrialSpec]":
    """The trials of the next wave: seeds ``done .. done+n-1``, arm A then B for each seed (one
    trial per seed, serving both arms, when the arms differ only in evaluation)."""
    from rsb_sweep.spec.expand import trial_label
    from rsb_sweep.spec.model import TrialSpec

    if settings.eval_only:
        return [TrialSpec(trial_id=trial_label(first_index + k, {"seed": t.params["seed"]}), index=first_index + k,
                          params={"seed": t.params["seed"]}, config=t.config)
                for k, t in enumerate(_arm_trials(spec, settings, "a", done, n))]
    per_arm = {arm: _arm_trials(spec, settings, arm, done, n) for arm in ARMS}
    out: list[TrialSpec] = []
    for k in range(n):
        for arm in ARMS:
            t = per_arm[arm][k]
            params = {"arm": arm.upper(), **{f: v for f, v in settings.arm(arm).items() if f != EVAL_SETS_FIELD},
                      "seed": t.params["seed"]}
            index = first_index + len(out)
            out.append(TrialSpec(trial_id=trial_label(index, params), index=index, params=params, config=t.config))
    return out


def first_wave(spec: "SweepSpec", settings: AbSettings) -> tuple["list[TrialSpec]", AbSettings]:
    """The first wave's trials, and the settings with its wave end recorded."""
    n = min(settings.wave, settings.max_seeds)
    return wave_trials(spec, settings, 0, 0, n), with_wave_end(settings, n)


def evaluation_plan(settings: AbSettings) -> "EvalPlan":
    """What each trained model is evaluated at when the arms differ only in evaluation (else nothing)."""
    from rsb_sweep.spec.model import EvalPlan

    if not settings.eval_only:
        return EvalPlan()
    values = {k: tuple(dict.fromkeys(settings.arm(a)[k] for a in ARMS if k in settings.arm(a)))
              for k in EVAL_ONLY_FIELDS}
    return EvalPlan(**values)


def with_wave_end(settings: AbSettings, end: int) -> AbSettings:
    from dataclasses import replace

    return replace(settings, wave_ends=(*settings.wave_ends, end))
