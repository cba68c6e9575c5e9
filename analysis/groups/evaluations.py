"""How the report reads ``evaluations.parquet``: baselines, groups, Table 9 and Figure 4 choices.

An experiment that trains once and evaluates many (``rsb-sweep evaluate``) has one results row
per trained model and one evaluations row per (trial, eval set, crop_pct, test_res). The
report compares the evaluation-only factors (``crop_pct``, ``test_res``) paired by trial with
:func:`analysis.compare_paired`; this module holds the decisions that the report's sections
share, so the summary's Table 9 and the paired section use the same baseline:

* **Baseline.** A ``--baseline`` spec may mix training factors and evaluation-only ones
  (``recipe=a2,crop_pct=0.875``): :func:`analysis.groups.baseline.split_baseline` gives the training part to the
  comparisons section and the rest to the paired one. Without a given value a factor's
  baseline is the trials' own setting (the value of the ``source == 'training'`` rows, the
  most common one over trials when recipes differ), else the level with the most rows.
* **Groups.** Pairs are formed within ``recipe`` and every other training configuration
  column that varies (:func:`paired_within`); ``compare_paired`` also holds the other
  evaluation-only columns fixed.
* **Figure 4** shows one eval set (``val`` when evaluated) at one crop ratio: the trials'
  own, when it is evaluated at two or more resolutions (:func:`figure4_choice`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..contract import CONFIG_COLUMNS, EVAL_ONLY_FIELDS, MAIN_SET, TRAINING_SOURCE
from ..load.io import config_columns
from .frames import matches, plain


def varying_factors(evaluations: pd.DataFrame) -> list[str]:
    """The evaluation-only factors that take two or more values in ``evaluations``."""
    return [f for f in EVAL_ONLY_FIELDS if f in evaluations.columns and evaluations[f].nunique(dropna=True) > 1]


def paired_within(evaluations: pd.DataFrame) -> list[str]:
    """``recipe`` and the other training configuration columns that vary: the pairing groups."""
    columns = tuple(c for c in CONFIG_COLUMNS if c not in EVAL_ONLY_FIELDS)
    return ["recipe", *(c for c in config_columns(evaluations, columns) if c != "recipe")]


def paired_baseline(evaluations: pd.DataFrame, factor: str,
                    given: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """(baseline level of ``factor``, how it was chosen), for :func:`compare_paired`.

    The given value when ``given`` names the factor; else the trials' own setting (the
    ``source == 'training'`` rows, counted once per trial; the most common value, first in
    sorted order on ties, when trials differ); else the level with the most rows.
    """
    if given and factor in given:
        return given[factor], "given"
    own = pd.Series([], dtype=float)
    if "source" in evaluations.columns:
        trained = (evaluations["source"].astype("string") == TRAINING_SOURCE).fillna(False).astype(bool)
        own = evaluations[trained].drop_duplicates("trial_id")[factor].dropna()
    if len(own):
        counts = own.value_counts()
        level = sorted(counts[counts == counts.max()].index)[0]
        if len(counts) == 1:
            return plain(level), "the trials' own setting, as trained"
        return plain(level), (f"the most common of the trials' own settings, that of {int(counts.max())} of "
                               f"{len(own)} trials")
    counts = evaluations[factor].dropna().value_counts()
    level = sorted(counts[counts == counts.max()].index)[0]
    return plain(level), "the level with the most evaluations, no row being a trial's own setting"


def figure4_choice(evaluations: pd.DataFrame) -> dict[str, Any] | None:
    """Which slice Figure 4 draws: ``eval_set`` (``val`` when evaluated), ``crop_pct`` (the
    trials' own when evaluated at 2+ resolutions, else the crop with the most resolutions),
    ``by`` (the pairing groups) and ``chosen`` (why that crop); None when no crop ratio of that
    eval set is evaluated at two or more test resolutions."""
    if "test_res" not in varying_factors(evaluations):
        return None
    sets = list(pd.unique(evaluations["eval_set"].dropna()))
    eval_set = MAIN_SET if MAIN_SET in sets else sorted(sets)[0]
    rows = evaluations[evaluations["eval_set"] == eval_set]
    n_res = rows.groupby("crop_pct")["test_res"].nunique()
    if n_res.max() < 2:
        return None
    own, how = paired_baseline(rows, "crop_pct")
    if n_res.get(own, 0) >= 2 and not how.startswith("the level"):
        crop, chosen = own, ("the trials' own crop ratio" if how.startswith("the trials' own") else
                             "the most common of the trials' own crop ratios")
    else:
        crop = plain(sorted(n_res[n_res == n_res.max()].index)[0])
        chosen = "the crop ratio evaluated at the most test resolutions"
    return {"eval_set": eval_set, "crop_pct": crop, "by": paired_within(evaluations), "chosen": chosen}


def figure4_rows(evaluations: pd.DataFrame, choice: Mapping[str, Any]) -> pd.DataFrame:
    """The rows :func:`analysis.plot_test_res` draws for a :func:`figure4_choice`."""
    return evaluations[(evaluations["eval_set"] == choice["eval_set"])
                       & matches(evaluations["crop_pct"], choice["crop_pct"])]
