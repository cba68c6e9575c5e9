"""The plan of an ``rsb-sweep race``: its settings, the configurations of the grid it races, and
the trials of each wave (pure: no Ray, no files; the loop is :mod:`rsb_sweep.driver.race`).

Every configuration of the grid (the Cartesian product of its axes, in ``grid``'s order) runs
the same seeds, expanded exactly as ``grid`` would; after each wave only the surviving
configurations get the next seeds. A grid whose axes are all evaluation-only (crop ratio, test
resolution) trains one model per seed and races its evaluations at every setting, paired (the
same models: training noise cancels), as ``ab`` does; a grid mixing training and
evaluation-only axes is refused (two designs in one race: train or evaluate).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from analysis.contract import EVAL_ONLY_FIELDS, EXTRA_TOP1_PREFIX, METRIC_COLUMNS
from rsb_sweep.errors import SweepError
from rsb_sweep.spec.ab import LOWER_IS_BETTER

if TYPE_CHECKING:
    from rsb_sweep.spec.model import SweepSpec, TrialSpec


@dataclass(frozen=True, kw_only=True)
class RaceSettings:
    """What a ``race`` races and how; stored in the manifest under ``"race"``.

    ``configs``: each configuration's fields (the grid point's axis values; for an evaluation-only
    race its crop_pct / test_res). ``wave_ends``: seeds per surviving configuration at each look.
    """

    configs: tuple[Mapping[str, Any], ...]
    delta: float = 0.1
    alpha: float = 0.05
    wave: int = 2
    max_seeds: int = 30
    metric: str = "top1"
    paired: bool = False
    eval_only: bool = False
    wave_ends: tuple[int, ...] = field(default_factory=tuple)

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in LOWER_IS_BETTER

    @property
    def names(self) -> list[str]:
        """``lr=0.004, loss=bce``: each configuration's label in sentences, files and figures."""
        return [", ".join(f"{k}={_text(v)}" for k, v in c.items()) for c in self.configs]

    @property
    def done(self) -> int:
        """Seeds per surviving configuration in the manifest so far."""
        return self.wave_ends[-1] if self.wave_ends else 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(configs=[dict(c) for c in self.configs], wave_ends=list(self.wave_ends))
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RaceSettings":
        return cls(**{**d, "configs": tuple(dict(c) for c in d["configs"]), "wave_ends": tuple(d.get("wave_ends", ()))})


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def make_race_settings(spec: "SweepSpec", **options: Any) -> RaceSettings:
    """The configurations of ``spec``'s grid (after :func:`~rsb_sweep.spec.expand.move_eval_only`) and the
    race's settings, checked; raises :class:`SweepError` (exit 2) naming the fix."""
    settings = RaceSettings(configs=(), **options)
    if settings.wave < 1 or settings.max_seeds < 2:
        raise SweepError(f"--wave must be >= 1 and --max-seeds >= 2 (got {settings.wave}, {settings.max_seeds})")
    if not 0 < settings.alpha < 1 or not (settings.delta >= 0 and math.isfinite(settings.delta)):
        raise SweepError(f"--alpha must lie in (0, 1) and --delta be >= 0 (got {settings.alpha}, {settings.delta})")
    if spec.seeds.cross:
        raise SweepError("a race adds seeds a wave at a time: remove the crossed seed design (seeds: cross:)")
    evaluated = {k: tuple(getattr(spec.evaluate, k)) for k in EVAL_ONLY_FIELDS if getattr(spec.evaluate, k)}
    if spec.grid and evaluated:
        raise SweepError(f"a race is either over training axes ({', '.join(spec.grid)}) or over evaluation-only "
                         f"axes ({', '.join(evaluated)}) of the same models, not both: race the training axes with "
                         f"one {' and one '.join(evaluated)}, then race those on the winner's models")
    axes = dict(spec.grid) if spec.grid else evaluated
    configs = tuple(dict(zip(axes, point)) for point in itertools.product(*axes.values()))
    if len(configs) < 2:
        raise SweepError("a race needs at least two configurations: give a grid axis two values or more, "
                         "e.g. --lr 4e-3,1e-2 (or --crop-pct 0.875,0.95 to race evaluations of the same models)")
    first = _config_trials(spec, {} if not spec.grid else configs[0], 0, 1)[0].config.to_dict()
    sets = [name for name, _ in (*spec.evaluate.eval_sets, *(first.get("eval_sets") or ()))]
    metrics = {*METRIC_COLUMNS} | {f"{EXTRA_TOP1_PREFIX}{name}" for name in sets}
    if settings.metric not in metrics:
        raise SweepError(f"--metric {settings.metric}: choose one of {', '.join(sorted(metrics))}")
    eval_only = not spec.grid
    return replace(settings, configs=configs, eval_only=eval_only, paired=eval_only)


def _config_trials(spec: "SweepSpec", fields: Mapping[str, Any], done: int, n: int) -> "list[TrialSpec]":
    """Seeds ``done .. done+n-1`` of one configuration, expanded like any sweep (pinned seeds match ``grid``)."""
    from rsb_sweep.spec.expand import expand

    fields = dict(fields)
    recipe = fields.pop("recipe", spec.recipe)
    one = replace(spec, recipe=recipe, overrides={**spec.overrides, **fields}, grid={},
                  seeds=replace(spec.seeds, n=done + n))
    return expand(one)[done:]


def wave_trials(spec: "SweepSpec", settings: RaceSettings, alive: Sequence[int], first_index: int,
                n: int) -> "list[TrialSpec]":
    """The next wave: seeds ``done .. done+n-1`` of every surviving configuration (``alive``: their
    indices), seed by seed; one trial per seed, serving every configuration, for an evaluation-only race."""
    from rsb_sweep.spec.expand import trial_label
    from rsb_sweep.spec.model import TrialSpec

    done = settings.done
    if settings.eval_only:
        return [TrialSpec(trial_id=trial_label(first_index + k, {"seed": t.params["seed"]}), index=first_index + k,
                          params={"seed": t.params["seed"]}, config=t.config)
                for k, t in enumerate(_config_trials(spec, {}, done, n))]
    per_config = {c: _config_trials(spec, settings.configs[c], done, n) for c in alive}
    out: list[TrialSpec] = []
    for k in range(n):
        for c in alive:
            t = per_config[c][k]
            params = {**settings.configs[c], "seed": t.params["seed"]}
            index = first_index + len(out)
            out.append(TrialSpec(trial_id=trial_label(index, params), index=index, params=params, config=t.config))
    return out


def first_wave(spec: "SweepSpec", settings: RaceSettings) -> tuple["list[TrialSpec]", RaceSettings]:
    """The first wave's trials (every configuration), and the settings with its wave end recorded."""
    n = min(settings.wave, settings.max_seeds)
    return wave_trials(spec, settings, range(len(settings.configs)), 0, n), with_wave_end(settings, n)


def with_wave_end(settings: RaceSettings, end: int) -> RaceSettings:
    return replace(settings, wave_ends=(*settings.wave_ends, end))


def config_of(settings: RaceSettings, params: Mapping[str, Any]) -> int:
    """The configuration a (non-evaluation-only) trial belongs to, from its params (-1: none)."""
    for c, fields in enumerate(settings.configs):
        if all(params.get(k) == v for k, v in fields.items()):
            return c
    return -1
