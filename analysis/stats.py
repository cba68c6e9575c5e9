"""Seed statistics: summaries, Gaussian fits, two-sample comparisons, sample sizes, outliers,
test-set noise and expected best-of-n.

Conventions (scipy.stats / rliable style): arrays or a results DataFrame in, a dataclass or a
DataFrame out; every estimate that cannot be computed is NaN *with a reason* in ``notes`` /
``note``; bad input raises :class:`~analysis.AnalysisError` with a message that says what to do.
Table-level functions use only rows with ``status == "TERMINATED"`` (``status=None``: all rows)
and a finite metric, and report how many rows of each group they excluded and why.
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.nonparametric import rank_compare_2indep
from statsmodels.stats.power import TTestIndPower

from ._common import (
    N_RESAMPLES,
    fmt_p,
    AnalysisError,
    By,
    StatusSpec,
    as_list,
    check_values,
    describe_exclusions,
    group_keys,
    grouped,
    label,
    lookup,
    require_columns,
    rng_kwargs,
    split_usable,
)
from .io import config_columns

NAN = float("nan")
# Elements gathered per scipy.stats.bootstrap call. Groups of equal size are bootstrapped
# together, which gives bit-for-bit the per-group result (scipy draws the same resample indices
# for every slice, and _row_mean reduces each slice alone). Measured on 2 cores: a few groups per
# call pays for one-sample CIs; for the two-sample difference one group per call is fastest.
_CHUNK_ELEMENTS = 3_000_000
_CHUNK_ELEMENTS_2SAMPLE = 1_000_000


# --------------------------------------------------------------------------- bootstrap

def _row_mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """np.mean along ``axis``, always reduced as a 2-D (rows × values) array.

    Why: numpy sums a 3-D batch of resamples in a different order than a 2-D one, so batched
    means differ in the last bits; with tied resample means that flips BCa's bias correction.
    Reducing 2-D rows makes every group's result bit-identical to its own scipy call.
    """
    x = np.moveaxis(np.asarray(x), axis, -1)
    if x.ndim <= 2:
        return np.mean(x, axis=-1)
    # scipy's resamples of a (groups × n) block are laid out (B, n, groups): reduce each group
    # as its own 2-D view (no copy of the whole block)
    lead = x.shape[:-2]
    flat = x.reshape(-1, *x.shape[-2:]) if len(lead) > 1 else x
    return np.stack([np.mean(v, axis=-1) for v in flat]).reshape(x.shape[:-1])


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return _row_mean(x, axis) - _row_mean(y, axis)


def _bootstrap_cis(
    arrays: Sequence[np.ndarray],
    other: np.ndarray | None,
    confidence: float,
    n_resamples: int,
    random_state: int | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """BCa bootstrap CIs of mean(a) (``other`` None) or mean(a) − mean(other), per array.

    Every array gets exactly the CI of ``scipy.stats.bootstrap((a,), np.mean, rng=random_state)``
    (or of the two-sample mean difference); arrays of equal length are batched for speed.
    Returns (low, high, notes) with a note for every CI that is NaN or degenerate.
    """
    k = len(arrays)
    low = np.full(k, NAN)
    high = np.full(k, NAN)
    notes = [""] * k
    todo: dict[int, list[int]] = {}
    other_const = other is not None and np.ptp(other) == 0
    for i, a in enumerate(arrays):
        if len(a) < 2 or (other is not None and len(other) < 2):
            notes[i] = "bootstrap CI needs n ≥ 2"
        elif np.ptp(a) == 0 and (other is None or other_const):
            value = a[0] if other is None else a[0] - other[0]
            low[i] = high[i] = value
            notes[i] = "all values equal: the CI is a point"
        else:
            todo.setdefault(len(a), []).append(i)
    for n, idx in todo.items():
        per_group = n * n_resamples + (0 if other is None else len(other) * n_resamples)
        budget = _CHUNK_ELEMENTS if other is None else _CHUNK_ELEMENTS_2SAMPLE
        chunk = max(1, budget // per_group)
        for s in range(0, len(idx), chunk):
            part = idx[s:s + chunk]
            block = np.stack([arrays[i] for i in part])
            lo, hi, bad = _bootstrap_call(block, other, confidence, n_resamples, random_state)
            low[part], high[part] = lo, hi
            for j, i in enumerate(part):
                if bad[j]:
                    notes[i] = bad[j]
    return low, high, notes


def _bootstrap_call(block, other, confidence, n_resamples, random_state):
    """One scipy.stats.bootstrap call on a (groups × n) block; falls back to percentile for NaN."""
    def run(method: str):
        if other is None:
            data, stat = (block,), _row_mean
        else:
            data, stat = (block, np.broadcast_to(other, (len(block), len(other)))), _mean_diff
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                data, stat, n_resamples=n_resamples, confidence_level=confidence,
                method=method, axis=-1, vectorized=True, **rng_kwargs(random_state),
            )
        ci = res.confidence_interval
        return np.atleast_1d(ci.low).astype(float), np.atleast_1d(ci.high).astype(float)

    lo, hi = run("BCa")
    bad = [""] * len(block)
    nan = ~(np.isfinite(lo) & np.isfinite(hi))
    if nan.any():
        plo, phi = run("percentile")
        lo = np.where(nan, plo, lo)
        hi = np.where(nan, phi, hi)
        for j in np.flatnonzero(nan):
            bad[j] = "BCa undefined for these values (too few distinct resamples): percentile CI"
    return lo, hi, bad


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
    ``ci_low``/``ci_high`` (BCa bootstrap CI of the mean, scipy, fixed ``random_state``),
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
    low, high, ci_notes = _bootstrap_cis(arrays, None, confidence, n_resamples, random_state)
    for row, lo, hi, cn, note in zip(rows, low, high, ci_notes, notes):
        row["ci_low"], row["ci_high"] = lo, hi
        if cn and row["n"] > 1:
            note.append(cn)
        row["note"] = "; ".join(note)
    cols = [*bys, "metric", "n", "mean", "std", "sem", "ci_low", "ci_high", "median", "min",
            "max", "range", "seed0", "n_excluded", "excluded", "note"]
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


# --------------------------------------------------------------------------- Gaussian fit

@dataclass(frozen=True)
class GaussianFit:
    """Result of :func:`fit_gaussian`. NaN fields are explained in ``notes``."""

    n: int
    mean: float
    std: float            # ddof=1
    std_mle: float        # ddof=0, the maximum-likelihood estimate
    shapiro_w: float
    shapiro_p: float
    normaltest_k2: float  # D'Agostino-Pearson K², n >= 8
    normaltest_p: float
    ks_d: float           # Kolmogorov-Smirnov against N(mean, std_mle)
    ks_p: float
    skewness: float       # scipy.stats.skew (biased, Fisher-Pearson)
    excess_kurtosis: float  # scipy.stats.kurtosis (Fisher: 0 for a Gaussian, biased)
    verdict: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (notes joined into one string), e.g. for a DataFrame row or JSON."""
        d = asdict(self)
        d["notes"] = "; ".join(self.notes)
        return d


def fit_gaussian(values: Any, *, alpha: float = 0.05, nan_policy: str = "raise") -> GaussianFit:
    """Fit a Gaussian to seed results and test how well it fits.

    Shapiro-Wilk (n ≥ 3) is the primary test; D'Agostino K² needs n ≥ 8; the KS p-value is
    conservative because mean and std are estimated from the same values (Lilliefors).
    ``verdict`` is one plain sentence, e.g. "consistent with a Gaussian (Shapiro-Wilk p=0.43, n=100)".
    """
    x = check_values(values, nan_policy)
    n = x.size
    if n == 0:
        raise AnalysisError("fit_gaussian needs at least one value.")
    notes: list[str] = []
    mean = float(x.mean())
    std_mle = float(x.std(ddof=0))
    std = float(x.std(ddof=1)) if n > 1 else NAN
    sw = sp = k2 = kp = ksd = ksp = skew = kurt = NAN
    if n < 3:
        notes.append(f"n={n}: normality tests need n ≥ 3")
    elif np.ptp(x) == 0:
        notes.append("all values equal: no spread, normality tests undefined")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sw, sp = (float(v) for v in stats.shapiro(x))
            ksd, ksp = (float(v) for v in stats.kstest(x, "norm", args=(mean, std_mle)))
            skew = float(stats.skew(x))
            kurt = float(stats.kurtosis(x))
            if n >= 8:
                k2, kp = (float(v) for v in stats.normaltest(x))
                if n < 20:
                    notes.append("n < 20: the K² p-value is approximate")
            else:
                notes.append("D'Agostino K² needs n ≥ 8")
        notes.append("KS p is conservative (parameters fitted on the same values)")
    verdict = _gaussian_verdict(n, x, sp, skew, kurt, alpha)
    return GaussianFit(n, mean, std, std_mle, sw, sp, k2, kp, ksd, ksp, skew, kurt, verdict,
                       tuple(notes))


def _gaussian_verdict(n, x, shapiro_p, skew, kurt, alpha) -> str:
    if n < 3:
        return f"too few seeds (n={n}) to test normality"
    if np.ptp(x) == 0:
        return f"all {n} values are equal ({x[0]:.4g}): there is no spread to fit"
    small = "; few seeds, so the test has little power" if n < 20 else ""
    if shapiro_p >= alpha:
        return (f"consistent with a Gaussian (Shapiro-Wilk p={fmt_p(shapiro_p)}, n={n}, "
                f"skewness {skew:.2f}, excess kurtosis {kurt:.2f}{small})")
    shape = []
    if abs(skew) >= 0.5:
        shape.append(f"{'left' if skew < 0 else 'right'}-skewed (skewness {skew:.2f})")
    if kurt >= 1:
        shape.append(f"heavy-tailed (excess kurtosis {kurt:.2f})")
    elif kurt <= -1:
        shape.append(f"light-tailed (excess kurtosis {kurt:.2f})")
    how = ", " + " and ".join(shape) if shape else ""
    return f"not Gaussian (Shapiro-Wilk p={fmt_p(shapiro_p)}, n={n}){how}"


def normality(
    df: pd.DataFrame, by: By = None, metric: str = "top1", *, status: StatusSpec = "TERMINATED",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`fit_gaussian` per group: one row per group with every field of GaussianFit."""
    bys = as_list(by)
    require_columns(df, bys, "normality(by=...)")
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    rows = []
    for key in group_keys(df, bys):
        x = lookup(ug, key, usable)[metric].to_numpy(dtype=float)
        ex = lookup(eg, key, excluded)
        row: dict[str, Any] = dict(zip(bys, key))
        row["metric"] = metric
        if len(x):
            row.update(fit_gaussian(x, alpha=alpha).to_dict())
        else:
            row.update(n=0, verdict="no usable trials", notes="no usable rows")
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- compare

@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare` (A against B; positive ``diff`` means A is higher)."""

    name_a: str
    name_b: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float              # mean_a - mean_b
    diff_ci_low: float       # BCa bootstrap CI of the difference
    diff_ci_high: float
    welch_t: float           # scipy.stats.ttest_ind(equal_var=False)
    welch_p: float
    mwu_u: float             # scipy.stats.mannwhitneyu, two-sided
    mwu_p: float
    p_a_gt_b: float          # P(A>B) + 0.5 P(A=B), statsmodels rank_compare_2indep
    pab_ci_low: float        # Brunner-Munzel CI of P(A>B)
    pab_ci_high: float
    pab_p: float             # Brunner-Munzel p-value of P(A>B) = 0.5
    cohen_d: float           # pooled-std (ddof=1) standardised difference
    gamma: float
    confidence: float
    significant: bool        # P(A>B) differs from 0.5 at level 1 - confidence
    meaningful: bool         # significant and max(P, 1-P) >= gamma (Bouthillier et al. 2021)
    better: str | None       # name of the better arm when significant, else None
    sentence: str
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (notes joined into one string)."""
        d = asdict(self)
        d["notes"] = "; ".join(self.notes)
        return d


def _tests(a: np.ndarray, b: np.ndarray, confidence: float,
           pre: Mapping[str, float] | None = None) -> tuple[dict[str, float], list[str]]:
    """Welch t, Mann-Whitney U, Brunner-Munzel P(A>B) and Cohen's d; notes for NaN results.

    ``pre`` may carry welch_t/welch_p/mwu_u/mwu_p already computed by :func:`_batched_tests`.
    """
    notes: list[str] = []
    out: dict[str, float] = dict(pre or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "welch_p" not in out:
            t = stats.ttest_ind(a, b, equal_var=False)
            out["welch_t"], out["welch_p"] = float(t.statistic), float(t.pvalue)
            u = stats.mannwhitneyu(a, b, alternative="two-sided")
            out["mwu_u"], out["mwu_p"] = float(u.statistic), float(u.pvalue)
        rc = rank_compare_2indep(a, b)
        out["p_a_gt_b"] = float(rc.prob1)
        lo, hi = rc.conf_int(alpha=1 - confidence)
        out["pab_ci_low"], out["pab_ci_high"] = float(lo), float(hi)
        out["pab_p"] = float(rc.pvalue)
    if not math.isfinite(out["welch_p"]):
        notes.append("Welch t undefined: both arms have zero spread")
    if not math.isfinite(out["pab_p"]):
        if np.ptp(np.concatenate([a, b])) == 0:
            notes.append("all values equal: P(A>B)=0.5 exactly, no CI")
        else:
            notes.append("complete separation: Brunner-Munzel CI undefined, "
                         "significance from the Mann-Whitney p")
    na, nb = len(a), len(b)
    pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled > 0:
        out["cohen_d"] = float((a.mean() - b.mean()) / pooled)
    else:
        out["cohen_d"] = NAN
        notes.append("Cohen's d undefined: zero pooled std")
    return out, notes


def _batched_tests(arrays: Sequence[np.ndarray], b: np.ndarray) -> list[dict[str, float]]:
    """Welch t and Mann-Whitney U of every array against ``b``, one scipy call per array size.

    scipy's tests are vectorised along the other axes, so this equals the per-array calls. Only
    arms of more than 8 values are batched: below that mannwhitneyu may pick its exact method,
    and it decides on ties for the whole batch, not per array.
    """
    out: list[dict[str, float]] = [{} for _ in arrays]
    sizes: dict[int, list[int]] = {}
    if len(b) <= 8:
        return out
    for i, a in enumerate(arrays):
        if len(a) > 8:
            sizes.setdefault(len(a), []).append(i)
    for idx in sizes.values():
        block = np.stack([arrays[i] for i in idx])
        bb = np.broadcast_to(b, (len(idx), len(b)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = stats.ttest_ind(block, bb, axis=-1, equal_var=False)
            u = stats.mannwhitneyu(block, bb, axis=-1, alternative="two-sided")
        for j, i in enumerate(idx):
            out[i] = {"welch_t": float(t.statistic[j]), "welch_p": float(t.pvalue[j]),
                      "mwu_u": float(u.statistic[j]), "mwu_p": float(u.pvalue[j])}
    return out


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels multipletests) of the finite entries; NaN stay NaN."""
    adj = np.full(len(p), NAN)
    ok = np.isfinite(p)
    if ok.any():
        # multipletests(method="holm") calls gc.collect(), ~0.1 s with pandas and scipy
        # loaded; freezing the current objects makes that collection nearly free.
        gc.freeze()
        try:
            adj[ok] = multipletests(p[ok], method="holm")[1]
        finally:
            gc.unfreeze()
    return adj


def _decide(t: Mapping[str, float], gamma: float, alpha: float, pab_p: float, mwu_p: float):
    """(significant, meaningful, better-is-A) from P(A>B) and the p-values to use."""
    p = t["p_a_gt_b"]
    if math.isfinite(pab_p):
        significant = pab_p < alpha
    elif math.isfinite(mwu_p) and p in (0.0, 1.0):  # complete separation
        significant = mwu_p < alpha
    else:
        significant = False
    meaningful = significant and max(p, 1 - p) >= gamma
    return significant, meaningful, p > 0.5


def _sentence(name_a, name_b, na, nb, diff, t, significant, meaningful, gamma, metric) -> str:
    mag = f"{abs(diff):.2f}-point"
    word = "gain" if diff > 0 else "loss" if diff < 0 else "difference"
    p, lo, hi = t["p_a_gt_b"], t["pab_ci_low"], t["pab_ci_high"]
    ci = f" [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) else ""
    pab = f"P(A>B)={p:.2f}{ci}"
    seeds = f"{na} vs {nb} seeds"
    what = f"{metric} " if metric != "top1" else ""
    if meaningful:
        verb = "beats" if p > 0.5 else "is worse than"
        bound = f"≥ γ={gamma:g}" if p > 0.5 else f"≤ 1−γ={1 - gamma:g}"
        return (f"{name_a} {verb} {name_b}: the {mag} {what}{word} is beyond seed noise and "
                f"meaningful, {pab} {bound} ({seeds}).")
    if significant:
        return (f"The {mag} {what}{word} of {name_a} over {name_b} is detectable but not "
                f"meaningful: {pab} differs from 0.5 but not by γ={gamma:g} ({seeds}).")
    return f"The {mag} {what}{word} of {name_a} over {name_b} is within seed noise: {pab} ({seeds})."


def compare(
    a: Any,
    b: Any,
    *,
    name_a: str = "A",
    name_b: str = "B",
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
    nan_policy: str = "raise",
    metric: str = "top1",
) -> Comparison:
    """Compare the seed results of A and B (arrays of the metric, one value per seed).

    Mean difference with a BCa bootstrap CI, Welch's t, Mann-Whitney U, P(A>B) with its
    Brunner-Munzel CI, and Cohen's d. The difference is *meaningful* (Bouthillier et al. 2021)
    when the CI of P(A>B) excludes 0.5 and max(P(A>B), 1−P(A>B)) ≥ ``gamma``.
    """
    x = check_values(a, nan_policy, f"values of {name_a}")
    y = check_values(b, nan_policy, f"values of {name_b}")
    if len(x) < 2 or len(y) < 2:
        raise AnalysisError(
            f"compare needs at least 2 seeds per arm (got {name_a}: {len(x)}, {name_b}: {len(y)})."
        )
    lo, hi, cnote = _bootstrap_cis([x], y, confidence, n_resamples, random_state)
    return _comparison(x, y, float(lo[0]), float(hi[0]), cnote[0], name_a, name_b, gamma,
                       confidence, metric)


def _comparison(x, y, lo, hi, cnote, name_a, name_b, gamma, confidence, metric,
                tests=None, pab_p=None, mwu_p=None) -> Comparison:
    t, notes = tests if tests is not None else _tests(x, y, confidence)
    notes = list(notes)
    if cnote:
        notes.insert(0, "difference CI: " + cnote)
    pp = t["pab_p"] if pab_p is None else pab_p
    mp = t["mwu_p"] if mwu_p is None else mwu_p
    significant, meaningful, a_better = _decide(t, gamma, 1 - confidence, pp, mp)
    diff = float(x.mean() - y.mean())
    sentence = _sentence(name_a, name_b, len(x), len(y), diff, t, significant, meaningful, gamma,
                         metric)
    better = (name_a if a_better else name_b) if significant else None
    return Comparison(
        name_a, name_b, len(x), len(y), float(x.mean()), float(y.mean()), diff, lo, hi,
        t["welch_t"], t["welch_p"], t["mwu_u"], t["mwu_p"], t["p_a_gt_b"], t["pab_ci_low"],
        t["pab_ci_high"], t["pab_p"], t["cohen_d"], gamma, confidence, bool(significant),
        bool(meaningful), better, sentence, tuple(notes),
    )


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
) -> pd.DataFrame:
    """Compare every group of ``by`` (default: the configuration columns that vary) with ``baseline``.

    One row per non-baseline group with the fields of :class:`Comparison` plus Holm-adjusted
    p-values (``welch_p_holm``, ``mwu_p_holm``, ``pab_p_holm``, statsmodels ``multipletests``).
    ``significant``/``meaningful`` use the Holm-adjusted Brunner-Munzel p, so the family-wise
    error over all comparisons stays at 1 − ``confidence``. Groups with < 2 seeds get NaN and a
    ``note``. See :func:`resolve_baseline` for the accepted baseline forms.
    """
    bys = as_list(by) or config_columns(df)
    if not bys:
        raise AnalysisError("compare_all: the table has a single configuration; nothing to compare.")
    require_columns(df, bys, "compare_all(by=...)")
    key0 = resolve_baseline(df, bys, baseline)
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    base = lookup(ug, key0, usable)[metric].to_numpy(dtype=float)
    name_b = label(bys, key0)
    if len(base) < 2:
        raise AnalysisError(
            f"baseline {name_b} has {len(base)} usable trial(s); comparisons need at least 2."
        )
    keys = [k for k in group_keys(df, bys) if k != key0]
    arrays = [lookup(ug, k, usable)[metric].to_numpy(dtype=float) for k in keys]
    lo, hi, cnotes = _bootstrap_cis(arrays, base, confidence, n_resamples, random_state)
    pre = _batched_tests(arrays, base)
    tests = [_tests(x, base, confidence, pre[i]) if len(x) >= 2 else None
             for i, x in enumerate(arrays)]
    holm = {col: _holm(np.array([t[0][col] if t else NAN for t in tests]))
            for col in ("welch_p", "mwu_p", "pab_p")}
    rows: list[dict[str, Any]] = []
    for i, (k, x) in enumerate(zip(keys, arrays)):
        ex = lookup(eg, k, excluded)
        row: dict[str, Any] = dict(zip(bys, k))
        row["metric"] = metric
        if tests[i] is None:
            row.update(n_a=len(x), n_b=len(base), mean_a=x.mean() if len(x) else NAN,
                       mean_b=base.mean(), name_a=label(bys, k), name_b=name_b,
                       significant=False, meaningful=False, better=None,
                       notes=f"n={len(x)}: cannot compare (needs ≥ 2 seeds)",
                       sentence=f"{label(bys, k)} has {len(x)} usable seed(s): it cannot be "
                                f"compared with {name_b}.")
        else:
            r = _comparison(x, base, float(lo[i]), float(hi[i]), cnotes[i], label(bys, k),
                            name_b, gamma, confidence, metric, tests=tests[i],
                            pab_p=holm["pab_p"][i], mwu_p=holm["mwu_p"][i])
            row.update(r.to_dict())
        row["welch_p_holm"] = holm["welch_p"][i]
        row["mwu_p_holm"] = holm["mwu_p"][i]
        row["pab_p_holm"] = holm["pab_p"][i]
        row["n_excluded"] = len(ex)
        row["excluded"] = describe_exclusions(ex["reason"]) if len(ex) else ""
        rows.append(row)
    cols = [*bys, "metric", "name_a", "name_b", "n_a", "n_b", "mean_a", "mean_b", "diff",
            "diff_ci_low", "diff_ci_high", "welch_t", "welch_p", "welch_p_holm", "mwu_u", "mwu_p",
            "mwu_p_holm", "p_a_gt_b", "pab_ci_low", "pab_ci_high", "pab_p", "pab_p_holm",
            "cohen_d", "gamma", "confidence", "significant", "meaningful", "better", "sentence",
            "notes", "n_excluded", "excluded"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- sample sizes

def seeds_needed(std: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Seeds per arm for a two-sided two-sample t-test to detect a ``delta`` difference.

    ``std`` is the seed std (same units as ``delta``); statsmodels TTestIndPower, rounded up,
    at least 2.
    """
    if not (math.isfinite(std) and std > 0):
        raise AnalysisError(f"seeds_needed: std must be a positive number, got {std!r}.")
    if not (math.isfinite(delta) and delta > 0):
        raise AnalysisError(f"seeds_needed: delta must be a positive number, got {delta!r}.")
    d = delta / std
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=1.0,
                                        alternative="two-sided")
    n = float(np.asarray(n).item())
    if not math.isfinite(n) or n < 2:
        n = 2.0
    n = math.ceil(n - 1e-9)
    # solve_power is a root-finder; make sure the rounded n really reaches the power.
    analysis = TTestIndPower()
    while n > 2 and analysis.power(d, n - 1, alpha, ratio=1.0) >= power:
        n -= 1
    while analysis.power(d, n, alpha, ratio=1.0) < power:
        n += 1
    return int(n)


def seeds_needed_for_p(gamma: float = 0.75, alpha: float = 0.05, power: float = 0.95) -> int:
    """Seeds per arm to show P(A>B) > 0.5 when it truly is ``gamma`` (Noether 1987).

    n = (z_{1−α} + z_{power})² / (6 (γ − ½)²), one-sided α, equal arms: 29 for the defaults,
    the number Bouthillier et al. (2021) recommend.
    """
    if not 0.5 < gamma < 1:
        raise AnalysisError(f"gamma must lie in (0.5, 1), got {gamma!r}.")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise AnalysisError("alpha and power must lie in (0, 1).")
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return int(math.ceil(z**2 / (6 * (gamma - 0.5) ** 2)))


def seeds_needed_table(
    std: float, deltas: Sequence[float] = (0.1, 0.2, 0.5), alpha: float = 0.05, power: float = 0.8
) -> pd.DataFrame:
    """:func:`seeds_needed` for several differences: columns delta, std, effect_size, seeds_per_arm."""
    return pd.DataFrame(
        [dict(delta=d, std=std, effect_size=d / std, alpha=alpha, power=power,
              seeds_per_arm=seeds_needed(std, d, alpha, power)) for d in deltas]
    )


# --------------------------------------------------------------------------- outliers

def outlier_seeds(
    df: pd.DataFrame,
    metric: str = "top1",
    z: float = 3.5,
    *,
    by: By = None,
    status: StatusSpec = "TERMINATED",
) -> pd.DataFrame:
    """Robust z-score of every usable trial, flagged when ``|robust_z| > z`` (Iglewicz-Hoaglin).

    robust_z = (x − median) / (1.4826 · MAD) per group (scipy ``median_abs_deviation``,
    scale='normal'); when MAD is 0 the mean absolute deviation (× 1.2533) is used instead.
    ``p_gaussian`` is the two-sided probability of a value at least that far from the mean under
    the fitted Gaussian (mean, std ddof=1) and ``expected_count`` = n · p_gaussian.
    Sorted by |robust_z|, largest first.
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
        note = ""
        med = np.median(x) if n else NAN
        scale = float(stats.median_abs_deviation(x, scale="normal")) if n else NAN
        if n < 3:
            rz = np.full(n, NAN)
            note = f"n={n}: robust z needs n ≥ 3"
        elif np.ptp(x) == 0:
            rz = np.zeros(n)
            note = "all values equal"
        else:
            if scale == 0:
                scale = float(np.mean(np.abs(x - med)) * math.sqrt(math.pi / 2))
                note = "MAD is 0 (most values equal): scaled mean absolute deviation used"
            rz = (x - med) / scale
        out["robust_z"] = rz
        out["outlier"] = np.abs(rz) > z
        std = x.std(ddof=1) if n > 1 else NAN
        if n > 1 and std > 0:
            p = 2 * stats.norm.sf(np.abs(x - x.mean()) / std)
        else:
            p = np.full(n, NAN)
        out["p_gaussian"] = p
        out["expected_count"] = n * p
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
    """How much of the seed std a finite validation set explains on its own.

    binomial_std = 100 · sqrt(p (1 − p) / n_val) with p the mean accuracy (metric in percent),
    compared with the observed seed std (ddof=1, chi-square CI at ``confidence``);
    ``share_of_variance`` = binomial_var / observed_var (can exceed 1 by chance).
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


# --------------------------------------------------------------------------- expected max

def expected_max(values: Any, n: int | Sequence[int] | None = None, *,
                 nan_policy: str = "raise") -> pd.DataFrame:
    """Expected best of ``n`` seeds drawn with replacement from ``values``, and its std.

    Dodge et al. (2019): with sorted v_(1) ≤ … ≤ v_(N), E[max_n] = Σ v_(i) [(i/N)^n − ((i−1)/N)^n].
    ``n`` defaults to 1..len(values). Returns columns n, expected_max, std.
    """
    v = np.sort(check_values(values, nan_policy))
    N = v.size
    if N == 0:
        raise AnalysisError("expected_max needs at least one value.")
    ns = np.arange(1, N + 1) if n is None else np.atleast_1d(np.asarray(n, dtype=int))
    if (ns < 1).any():
        raise AnalysisError("expected_max: n must be ≥ 1.")
    i = np.arange(1, N + 1) / N
    w = i[None, :] ** ns[:, None] - (i - 1 / N)[None, :] ** ns[:, None]
    mean = w @ v
    var = np.clip(w @ v**2 - mean**2, 0, None)
    return pd.DataFrame({"n": ns, "expected_max": mean, "std": np.sqrt(var)})


def expected_max_table(df: pd.DataFrame, by: By = None, metric: str = "top1", *,
                       status: StatusSpec = "TERMINATED",
                       n: int | Sequence[int] | None = None) -> pd.DataFrame:
    """:func:`expected_max` per group of ``by`` (``by`` columns prepended)."""
    bys = as_list(by)
    require_columns(df, bys, "expected_max_table(by=...)")
    usable, _ = split_usable(df, metric, status)
    frames = []
    for key, g in grouped(usable, bys).items():
        e = expected_max(g[metric].to_numpy(dtype=float), n)
        for c, v in zip(bys, key):
            e.insert(bys.index(c), c, v)
        frames.append(e)
    if not frames:
        raise AnalysisError(f"expected_max_table: no usable trials with a finite {metric}.")
    return pd.concat(frames, ignore_index=True)

