"""``rsb-sweep ab``: add seeds to two arms, a wave at a time, until the comparison is decided.

Both arms run on the same seeds. The experiment's manifest holds the waves started so far
(unstarted waves are not in it) and, under ``"ab"``, the arms, the settings and the wave ends,
so that ``resume`` continues an interrupted ``ab`` and ``status`` reads it from files alone.
After each wave :func:`analysis.sequential_compare` (an anytime-valid confidence sequence for
mean(A) − mean(B), looks at the wave ends) decides; ``<experiment>/decision.json`` holds the
verdict and one entry per look. The loop stops at a decision, at ``max_seeds`` seeds per arm
(``undecided``), after a wave in which a trial failed (exit 1; ``resume`` continues, with
``--retry-failed`` rerunning it), or with trials unfinished (exit 3).

Arms that differ only in evaluation-only fields (crop ratio, test resolution) train once: each
wave trains one model per seed, evaluates it at both arms' settings from its final checkpoint
(:mod:`rsb_sweep.evaluations`, the manifest's ``evaluate`` plan), and the confidence sequence is
taken on the paired differences (the same model under two settings: training noise cancels).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from analysis.contract import DECISION_FILE
from rsb_sweep.errors import SweepError
from trainer.config import SEED_FIELDS
from trainer.files import atomic_write_json

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from rsb_sweep.driver import LaunchOptions, SweepOutcome
    from rsb_sweep.experiment import Experiment
    from rsb_sweep.spec import EvalPlan, SweepSpec, TrialSpec

ARMS = ("a", "b")
#: Verdicts that end the loop (besides ``undecided`` at the seed cap).
DECIDED = ("a_better", "b_better", "equivalent")
#: Fields that change only how a trained model is evaluated (DESIGN.md, evaluations.parquet).
EVALUATION_ONLY = ("crop_pct", "test_res", "eval_sets")
#: Metrics where lower is better.
LOWER_IS_BETTER = ("eval_loss",)


@dataclass(frozen=True)
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
    from rsb_sweep.fields import OVERRIDABLE, canonical, coerce

    out: dict[str, Any] = {}
    for part in (p.strip() for p in str(text).split(",")):
        key, eq, value = part.partition("=")
        if not part or not eq or not key.strip() or not value.strip():
            raise SweepError(f"{option} {text!r}: expected FIELD=VALUE[,FIELD=VALUE…], e.g. {option} lr=5e-4")
        name = canonical(key.strip())
        if name != "recipe" and (name not in OVERRIDABLE or name == "eval_sets"):
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
    if set(differ) <= set(EVALUATION_ONLY):  # train once, evaluate at both settings, compare paired
        from dataclasses import replace

        settings = replace(settings, eval_only=True, paired=True)
    metrics = {"top1", "top5", "eval_loss"} | {f"top1_{name}" for name, _ in first["a"].get("eval_sets") or ()}
    if settings.metric not in metrics:
        raise SweepError(f"--metric {settings.metric}: choose one of {', '.join(sorted(metrics))}")
    return settings


def _arm_trials(spec: "SweepSpec", settings: AbSettings, arm: str, done: int, n: int) -> "list[TrialSpec]":
    """Seeds ``done .. done+n-1`` of one arm, expanded like any sweep (so pinned seeds match ``seeds``).

    For arms that differ only in evaluation the arm's evaluation fields are left out: the model
    keeps its recipe's own setting and is evaluated at the arm's."""
    from dataclasses import replace

    from rsb_sweep.spec import expand

    fields = {k: v for k, v in settings.arm(arm).items() if not (settings.eval_only and k in EVALUATION_ONLY)}
    recipe = fields.pop("recipe", spec.recipe)
    arm_spec = replace(spec, recipe=recipe, overrides={**spec.overrides, **fields}, grid={},
                       seeds=replace(spec.seeds, n=done + n))
    return expand(arm_spec)[done:]


def wave_trials(spec: "SweepSpec", settings: AbSettings, first_index: int, done: int, n: int) -> "list[TrialSpec]":
    """The trials of the next wave: seeds ``done .. done+n-1``, arm A then B for each seed (one
    trial per seed, serving both arms, when the arms differ only in evaluation)."""
    from rsb_sweep.spec import TrialSpec, trial_label

    if settings.eval_only:
        return [TrialSpec(trial_id=trial_label(first_index + k, {"seed": t.params["seed"]}), index=first_index + k,
                          params={"seed": t.params["seed"]}, config=t.config)
                for k, t in enumerate(_arm_trials(spec, settings, "a", done, n))]
    per_arm = {arm: _arm_trials(spec, settings, arm, done, n) for arm in ARMS}
    out: list[TrialSpec] = []
    for k in range(n):
        for arm in ARMS:
            t = per_arm[arm][k]
            params = {"arm": arm.upper(), **{f: v for f, v in settings.arm(arm).items() if f != "eval_sets"},
                      "seed": t.params["seed"]}
            index = first_index + len(out)
            out.append(TrialSpec(trial_id=trial_label(index, params), index=index, params=params, config=t.config))
    return out


def first_wave(spec: "SweepSpec", settings: AbSettings) -> tuple["list[TrialSpec]", AbSettings]:
    """The first wave's trials, and the settings with its wave end recorded."""
    n = min(settings.wave, settings.max_seeds)
    return wave_trials(spec, settings, 0, 0, n), _with_end(settings, n)


def evaluation_plan(settings: AbSettings) -> "EvalPlan":
    """What each trained model is evaluated at when the arms differ only in evaluation (else nothing)."""
    from rsb_sweep.spec import EvalPlan

    if not settings.eval_only:
        return EvalPlan()
    values = {k: tuple(dict.fromkeys(settings.arm(a)[k] for a in ARMS if k in settings.arm(a)))
              for k in ("crop_pct", "test_res")}
    return EvalPlan(**values)


def _with_end(settings: AbSettings, end: int) -> AbSettings:
    from dataclasses import replace

    return replace(settings, wave_ends=(*settings.wave_ends, end))


def spec_of(exp: "Experiment") -> "SweepSpec":
    """The experiment's :class:`SweepSpec`, rebuilt from its manifest (to expand the next wave)."""
    from rsb_sweep.fields import coerce
    from rsb_sweep.spec import SeedAxis, SweepSpec

    d = exp.manifest["spec"]
    s = d["seeds"]
    overrides = {k: coerce(k, v) for k, v in d["overrides"].items()}  # JSON lists back to the fields' types
    return SweepSpec(name=d["name"], recipe=d["recipe"], data=d["data"], overrides=overrides,
                     seeds=SeedAxis(n=s["n"], start=s["start"], vary=tuple(s["vary"])), description=d["description"],
                     source=d["source"])


def settings_of(exp: "Experiment") -> AbSettings:
    return AbSettings.from_dict(exp.manifest["ab"])


# ------------------------------------------------------------------------------------------
# looking: the decision after the completed waves


def arm_values(results: "pd.DataFrame", trials: list[Mapping[str, Any]], metric: str, n: int) -> tuple[Any, Any]:
    """The arms' metric over the first ``n`` seeds, in seed order (NaN where a trial did not finish)."""
    import numpy as np

    if metric not in results.columns:  # an extra set's column appears with its first finished trial
        return np.full(n, math.nan), np.full(n, math.nan)
    value = dict(zip(results["trial_id"], results[metric].where(results["status"] == "TERMINATED")))
    seeds = _seeds(trials)[:n]
    out = []
    for arm in ARMS:
        by_seed = {t["params"]["seed"]: value.get(t["trial_id"], math.nan) for t in trials
                   if t["params"]["arm"] == arm.upper()}
        out.append(np.array([by_seed.get(s, math.nan) for s in seeds], dtype=float))
    return out[0], out[1]


def arm_rows(results: "pd.DataFrame", trials: list[Mapping[str, Any]], settings: AbSettings,
             evaluations: "Optional[pd.DataFrame]" = None) -> tuple["pd.DataFrame", list[dict[str, Any]]]:
    """The table and trial list the looks read: the results and manifest trials themselves, or, when the
    arms differ only in evaluation, one row per (trial, arm) from ``evaluations`` at the arm's setting
    (status PENDING until that evaluation exists), so that both arms of seed k are the same model."""
    import pandas as pd

    if not settings.eval_only:
        return results, list(trials)
    metric = settings.metric
    eval_set, column = ("val", metric) if not metric.startswith("top1_") else (metric[len("top1_"):], "top1")
    ev = evaluations if evaluations is not None else pd.DataFrame(columns=["trial_id", "eval_set", "crop_pct",
                                                                           "test_res", "status", column])
    rows, like = [], []
    for t in trials:
        mine = ev[(ev["trial_id"] == t["trial_id"]) & (ev["eval_set"] == eval_set)]
        for arm in ARMS:
            crop = float(settings.arm(arm).get("crop_pct", t["config"]["crop_pct"]))
            res = int(settings.arm(arm).get("test_res", t["config"]["test_res"]))
            hit = mine[((mine["crop_pct"] - crop).abs() < 1e-9) & (mine["test_res"] == res)]
            status, value = (str(hit["status"].iloc[0]), hit[column].iloc[0]) if len(hit) else ("PENDING", math.nan)
            rows.append({"trial_id": f"{t['trial_id']}:{arm}", "status": status, metric: value})
            like.append({"trial_id": f"{t['trial_id']}:{arm}", "params": {"arm": arm.upper(), "seed": t["params"]["seed"]}})
    table = pd.DataFrame(rows, columns=["trial_id", "status", metric])
    table[metric] = pd.to_numeric(table[metric], errors="coerce").astype("float64")
    return table, like


def _seeds(trials: list[Mapping[str, Any]]) -> list[int]:
    seen: dict[int, None] = {}
    for t in trials:
        seen.setdefault(t["params"]["seed"], None)
    return list(seen)


def complete_looks(results: "pd.DataFrame", trials: list[Mapping[str, Any]], wave_ends: tuple[int, ...]) -> list[int]:
    """The wave ends whose trials have all ended (finished or failed): the looks taken so far."""
    ended = set(results.loc[results["status"].isin(["TERMINATED", "ERROR"]), "trial_id"])
    seeds = _seeds(trials)
    looks = []
    for end in wave_ends:
        wanted = set(seeds[:end])
        if all(t["trial_id"] in ended for t in trials if t["params"]["seed"] in wanted):
            looks.append(end)
        else:
            break
    return looks


def decide(results: "pd.DataFrame", trials: list[Mapping[str, Any]], settings: AbSettings,
           evaluations: "Optional[pd.DataFrame]" = None) -> dict[str, Any]:
    """decision.json's content for the results so far (``running`` with no look before a wave completes).

    ``evaluations`` (evaluations.parquet) is read when the arms differ only in evaluation."""
    from analysis.sequential import sequential_compare, verdict_sentence

    results, trials = arm_rows(results, trials, settings, evaluations)
    looks = complete_looks(results, trials, settings.wave_ends)
    base = {"alpha": settings.alpha, "delta": settings.delta}
    doc: dict[str, Any] = {
        "decision": "running", "sentence": "No wave has finished yet.", "n": 0, "n_seeds": {"a": 0, "b": 0},
        "diff": None, "cs_low": None, "cs_high": None, "p_value": None, **base,
        "metric": settings.metric, "higher_is_better": settings.higher_is_better, "paired": settings.paired,
        "arms": {arm: dict(settings.arm(arm)) for arm in ARMS}, "names": {arm: settings.name(arm) for arm in ARMS},
        "wave": settings.wave, "max_seeds": settings.max_seeds, "wave_ends": list(settings.wave_ends),
        "eval_only": settings.eval_only, "method": None, "looks": [], "updated": time.time(),
    }
    if not looks:
        return doc
    a, b = arm_values(results, trials, settings.metric, looks[-1])
    path = sequential_compare(a, b, alpha=settings.alpha, delta=settings.delta, paired=settings.paired,
                              looks=looks, higher_is_better=settings.higher_is_better)
    entries = []
    for row in path.to_dict("records"):
        verdict = row["decision"]
        if verdict == "continue":
            verdict = "undecided" if row["n"] >= settings.max_seeds else "running"
        entries.append({"n": int(row["n"]), "n_seeds": {"a": int(row["n_a"]), "b": int(row["n_b"])},
                        **{k: _finite(row[k]) for k in ("diff", "cs_low", "cs_high", "p_value")},
                        "decision": verdict, **base})
    sentence = verdict_sentence(path, name_a=settings.name("a"), name_b=settings.name("b"), metric=settings.metric)
    doc.update({k: v for k, v in entries[-1].items()}, sentence=sentence, looks=entries, method=path.attrs["method"])
    return doc


def _finite(x: Any) -> Optional[float]:
    """JSON has no infinity: an unbounded side of the interval (or a missing estimate) is null."""
    x = float(x)
    return x if math.isfinite(x) else None


def write_decision(exp: "Experiment", doc: Mapping[str, Any]) -> None:
    atomic_write_json(exp.root / DECISION_FILE, dict(doc))


def read_decision(exp: "Experiment") -> Optional[dict[str, Any]]:
    """decision.json, or None before the first look."""
    import json

    try:
        return json.loads((exp.root / DECISION_FILE).read_text())
    except (OSError, ValueError):
        return None


def describe(doc: Mapping[str, Any]) -> str:
    """One line for ``status`` and the end of a run: the verdict and the current interval."""
    return (f"ab decision: {doc['decision']} after {doc['n']} of at most {doc['max_seeds']} seeds per arm. "
            f"{doc['sentence']}")


# ------------------------------------------------------------------------------------------
# the wave loop


def run_ab(exp: "Experiment", options: "LaunchOptions", console: "Console", on_dispatch: Callable[[], None],
           launch: Optional[Callable[["LaunchOptions"], "SweepOutcome"]] = None
           ) -> tuple["SweepOutcome", dict[str, Any]]:
    """Run the unfinished trials of ``exp``, look, add a wave, … until decided (see the module docstring).

    ``launch(options)`` runs the experiment's unfinished trials (and evaluations, when the arms
    differ only in evaluation); by default :func:`rsb_sweep.driver.run_experiment` then
    :func:`rsb_sweep.evaluations.run_evaluations` inside one Ray session that serves every wave.
    Returns the last launch's outcome (its counts cover every trial; its time the whole loop)
    and decision.json's content.
    """
    from contextlib import nullcontext
    from dataclasses import replace

    session: Any = nullcontext()
    if launch is None:
        from rsb_sweep.driver import run_experiment
        from rsb_sweep.raysession import ray_session

        session = ray_session(options.address, options.dashboard, options.num_cpus)

        def launch(opts: "LaunchOptions") -> "SweepOutcome":
            outcome = run_experiment(exp, opts, console=console, on_dispatch=on_dispatch)
            if exp.evaluate:
                from rsb_sweep.evaluations import run_evaluations

                say = (lambda line: None) if opts.quiet else (lambda line: console.print(line, markup=False))
                run_evaluations(exp, opts, say, on_dispatch=on_dispatch)
            return outcome

    from rsb_sweep.results import build_results

    spec = spec_of(exp)
    start = time.time()
    # failures from before this launch are accepted as missing seeds; with retry_failed they rerun
    failed_before = set() if options.retry_failed else _failed(build_results(exp), exp, settings_of(exp),
                                                               _evaluations(exp, settings_of(exp)))
    with session as ray:
        if getattr(ray, "dashboard_url", None) and not options.quiet:
            console.print(f"Ray dashboard: {ray.dashboard_url}", highlight=False)
        while True:
            outcome = launch(options)
            options = replace(options, retry_failed=False, dashboard=False)
            settings = settings_of(exp)
            evaluations = _evaluations(exp, settings)  # read once per look
            failed = _failed(outcome.results, exp, settings, evaluations)
            doc = decide(outcome.results, exp.trials, settings, evaluations)
            write_decision(exp, doc)
            if not options.quiet:
                console.print(describe(doc), highlight=False, markup=False)
            done = settings.wave_ends[-1] if settings.wave_ends else 0
            unfinished = outcome.counts["RUNNING"] + outcome.counts["PENDING"]
            if unfinished or doc["decision"] != "running" or failed - failed_before or done >= settings.max_seeds:
                break
            n = min(settings.wave, settings.max_seeds - done)
            trials = wave_trials(spec, settings, len(exp.trials), done, n)
            with exp.lock():
                exp.grow(trials, ab=_with_end(settings, done + n).to_dict())
    return replace(outcome, wall_seconds=time.time() - start), doc


def _evaluations(exp: "Experiment", settings: AbSettings) -> "Optional[pd.DataFrame]":
    """The experiment's evaluations, when the arms differ only in evaluation (else not needed)."""
    if not settings.eval_only:
        return None
    from rsb_sweep.evaluations import build_evaluations

    return build_evaluations(exp)


def _failed(results: "pd.DataFrame", exp: "Experiment", settings: AbSettings,
            evaluations: "Optional[pd.DataFrame]") -> set[str]:
    """Failed trials (or failed evaluations of an arm, for arms that differ only in evaluation)."""
    table, _ = arm_rows(results, exp.trials, settings, evaluations)
    return set(table.loc[table["status"] == "ERROR", "trial_id"])
