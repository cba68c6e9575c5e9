"""Per-group wrappers over a results table: summaries, normality, comparisons with a baseline,
outlier seeds, test-set noise and expected best-of-n, one row per configuration.

Table-level functions use only rows with ``status == "TERMINATED"`` (``status=None``: all rows)
and a finite metric, and report how many rows of each group they excluded and why. The array
statistics they apply are in :mod:`analysis.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError, require_columns
from ..stats.arrays import N_RESAMPLES
from ..text.formatting import label
from ..text.verdicts import not_compared_sentence
from .frames import By, StatusSpec, as_list, describe_exclusions, group_keys, grouped, lookup, split_usable
from ..stats.bootstrap import _bootstrap_cis
from ..load.io import config_columns
from ..stats.comparison import (
    _batched_tests,
    _tests,
    comparison,
    holm,
    image_bootstrap_ci,
    smallest_holm,
)
from ..stats.gaussian import expected_max, fit_gaussian, flag_outliers

NAN = float("nan")

#: Below this many seeds the CI of a group mean is Student's t interval, never a bootstrap.
#: Why (measured, benchmarks/stats_calibration.py, 2 000 groups each): BCa's coverage of a
#: 95 % CI for Gaussian seeds is 0.73 at n=3, 0.83 at n=5, 0.90 at n=10 and 0.93 at n=20 (its
#: interval shrinks to the data range at n=3), while t covers 0.95 at every n; from 30 BCa
#: keeps 0.94 and matches t on skewed (log-normal) seeds.
T_INTERVAL_BELOW = 30


def mean_t_interval(x: np.ndarray, confidence: float = 0.95) -> tuple[Any, Any]:
    """Student t CI of the mean along the last axis (scipy ``t.ppf``); a point for equal values,
    NaN for fewer than 2 values."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    if n < 2:
        nan = np.full(x.shape[:-1], NAN)
        return (NAN, NAN) if x.ndim == 1 else (nan, nan)
    mean = x.mean(axis=-1)
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * stats.sem(x, axis=-1)
    lo, hi = mean - half, mean + half
    return (float(lo), float(hi)) if x.ndim == 1 else (lo, hi)


# --------------------------------------------------------------------------- summarize

def summarize(
    df: pd.DataFrame,
    by: By = None,
    metric: str | Sequence[str] = "top1",
    *,
    status: StatusSpec = "TERMINATED",
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
    has_seed = "seed" in df.columns
    rows, arrays, notes = [], [], []
    for key in group_keys(df, bys):
        g = lookup(ug, key, usable)
        ex = lookup(eg, key, excluded)
        x = g[metric].to_numpy(dtype=float)
        n = len(x)
        note: list[str] = []
        row: dict[str, Any] = dict(zip(bys, key))
        row["metric"] = metric
        row["n"] = n
        if n == 0:
            note.append("no usable rows")
        elif n == 1:
            note.append("n=1: std, sem and CI undefined")
        row["mean"] = x.mean() if n else NAN
        row["std"] = x.std(ddof=1) if n > 1 else NAN
        row["sem"] = row["std"] / math.sqrt(n) if n > 1 else NAN
        row["median"] = float(np.median(x)) if n else NAN
        row["min"] = x.min() if n else NAN
        row["max"] = x.max() if n else NAN
        row["range"] = row["max"] - row["min"]
        row["seed0"] = NAN
        if not has_seed:
            note.append("no seed column: seed0 undefined")
        elif n:
            at0 = g.loc[pd.to_numeric(g["seed"], errors="coerce") == 0, metric]
            if len(at0) == 1:
                row["seed0"] = float(at0.iloc[0])
            elif len(at0) > 1:
                row["seed0"] = float(at0.mean())
                note.append(f"{len(at0)} trials with seed 0: seed0 is their mean")
            else:
                note.append("seed 0 not among the usable trials")
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        rows.append(row)
        arrays.append(x)
        notes.append(note)
    big = [i for i, x in enumerate(arrays) if len(x) >= T_INTERVAL_BELOW]
    low, high, ci_notes = _bootstrap_cis([arrays[i] for i in big], None, confidence,
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
    cols = [*bys, "metric", "n", "mean", "std", "sem", "ci_low", "ci_high", "ci_method",
            "median", "min", "max", "range", "seed0", "n_excluded", "excluded", "note"]
    return pd.DataFrame(rows, columns=cols)


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
    df: pd.DataFrame, by: By = None, metric: str = "top1", *, status: StatusSpec = "TERMINATED",
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

def resolve_baseline(df: pd.DataFrame, by: Sequence[str], baseline: Any) -> tuple:
    """Turn a baseline spec into a group key of ``by``.

    Accepts a mapping ``{column: value}``, a tuple of values in ``by`` order, a single value
    when ``by`` has one column, or a string ``"col=value,col2=value"`` (values are converted
    to the column's type). Raises AnalysisError listing the groups when nothing matches.
    """
    bys = list(by)
    keys = group_keys(df, bys)
    if isinstance(baseline, str) and "=" in baseline:
        spec = {}
        for part in baseline.split(","):
            col, _, val = part.partition("=")
            spec[col.strip()] = val.strip()
        baseline = spec
    if isinstance(baseline, Mapping):
        unknown = [c for c in baseline if c not in bys]
        if unknown:
            raise AnalysisError(
                f"baseline names {', '.join(unknown)}, which are not among the compared "
                f"columns ({', '.join(bys)})."
            )
        matches = [k for k in keys if all(_same(k[bys.index(c)], v) for c, v in baseline.items())]
    else:
        want = baseline if isinstance(baseline, tuple) else (baseline,)
        if len(want) != len(bys):
            raise AnalysisError(f"baseline {baseline!r} must give one value per column of {bys}.")
        matches = [k for k in keys if all(_same(a, b) for a, b in zip(k, want))]
    if len(matches) != 1:
        avail = "; ".join(label(bys, k) for k in keys[:20])
        what = "matches no group" if not matches else f"matches {len(matches)} groups"
        raise AnalysisError(f"baseline {baseline!r} {what}; groups are: {avail}.")
    return matches[0]


def _same(value: Any, spec: Any) -> bool:
    if isinstance(spec, str) and not isinstance(value, str):
        try:
            return bool(np.isclose(float(spec), float(value)))
        except (TypeError, ValueError):
            return str(value) == spec
    if isinstance(value, float | np.floating) and isinstance(spec, int | float | np.number):
        return bool(np.isclose(value, spec))
    return bool(value == spec)


def default_baseline(summary: pd.DataFrame, by: Sequence[str]) -> tuple:
    """The group with the most usable trials (first in sorted order on ties)."""
    s = summary.reset_index(drop=True)
    i = int(s["n"].to_numpy().argmax())
    return tuple(s.loc[i, list(by)])


def compare_all(
    df: pd.DataFrame,
    baseline: Any,
    by: By = None,
    metric: str = "top1",
    *,
    status: StatusSpec = "TERMINATED",
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
    predictions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare every group of ``by`` (default: the configuration columns that vary) with ``baseline``.

    One row per non-baseline group with the fields of :class:`~analysis.Comparison` plus
    Holm-adjusted p-values (``welch_p_holm``, ``mwu_p_holm``, ``pab_p_holm``, statsmodels
    ``multipletests``). ``verdict``/``significant``/``meaningful`` use the Holm-adjusted
    Mann-Whitney p (exact below 10 seeds per arm), so the family-wise error over all
    comparisons stays at 1 − ``confidence``; ``not_resolvable`` when even complete separation
    could not reach it. ``predictions`` (the per-image table, :func:`analysis.load_predictions`)
    adds the paired image-bootstrap CI of each difference (``test_diff_ci_low``/``_high``) and
    ``test_set_verdict``. Groups with < 2 seeds get NaN and a ``note``. See
    :func:`resolve_baseline` for the accepted baseline forms.
    """
    bys = as_list(by) or config_columns(df)
    if not bys:
        raise AnalysisError("compare_all: the table has a single configuration; nothing to compare.")
    require_columns(df, bys, "compare_all(by=...)")
    key0 = resolve_baseline(df, bys, baseline)
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    base_rows = lookup(ug, key0, usable)
    if len(base_rows) < 2:
        raise AnalysisError(
            f"baseline {label(bys, key0)} has {len(base_rows)} usable trial(s); comparisons need "
            "at least 2."
        )
    keys = [k for k in group_keys(df, bys) if k != key0]
    arms = [Arm(lookup(ug, k, usable), base_rows, label(bys, k), label(bys, key0),
                dict(zip(bys, k)), lookup(eg, k, excluded)) for k in keys]
    return compare_arms(arms, bys, metric, gamma=gamma, confidence=confidence,
                        n_resamples=n_resamples, random_state=random_state,
                        predictions=predictions)


@dataclass(frozen=True)
class Arm:
    """One comparison of a family: rows of A and B, their names, key columns, A's excluded rows."""

    a: pd.DataFrame
    b: pd.DataFrame
    name_a: str
    name_b: str
    key: dict[str, Any]
    excluded: pd.DataFrame


COMPARISON_COLUMNS = (
    "metric", "name_a", "name_b", "n_a", "n_b", "mean_a", "mean_b", "diff", "diff_ci_low",
    "diff_ci_high", "test_diff_ci_low", "test_diff_ci_high", "welch_t", "welch_p", "welch_p_holm",
    "mwu_u", "mwu_p", "mwu_method", "mwu_p_holm", "p_min", "p_min_decision", "p_a_gt_b",
    "pab_ci_low", "pab_ci_high", "pab_p", "pab_p_holm", "cohen_d", "gamma", "confidence",
    "p_decision", "significant", "meaningful", "better", "verdict", "test_set_verdict",
    "sentence", "notes", "n_excluded", "excluded",
)


def compare_arms(
    arms: Sequence[Arm], key_columns: Sequence[str], metric: str = "top1", *,
    gamma: float = 0.75, confidence: float = 0.95, n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0, predictions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One Holm family of comparisons (A against B per :class:`Arm`): one row per arm.

    The shared engine of :func:`compare_all` and :func:`analysis.grid.compare_within`.
    """
    xs = [arm.a[metric].to_numpy(dtype=float) for arm in arms]
    ys = [arm.b[metric].to_numpy(dtype=float) for arm in arms]
    lo, hi, cnotes = np.full(len(arms), NAN), np.full(len(arms), NAN), [""] * len(arms)
    by_base: dict[int, list[int]] = {}
    for i, arm in enumerate(arms):  # arms sharing a B are bootstrapped in one batch
        by_base.setdefault(id(arm.b), []).append(i)
    tests: list[Any] = [None] * len(arms)
    for idx in by_base.values():
        y = ys[idx[0]]
        ok = [i for i in idx if len(xs[i]) >= 2 and len(y) >= 2]
        if not ok:
            continue
        l, h, c = _bootstrap_cis([xs[i] for i in ok], y, confidence, n_resamples, random_state)
        pre = _batched_tests([xs[i] for i in ok], y)
        for j, i in enumerate(ok):
            lo[i], hi[i], cnotes[i] = l[j], h[j], c[j]
            tests[i] = _tests(xs[i], y, confidence, pre[j])
    holm_p = {col: holm(np.array([t[0][col] if t else NAN for t in tests]))
              for col in ("welch_p", "mwu_p", "pab_p")}
    p_min = smallest_holm(np.array([t[0]["p_min"] if t else NAN for t in tests]))
    m = sum(t is not None for t in tests)
    noise = _TestSetNoise(predictions, confidence, n_resamples, random_state)
    rows: list[dict[str, Any]] = []
    for i, arm in enumerate(arms):
        x, y = xs[i], ys[i]
        row: dict[str, Any] = dict(arm.key)
        row["metric"] = metric
        if tests[i] is None:
            row.update(n_a=len(x), n_b=len(y), mean_a=x.mean() if len(x) else NAN,
                       mean_b=y.mean() if len(y) else NAN, name_a=arm.name_a,
                       name_b=arm.name_b, significant=False, meaningful=False, better=None,
                       verdict=None, notes=f"n={min(len(x), len(y))}: cannot compare (needs "
                                           "≥ 2 seeds per arm)",
                       sentence=not_compared_sentence(arm.name_a, arm.name_b, len(x), len(y)))
        else:
            n_val = _n_val(arm.a, arm.b)
            r = comparison(x, y, float(lo[i]), float(hi[i]), cnotes[i], arm.name_a, arm.name_b,
                           gamma, confidence, metric, tests=tests[i],
                           p_decision=holm_p["mwu_p"][i], p_min_decision=p_min[i], m=m,
                           test_ci=noise.ci(arm.a, arm.b) if metric == "top1" else (NAN, NAN),
                           n_val=n_val)
            row.update(r.to_dict())
        row["welch_p_holm"] = holm_p["welch_p"][i]
        row["mwu_p_holm"] = holm_p["mwu_p"][i]
        row["pab_p_holm"] = holm_p["pab_p"][i]
        row["n_excluded"] = len(arm.excluded)
        row["excluded"] = (describe_exclusions(arm.excluded["reason"]) if len(arm.excluded)
                           else "")
        rows.append(row)
    return pd.DataFrame(rows, columns=[*key_columns, *COMPARISON_COLUMNS])


def _n_val(a: pd.DataFrame, b: pd.DataFrame) -> float | None:
    if "n_val" not in a.columns or "n_val" not in b.columns:
        return None
    v = pd.to_numeric(pd.concat([a["n_val"], b["n_val"]]), errors="coerce")
    return float(v.mean()) if v.notna().all() and (v > 0).all() else None


class _TestSetNoise:
    """Paired image-bootstrap CIs of differences, from a predictions table (or NaN without one).

    Each trial is scored on its own evaluation (main set ``val``, its own crop_pct/test_res when
    the predictions carry several).
    """

    def __init__(self, predictions, confidence, n_resamples, random_state):
        self.pred = None
        if predictions is not None and len(predictions):
            self.pred = predictions[predictions["eval_set"].astype(str) == "val"]
        self.kw = dict(confidence=confidence, n_resamples=n_resamples, random_state=random_state)

    def _matrix(self, rows: pd.DataFrame) -> pd.DataFrame | None:
        from ..load.predictions import correctness_matrix

        own = self.pred[self.pred["trial_id"].isin(rows["trial_id"])]
        for col in ("crop_pct", "test_res"):
            if col in rows.columns and own[col].nunique() > 1:
                want = rows.set_index("trial_id")[col]
                own = own[np.isclose(own[col].to_numpy(dtype=float),
                                     own["trial_id"].map(want).to_numpy(dtype=float))]
        if own["trial_id"].nunique() != rows["trial_id"].nunique():
            return None
        return correctness_matrix(own)

    def ci(self, a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
        if self.pred is None or "trial_id" not in a.columns:
            return NAN, NAN
        ma, mb = self._matrix(a), self._matrix(b)
        if ma is None or mb is None:
            return NAN, NAN
        return image_bootstrap_ci(ma, mb, **self.kw)


# --------------------------------------------------------------------------- outliers

def outlier_seeds(
    df: pd.DataFrame,
    metric: str = "top1",
    z: float = 3.5,
    *,
    by: By = None,
    status: StatusSpec = "TERMINATED",
) -> pd.DataFrame:
    """Robust z-score of every usable trial and whether it is an outlier seed.

    robust_z = (x − median) / (1.4826 · MAD) per group (scipy ``median_abs_deviation``,
    scale='normal'); when MAD is 0 the mean absolute deviation (× 1.2533) is used instead.
    ``p_gaussian`` is the two-sided tail probability of the seed's externally studentized
    residual (t with n − 2 df: the seed against a Gaussian fitted to the *other* seeds,
    statsmodels ``OLS(...).outlier_test``) and ``expected_count`` = n · p_gaussian, the number
    of seeds that extreme expected among n (Bonferroni). ``outlier`` needs all three:
    n ≥ :data:`analysis.stats.OUTLIER_MIN_N`, |robust_z| > ``z`` (Iglewicz-Hoaglin) and
    expected_count < :data:`analysis.stats.OUTLIER_MAX_EXPECTED`. Sorted by |robust_z|, largest
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

def test_set_noise(
    df: pd.DataFrame,
    metric: str = "top1",
    *,
    by: By = None,
    status: StatusSpec = "TERMINATED",
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
        x = g[metric].to_numpy(dtype=float)
        nval = pd.to_numeric(g["n_val"], errors="coerce").to_numpy(dtype=float)
        n = len(x)
        note = []
        row: dict[str, Any] = dict(zip(bys, key))
        row.update(metric=metric, n=n)
        p = x.mean() / 100 if n else NAN
        if n and not np.all(np.isfinite(nval) & (nval > 0)):
            note.append("n_val missing or zero: binomial std undefined")
            bvar = NAN
        elif n:
            if n > 0 and not np.all((0 <= x) & (x <= 100)):
                note.append(f"{metric} outside [0, 100]: not a percentage")
            bvar = float(np.mean(p * (1 - p) / nval)) * 100**2
            if np.ptp(nval) > 0:
                note.append("n_val differs between trials: mean binomial variance used")
        else:
            bvar = NAN
            note.append("no usable rows")
        row["n_val"] = float(np.mean(nval)) if n else NAN
        row["mean"] = x.mean() if n else NAN
        row["binomial_std"] = math.sqrt(bvar) if math.isfinite(bvar) else NAN
        if n > 1:
            var = float(x.var(ddof=1))
            lo_q, hi_q = stats.chi2.ppf([(1 + confidence) / 2, (1 - confidence) / 2], n - 1)
            row["observed_std"] = math.sqrt(var)
            row["observed_std_ci_low"] = math.sqrt((n - 1) * var / lo_q)
            row["observed_std_ci_high"] = math.sqrt((n - 1) * var / hi_q)
            if var > 0:
                row["share_of_variance"] = bvar / var
            else:
                row["share_of_variance"] = NAN
                note.append("observed std is 0: share undefined")
        else:
            row.update(observed_std=NAN, observed_std_ci_low=NAN, observed_std_ci_high=NAN,
                       share_of_variance=NAN)
            if n == 1:
                note.append("n=1: observed std undefined")
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        row["note"] = "; ".join(note)
        rows.append(row)
    return pd.DataFrame(rows)


def expected_max_table(df: pd.DataFrame, by: By = None, metric: str = "top1", *,
                       status: StatusSpec = "TERMINATED", replace: bool = False,
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
