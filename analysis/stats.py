"""Seed statistics of arrays: Gaussian fits, two-sample comparisons, expected best-of-n.

Conventions (scipy.stats / rliable style): arrays in, a dataclass or a DataFrame out; every
estimate that cannot be computed is NaN *with a reason* in ``notes``; bad input raises
:class:`~analysis.AnalysisError` with a message that says what to do. The per-group wrappers
over a results table are in :mod:`analysis.grouped`.
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

from ._common import N_RESAMPLES, AnalysisError, check_values, fmt_p
from .bootstrap import _bootstrap_cis

NAN = float("nan")


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
