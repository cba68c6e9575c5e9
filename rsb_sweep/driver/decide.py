"""The look of an ``rsb-sweep ab``: decision.json's content from the results (and evaluations) so far.

After each wave the arms' metric in seed order (a failed seed is NaN, never dropped) goes to
:func:`analysis.stats.sequential.sequential_compare` (an anytime-valid confidence sequence for
mean(A) − mean(B), looks at the wave ends); its last row decides. Runs in the driver process
(:mod:`rsb_sweep.driver.ab`), from tables alone; it imports from the analysis only its array
statistics and verdict sentences (no matplotlib, no DataFrame grouping).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Mapping, Optional

from analysis.contract import ENDED, EXTRA_TOP1_PREFIX, MAIN_SET, PENDING, TERMINATED
from rsb_sweep.spec.ab import ARMS, AbSettings

if TYPE_CHECKING:
    import pandas as pd


def arm_values(results: "pd.DataFrame", trials: list[Mapping[str, Any]], metric: str, n: int) -> tuple[Any, Any]:
    """The arms' metric over the first ``n`` seeds, in seed order (NaN where a trial did not finish)."""
    import numpy as np

    if metric not in results.columns:  # an extra set's column appears with its first finished trial
        return np.full(n, math.nan), np.full(n, math.nan)
    value = dict(zip(results["trial_id"], results[metric].where(results["status"] == TERMINATED)))
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
    extra = metric.startswith(EXTRA_TOP1_PREFIX)
    eval_set, column = (metric[len(EXTRA_TOP1_PREFIX):], "top1") if extra else (MAIN_SET, metric)
    ev = evaluations if evaluations is not None else pd.DataFrame(columns=["trial_id", "eval_set", "crop_pct",
                                                                           "test_res", "status", column])
    rows, like = [], []
    for t in trials:
        mine = ev[(ev["trial_id"] == t["trial_id"]) & (ev["eval_set"] == eval_set)]
        for arm in ARMS:
            crop = float(settings.arm(arm).get("crop_pct", t["config"]["crop_pct"]))
            res = int(settings.arm(arm).get("test_res", t["config"]["test_res"]))
            hit = mine[((mine["crop_pct"] - crop).abs() < 1e-9) & (mine["test_res"] == res)]
            status, value = (str(hit["status"].iloc[0]), hit[column].iloc[0]) if len(hit) else (PENDING, math.nan)
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
    ended = set(results.loc[results["status"].isin(ENDED), "trial_id"])
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
    from analysis.stats.sequential import sequential_compare
    from analysis.text.verdicts import verdict_sentence

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
