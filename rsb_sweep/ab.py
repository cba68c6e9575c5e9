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
(:mod:`rsb_sweep.driver.evaluate`, the manifest's ``evaluate`` plan), and the confidence sequence is
taken on the paired differences (the same model under two settings: training noise cancels).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from analysis.contract import DECISION_FILE
from rsb_sweep.spec.ab import ARMS, AbSettings, _with_end, wave_trials
from trainer.files import atomic_write_json

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from rsb_sweep.driver.sweep import LaunchOptions, SweepOutcome
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.spec.model import SweepSpec



def spec_of(exp: "Experiment") -> "SweepSpec":
    """The experiment's :class:`SweepSpec`, rebuilt from its manifest (to expand the next wave)."""
    from rsb_sweep.spec.fields import coerce
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

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
    differ only in evaluation); by default :func:`rsb_sweep.driver.sweep.run_experiment` then
    :func:`rsb_sweep.driver.evaluate.run_evaluations` inside one Ray session that serves every wave.
    Returns the last launch's outcome (its counts cover every trial; its time the whole loop)
    and decision.json's content.
    """
    from contextlib import nullcontext
    from dataclasses import replace

    session: Any = nullcontext()
    if launch is None:
        from rsb_sweep.driver.sweep import run_experiment
        from rsb_sweep.raysession import ray_session

        session = ray_session(options.address, options.dashboard, options.num_cpus)

        def launch(opts: "LaunchOptions") -> "SweepOutcome":
            outcome = run_experiment(exp, opts, console=console, on_dispatch=on_dispatch)
            if exp.evaluate:
                from rsb_sweep.driver.evaluate import run_evaluations

                say = (lambda line: None) if opts.quiet else (lambda line: console.print(line, markup=False))
                run_evaluations(exp, opts, say, on_dispatch=on_dispatch)
            return outcome

    from rsb_sweep.experiment.results import build_results

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
    from rsb_sweep.experiment.evaluations import build_evaluations

    return build_evaluations(exp)


def _failed(results: "pd.DataFrame", exp: "Experiment", settings: AbSettings,
            evaluations: "Optional[pd.DataFrame]") -> set[str]:
    """Failed trials (or failed evaluations of an arm, for arms that differ only in evaluation)."""
    table, _ = arm_rows(results, exp.trials, settings, evaluations)
    return set(table.loc[table["status"] == "ERROR", "trial_id"])
