"""Test-set noise per configuration: the binomial upper bound from n_val (:func:`test_set_noise`)
and, with per-image predictions, Jordan's split of the seed variance (:func:`example_noise`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..contract import EVALUATION_KEY_COLUMNS, TERMINATED
from ..errors import AnalysisError, require_columns
from ..load.predictions import correctness_matrix, validate_predictions
from ..stats.arrays import N_RESAMPLES
from ..stats.image_noise import binomial_noise, example_noise_components
from .frames import By, StatusSpec, as_list, describe_exclusions, group_keys, grouped, lookup, split_usable


def test_set_noise(
    df: pd.DataFrame,
    metric: str = "top1",
    *,
    by: By = None,
    status: StatusSpec = TERMINATED,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The binomial upper bound on per-image test-set noise, against the observed seed std.

    binomial_std = 100 · sqrt(p (1 − p) / n_val) with p the mean accuracy (metric in percent),
    compared with the observed seed std (ddof=1, chi-square CI at ``confidence``).
    The validation set is fixed across seeds, so p(1−p)/n_val is an *upper bound* on the
    per-image part of the seed variance, not its expected share: trainings make roughly
    independent errors per image (Jordan 2023, "Calibrated Chaos"), and that part is
    Σ p_i(1 − p_i)/n² ≤ p(1 − p)/n for per-image correctness rates p_i.
    ``share_of_variance`` = binomial_var / observed_var is therefore *systematically* above 1
    when the seed variance is mostly per-image noise, and a value below 1 is evidence of
    distribution-level variance that a new test set would not average away. With per-image
    predictions, :func:`analysis.example_noise` estimates both parts.
    """
    bys = as_list(by)
    require_columns(df, [*bys, "n_val"], "test_set_noise")
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    rows = []
    for key in group_keys(df, bys):
        g = lookup(ug, key, usable)
        ex = lookup(eg, key, excluded)
        row: dict[str, Any] = dict(zip(bys, key))
        x = g[metric].to_numpy(dtype=float)
        row.update(metric=metric, n=len(x))
        values, note = binomial_noise(x, pd.to_numeric(g["n_val"], errors="coerce").to_numpy(dtype=float),
                                      confidence, metric)
        row.update(values)
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        row["note"] = "; ".join(note)
        rows.append(row)
    return pd.DataFrame(rows)


def own_evaluation(predictions: pd.DataFrame, results: pd.DataFrame, eval_set: str) -> pd.DataFrame:
    """The rows of ``predictions`` on ``eval_set`` of the usable trials of ``results``, each at
    its own crop_pct and test_res (what its top-1 in the results table was measured at)."""
    usable, _ = split_usable(results, "top1", TERMINATED)
    keep = predictions[(predictions["eval_set"].astype(str) == eval_set)
                       & predictions["trial_id"].astype(str).isin(set(usable["trial_id"].astype(str)))]
    for col in ("crop_pct", "test_res"):
        if col in usable.columns and keep[col].nunique() > 1:
            want = keep["trial_id"].astype(str).map(usable.set_index(usable["trial_id"].astype(str))[col])
            keep = keep[np.isclose(keep[col].to_numpy(dtype=float), want.to_numpy(dtype=float))]
    return keep


#: Columns of :func:`example_noise`'s table after the group columns.
EXAMPLE_NOISE_COLUMNS = (
    "n_images", "n_trials", "mean_top1", "observed_var", "independent_example_var", "distribution_var",
    "distribution_var_ci_low", "distribution_var_ci_high", "test_sampling_std", "note",
)


def example_noise(
    predictions: pd.DataFrame,
    results: pd.DataFrame | None = None,
    by: str | list[str] | None = None,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Jordan-style test-set noise per configuration and evaluation, one row per group.

    ``predictions``: the per-image table (:func:`analysis.load_predictions`). ``results``:
    the results table, which supplies the configuration columns named in ``by`` (joined on
    ``trial_id``); pass it to split trials by configuration, else all trials of an
    evaluation form one group. Rows are always grouped by ``eval_set``, ``crop_pct`` and
    ``test_res`` too. Columns: the group columns, then ``n_images``, ``n_trials``,
    ``mean_top1`` (percent), ``observed_var`` (between-trial variance of top-1, points²),
    ``independent_example_var`` (Σ p̂_i(1-p̂_i)/n² with the finite-trial correction,
    points²), ``distribution_var`` (observed minus the independent-example part, scaled by
    n/(n-1): unbiased for the variance on the test distribution, points², not floored at 0)
    with ``distribution_var_ci_low``/``_high`` (chi-square interval, see the module note),
    ``test_sampling_std`` (bootstrap over images of the mean top-1, points) and ``note``
    (why a value is NaN). Cites Jordan, arXiv 2304.01910; see the module note for the
    estimator.
    """
    preds = validate_predictions(predictions)
    bys = as_list(by)
    if bys:
        if results is None:
            raise AnalysisError(f"by={bys} names configuration columns; pass results= (the results table) "
                                "to supply them.")
        require_columns(results, ["trial_id", *bys], "example_noise(by=...)")
        clash = [c for c in bys if c in EVALUATION_KEY_COLUMNS]
        if clash:
            raise AnalysisError(f"{clash} are evaluation columns of the predictions table, always grouped on; "
                                "drop them from by=.")
        config = results.loc[:, ["trial_id", *bys]].astype({"trial_id": "string"}).drop_duplicates("trial_id")
        missing = sorted(set(preds["trial_id"]) - set(config["trial_id"]))
        if missing:
            raise AnalysisError(
                f"{len(missing)} trials of the predictions table are not in the results table "
                f"(e.g. {', '.join(missing[:3])}); pass the results of the same experiment."
            )
        preds = preds.merge(config, on="trial_id", how="left", validate="many_to_one")
    keys = [*bys, *EVALUATION_KEY_COLUMNS]
    rows = []
    for key, group in preds.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v}" for c, v in zip(keys, key))
        noise = example_noise_components(
            correctness_matrix(group, what=label), confidence=confidence, n_resamples=n_resamples,
            random_state=random_state,
        )
        values = noise.to_dict()
        rows.append({**dict(zip(keys, key)), **{c: values[c] for c in EXAMPLE_NOISE_COLUMNS}})
    return pd.DataFrame(rows, columns=[*keys, *EXAMPLE_NOISE_COLUMNS])
