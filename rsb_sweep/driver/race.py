"""``rsb-sweep race``: seeds to the surviving configurations of a grid, a wave at a time, until the
race is decided (:mod:`analysis.stats.race`: anytime-valid confidence sequences for every pair at
α/P, the drop and stop rules).

A design on the wave loop of :mod:`rsb_sweep.driver.waves` (as ``ab`` is). The manifest holds the
waves started so far and, under ``"race"``, the configurations, the settings and the wave ends.
After each wave every configuration's metric, in seed order (a failed seed is NaN, never
dropped), goes to :func:`analysis.stats.race.race`, which replays every look; the configurations
it drops get no more seeds. ``<experiment>/race.json`` holds the verdict, each configuration's
seeds, mean, intervals and drop, and one entry per look (:mod:`rsb_sweep.experiment.race_file`).
An evaluation-only race reads the evaluations of one model per seed at every configuration's
setting (paired), from evaluations.parquet.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Optional

from analysis.contract import ENDED, ERROR, EXTRA_TOP1_PREFIX, MAIN_SET, PENDING, TERMINATED
from rsb_sweep.driver.waves import WaveDesign, run_waves
from rsb_sweep.experiment.race_file import describe_race, race_doc, write_race
from rsb_sweep.spec.race import RaceSettings, config_of, wave_trials, with_wave_end

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.sweep import SweepOutcome
    from rsb_sweep.driver.waves import Growth
    from rsb_sweep.experiment.folder import Experiment


def race_settings_of(exp: "Experiment") -> RaceSettings:
    """The ``race`` settings the manifest holds (its wave ends so far)."""
    return RaceSettings.from_dict(exp.manifest["race"])


def run_race(exp: "Experiment", options: "LaunchOptions", console: "Console",
             launch: Callable[["LaunchOptions"], "SweepOutcome"]) -> tuple["SweepOutcome", dict[str, Any]]:
    """Run the unfinished trials of ``exp``, look, give the survivors a wave, … until the race stops
    (:func:`~rsb_sweep.driver.waves.run_waves` with :data:`RACE_DESIGN`). Returns the last launch's
    outcome and race.json's content."""
    return run_waves(exp, options, console, launch, RACE_DESIGN)


def race_rows(results: "pd.DataFrame", exp: "Experiment", settings: RaceSettings,
              evaluations: "Optional[pd.DataFrame]" = None) -> list[dict[str, Any]]:
    """One row per (configuration, seed) run so far: ``config``, ``seed`` (its position), ``id``, ``status``,
    ``value`` (the metric when finished, else NaN); from the results, or from ``evaluations`` at the
    configuration's setting for an evaluation-only race (PENDING until that evaluation exists)."""
    metric = settings.metric
    positions: dict[int, int] = {}
    for t in exp.trials:
        positions.setdefault(t["params"]["seed"], len(positions))
    if not settings.eval_only:
        table = results.set_index("trial_id")
        rows = []
        for t in exp.trials:
            status = str(table.loc[t["trial_id"], "status"]) if t["trial_id"] in table.index else PENDING
            value = table.loc[t["trial_id"], metric] if status == TERMINATED and metric in table.columns else math.nan
            rows.append({"config": config_of(settings, t["params"]), "seed": positions[t["params"]["seed"]],
                         "id": t["trial_id"], "status": status, "value": float(value)})
        return rows
    extra = metric.startswith(EXTRA_TOP1_PREFIX)
    eval_set, column = (metric[len(EXTRA_TOP1_PREFIX):], "top1") if extra else (MAIN_SET, metric)
    rows = []
    for t in exp.trials:
        mine = evaluations[(evaluations["trial_id"] == t["trial_id"]) & (evaluations["eval_set"] == eval_set)] \
            if evaluations is not None else None
        for c, fields in enumerate(settings.configs):
            crop = float(fields.get("crop_pct", t["config"]["crop_pct"]))
            res = int(fields.get("test_res", t["config"]["test_res"]))
            hit = mine[((mine["crop_pct"] - crop).abs() < 1e-9) & (mine["test_res"] == res)] if mine is not None else []
            status = str(hit["status"].iloc[0]) if len(hit) else PENDING
            value = float(hit[column].iloc[0]) if len(hit) and status == TERMINATED else math.nan
            rows.append({"config": c, "seed": positions[t["params"]["seed"]], "id": f"{t['trial_id']}:{c}",
                         "status": status, "value": value})
    return rows


def race_values(rows: list[dict[str, Any]], settings: RaceSettings) -> tuple[Any, list[int]]:
    """The (configurations, seeds) matrix of the metric (NaN: not finished, failed, or never run) and the
    looks taken so far: the wave ends whose runs have all ended (finished or failed)."""
    import numpy as np

    n = settings.done
    values = np.full((len(settings.configs), max(n, 1)), math.nan)
    for r in rows:
        if r["config"] >= 0 and r["seed"] < n:
            values[r["config"], r["seed"]] = r["value"]
    looks = []
    for end in settings.wave_ends:
        if all(r["status"] in ENDED for r in rows if r["seed"] < end):
            looks.append(end)
        else:
            break
    return values, looks


def _evaluations(exp: "Experiment", settings: RaceSettings) -> "Optional[pd.DataFrame]":
    if not settings.eval_only:
        return None
    from rsb_sweep.experiment.evaluations import build_evaluations

    return build_evaluations(exp)


def look(exp: "Experiment", results: "pd.DataFrame") -> tuple[dict[str, Any], set[str]]:
    """race.json's content for the results so far (every look replayed), written; and the failed runs."""
    settings = race_settings_of(exp)
    rows = race_rows(results, exp, settings, _evaluations(exp, settings))
    values, looks = race_values(rows, settings)
    seeds = list(dict.fromkeys(t["params"]["seed"] for t in exp.trials))
    doc = race_doc(values, looks, settings, seeds)
    write_race(exp, doc)
    return doc, {r["id"] for r in rows if r["status"] == ERROR}


def failed_runs(exp: "Experiment", results: "pd.DataFrame") -> set[str]:
    """Failed trials (or failed evaluations, for an evaluation-only race)."""
    settings = race_settings_of(exp)
    return {r["id"] for r in race_rows(results, exp, settings, _evaluations(exp, settings)) if r["status"] == ERROR}


def next_wave(exp: "Experiment", doc: dict[str, Any]) -> "Optional[Growth]":
    """The survivors' next wave, or None once the race stopped (or at ``max_seeds``)."""
    settings = race_settings_of(exp)
    done = settings.done
    if doc["verdict"] != "running" or done >= settings.max_seeds:
        return None
    alive = [c for c, entry in enumerate(doc["configurations"]) if entry["alive"]]
    n = min(settings.wave, settings.max_seeds - done)
    trials = wave_trials(exp.spec, settings, alive, len(exp.trials), n)
    return trials, {"race": with_wave_end(settings, done + n).to_dict()}


#: ``race`` as a wave design.
RACE_DESIGN = WaveDesign(failed=failed_runs, look=look, describe=describe_race, next_wave=next_wave)
