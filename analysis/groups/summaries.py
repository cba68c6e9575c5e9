"""Per-group wrappers over a results table: summaries, normality, outlier seeds and expected
best-of-n, one row per configuration (comparisons: :mod:`.comparisons`; test-set noise:
:mod:`.noise`).

Table-level functions use only rows with ``status == "TERMINATED"`` (``status=None``: all rows)
and a finite metric, and report how many rows of each group they excluded and why. The array
statistics they apply are in :mod:`analysis.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..contract import TERMINATED
from ..errors import AnalysisError, require_columns
from ..stats.arrays import N_RESAMPLES
from ..stats.bootstrap import bootstrap_cis
from ..stats.expected_max import expected_max
from ..stats.gaussian import fit_gaussian, flag_outliers, mean_t_interval
from .frames import By, StatusSpec, as_list, describe_exclusions, group_keys, grouped, lookup, split_usable

NAN = float("nan")

#: Below this many seeds the CI of a group mean is Student's t interval, never a bootstrap.
#: Why (measured, benchmarks/stats_calibration.py, 2 000 groups each): BCa's coverage of a
#: 95 % CI for Gaussian seeds is 0.73 at n=3, 0.83 at n=5, 0.90 at n=10 and 0.93 at n=20 (its
#: interval shrinks to the data range at n=3), while t covers 0.95 at every n; from 30 BCa
#: keeps 0.94 and matches t on skewed (log-normal) seeds.
T_INTERVAL_BELOW = 30


# --------------------------------------------------------------------------- summarize

def summarize(
    df: pd.DataFrame,
    by: By = None,
    metric: str | Sequence[str] = "top1",
    *,
    status: StatusSpec = TERMINATED,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """One row per group (and per metric when several): the seed statistics a paper reports.

    Columns: the ``by`` columns, ``metric``, ``n``, ``mean``, ``std`` (ddof=1), ``sem``,
    ``ci_low``/``ci_high``/``ci_method`` (CI of the mean: Student t below
    :data:`T_INTERVAL_BELOW` seeds, BCa bootstrap (scipy, fixed ``random_state``) from there;
    see :data:`T_INTERVAL_BELOW`),
    ``median``, ``min``, ``max``, ``range``, ``seed0`` (value of the trial with seed 0),
    ``n_excluded``/``excluded`` (rows left out and why) and ``note`` (why a value is NaN).
    Groups whose trials all failed stay in the table with ``n = 0``.
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    bys = as_list(by)
    require_columns(df, bys, "summarize(by=...)")
    frames = [
        _summarize_one(df, bys, m, status, confidence, n_resamples, random_state) for m in metrics
    ]
    return pd.concat(frames, ignore_index=True)


def _summarize_one(df, bys, metric, status, confidence, n_resamples, random_state):
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    rows, arrays, notes = [], [], []
    for key in group_keys(df, bys):
        g = lookup(ug, key, usable)
        ex = lookup(eg, key, excluded)
        x = g[metric].to_numpy(dtype=float)
        row, note = _describe(x)
        row = {**dict(zip(bys, key)), "metric": metric, **row}
        row["seed0"], seed_note = _seed0(g, metric, "seed" in df.columns)
        note += seed_note
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        rows.append(row)
        arrays.append(x)
        notes.append(note)
    _mean_cis(rows, arrays, notes, confidence, n_resamples, random_state)
    cols = [*bys, "metric", "n", "mean", "std", "sem", "ci_low", "ci_high", "ci_method",
            "median", "min", "max", "range", "seed0", "n_excluded", "excluded", "note"]
    return pd.DataFrame(rows, columns=cols)


def _describe(x: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """n, mean, std (ddof=1), sem, median, min, max and range of one group's seeds; NaN notes."""
    n = len(x)
    note: list[str] = []
    if n == 0:
        note.append("no usable rows")
    elif n == 1:
        note.append("n=1: std, sem and CI undefined")
    row: dict[str, Any] = {"n": n, "mean": x.mean() if n else NAN, "std": x.std(ddof=1) if n > 1 else NAN}
    row["sem"] = row["std"] / math.sqrt(n) if n > 1 else NAN
    row["median"] = float(np.median(x)) if n else NAN
    row["min"] = x.min() if n else NAN
    row["max"] = x.max() if n else NAN
    row["range"] = row["max"] - row["min"]
    return row, note


def _seed0(g: pd.DataFrame, metric: str, has_seed: bool) -> tuple[float, list[str]]:
    """The metric of the group's trial with seed 0 (the mean of several), with a note when there is none."""
    if not has_seed:
        return NAN, ["no seed column: seed0 undefined"]
    if not len(g):
        return NAN, []
    at0 = g.loc[pd.to_numeric(g["seed"], errors="coerce") == 0, metric]
    if len(at0) == 1:
        return float(at0.iloc[0]), []
    if len(at0) > 1:
        return float(at0.mean()), [f"{len(at0)} trials with seed 0: seed0 is their mean"]
    return NAN, ["seed 0 not among the usable trials"]


def _mean_cis(rows: list[dict], arrays: list[np.ndarray], notes: list[list[str]], confidence: float,
              n_resamples: int, random_state: int | None) -> None:
    """The CI of each group's mean into its row: BCa from :data:`T_INTERVAL_BELOW` seeds (the
    groups bootstrapped in batches), Student t below; each row's notes joined into ``note``."""
    big = [i for i, x in enumerate(arrays) if len(x) >= T_INTERVAL_BELOW]
    low, high, ci_notes = bootstrap_cis([arrays[i] for i in big], None, confidence,
                                        n_resamples, random_state)
    boot = {i: (low[j], high[j], ci_notes[j]) for j, i in enumerate(big)}
    for i, (row, note) in enumerate(zip(rows, notes)):
        if i in boot:
            row["ci_low"], row["ci_high"], cn = boot[i]
            row["ci_method"] = "BCa"
            if cn:
                note.append(cn)
        else:
            row["ci_low"], row["ci_high"] = mean_t_interval(arrays[i], confidence)
            row["ci_method"] = "t" if row["n"] > 1 else ""
            if row["n"] > 1 and row["ci_low"] == row["ci_high"]:
                note.append("all values equal: the CI is a point")
        row["note"] = "; ".join(note)


def pooled_std(summary: pd.DataFrame) -> tuple[float, int]:
    """Pooled within-group std (ddof=1) of a :func:`summarize` table and its degrees of freedom.

    Why: a grid with a few seeds per cell still estimates the seed noise, pooled over cells.
    Returns (NaN, 0) when no group has two or more trials.
    """
    s = summary[(summary["n"] > 1) & summary["std"].notna()]
    dof = int((s["n"] - 1).sum())
    if dof == 0:
        return NAN, 0
    return float(math.sqrt(((s["n"] - 1) * s["std"] ** 2).sum() / dof)), dof


def lattice_step(rows: pd.DataFrame, metric: str) -> float | None:
    """100 / n_val for a percentage of the main validation set (top1, top5) when n_val is known
    and the same for every row; else None."""
    if metric not in ("top1", "top5") or "n_val" not in rows.columns or not len(rows):
        return None
    nval = pd.to_numeric(rows["n_val"], errors="coerce")
    if nval.isna().any() or nval.nunique() != 1 or nval.iloc[0] <= 0:
        return None
    return 100.0 / float(nval.iloc[0])


def normality(
    df: pd.DataFrame, by: By = None, metric: str = "top1", *, status: StatusSpec = TERMINATED,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`fit_gaussian` per group: one row per group with every field of GaussianFit.

    For ``top1``/``top5`` with an ``n_val`` column the lattice step 100 / n_val is passed on,
    so the verdict says when the metric's granularity is a sizeable fraction of the std and
    calibrates Shapiro-Wilk for it.
    """
    bys = as_list(by)
    require_columns(df, bys, "normality(by=...)")
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    rows = []
    for key in group_keys(df, bys):
        g = lookup(ug, key, usable)
        x = g[metric].to_numpy(dtype=float)
        ex = lookup(eg, key, excluded)
        row: dict[str, Any] = dict(zip(bys, key))
        row["metric"] = metric
        if len(x):
            row.update(fit_gaussian(x, alpha=alpha, step=lattice_step(g, metric)).to_dict())
        else:
            row.update(n=0, verdict="no usable trials", notes="no usable rows")
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- compare_all


# --------------------------------------------------------------------------- outliers

def outlier_seeds(
    df: pd.DataFrame,
    metric: str = "top1",
    z: float = 3.5,
    *,
    by: By = None,
    status: StatusSpec = TERMINATED,
) -> pd.DataFrame:
    """Robust z-score of every usable trial and whether it is an outlier seed.

    robust_z = (x − median) / (1.4826 · MAD) per group (scipy ``median_abs_deviation``,
    scale='normal'); when MAD is 0 the mean absolute deviation (× 1.2533) is used instead.
    ``p_gaussian`` is the two-sided tail probability of the seed's externally studentized
    residual (t with n − 2 df: the seed against a Gaussian fitted to the *other* seeds,
    statsmodels ``OLS(...).outlier_test``) and ``expected_count`` = n · p_gaussian, the number
    of seeds that extreme expected among n (Bonferroni). ``outlier`` needs all three:
    n ≥ :data:`analysis.stats.gaussian.OUTLIER_MIN_N`, |robust_z| > ``z`` (Iglewicz-Hoaglin) and
    expected_count < :data:`analysis.stats.gaussian.OUTLIER_MAX_EXPECTED`. Sorted by |robust_z|, largest
    first.
    """
    bys = as_list(by)
    require_columns(df, bys, "outlier_seeds(by=...)")
    usable, _ = split_usable(df, metric, status)
    id_cols = [c for c in ("trial_id", "seed") if c in df.columns]
    frames = []
    for key, g in grouped(usable, bys).items():
        x = g[metric].to_numpy(dtype=float)
        n = len(x)
        out = g[[*bys, *id_cols]].copy()
        out["value"] = x
        rz, p, flagged, note = flag_outliers(x, z)
        out["robust_z"] = rz
        out["p_gaussian"] = p
        out["expected_count"] = n * p
        out["outlier"] = flagged
        out["n"] = n
        out["note"] = note
        frames.append(out)
    if not frames:
        return pd.DataFrame(columns=[*bys, *id_cols, "value", "robust_z", "outlier", "p_gaussian",
                                     "expected_count", "n", "note"])
    res = pd.concat(frames, ignore_index=True)
    order = np.argsort(-np.nan_to_num(np.abs(res["robust_z"].to_numpy(dtype=float)), nan=-1),
                       kind="stable")
    return res.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- test-set noise


def expected_max_table(df: pd.DataFrame, by: By = None, metric: str = "top1", *,
                       status: StatusSpec = TERMINATED, replace: bool = False,
                       n: int | Sequence[int] | None = None) -> pd.DataFrame:
    """:func:`expected_max` per group of ``by`` (``by`` columns prepended)."""
    bys = as_list(by)
    require_columns(df, bys, "expected_max_table(by=...)")
    usable, _ = split_usable(df, metric, status)
    frames = []
    for key, g in grouped(usable, bys).items():
        e = expected_max(g[metric].to_numpy(dtype=float), n, replace=replace)
        for c, v in zip(bys, key):
            e.insert(bys.index(c), c, v)
        frames.append(e)
    if not frames:
        raise AnalysisError(f"expected_max_table: no usable trials with a finite {metric}.")
    return pd.concat(frames, ignore_index=True)
