"""The rank tests behind a two-sample comparison: Mann-Whitney U (the decision test), the smallest
p a design can reach, the CI of P(A>B), and Holm over a family.

Decided here, each measured by ``benchmarks/stats_calibration.py`` (table in
``benchmarks/results/stats_calibration.md``) and checked by a short seeded version in
``tests/analysis/test_analysis_calibration.py``:

* **The decision test is Mann-Whitney U** (scipy ``mannwhitneyu``), two-sided, Holm-adjusted
  over a family of comparisons. Below :data:`EXACT_BELOW` seeds in either arm its p-value is
  exact (scipy's exact null distribution; with ties, ``scipy.stats.permutation_test`` over all
  relabellings, or 9,999 random ones when there are more than :data:`MAX_PERMUTATIONS`), so its
  size is ≤ α by construction (0.032 at 5 vs 5). From 10 seeds per arm the normal
  approximation with continuity and tie correction is used; its type-I error over 10,000 null
  pairs is 0.043 at 10 vs 10 and 0.047-0.049 at 20, 30 and 50. Brunner-Munzel (``pab_p``),
  which also allows unequal spreads, stays in the table but does not decide: at 5 vs 5 seeds it
  rejects a true null 7.5 % of the time at α = 0.05.
* **CI of P(A>B)**: the Brunner-Munzel variance (statsmodels ``rank_compare_2indep``) on the
  logit scale with a normal quantile (range-preserving, Pauly, Asendorf & Konietschke 2016), so
  the interval stays inside [0, 1]; at complete separation (P̂ = 0 or 1, zero variance) the
  one-sided Clopper-Pearson bound from min(n_a, n_b) disjoint pairs, (α/2)^(1/m). Its coverage
  at 10 vs 10 seeds (4,000 pairs each), Gaussian and log-normal, P = 0.5 and 0.8, is measured
  0.960-0.975 (the clipped linear Brunner-Munzel interval: 0.91-0.92 at P = 0.8).
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.nonparametric import rank_compare_2indep

NAN = float("nan")


#: Below this many seeds in either arm the rank test's p-value is exact (all permutations).
EXACT_BELOW = 10


#: Largest number of relabellings enumerated by the permutation test (ties, < 10 seeds).
MAX_PERMUTATIONS = 200_000


def _u_distance(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """|U − n_x n_y / 2|: the two-sided Mann-Whitney statistic for a permutation test."""
    u = stats.mannwhitneyu(x, y, axis=axis, method="asymptotic").statistic
    return np.abs(u - x.shape[axis] * y.shape[axis] / 2)


def rank_test(a: np.ndarray, b: np.ndarray,
              random_state: int | None = 0) -> tuple[float, float, str]:
    """Two-sided Mann-Whitney U of ``a`` against ``b``: (U of a, p, method); see module note."""
    na, nb = len(a), len(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if min(na, nb) >= EXACT_BELOW:
            res = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
            return float(res.statistic), float(res.pvalue), "asymptotic"
        both = np.concatenate([a, b])
        if np.unique(both).size == both.size:  # no ties: scipy's exact null distribution
            res = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact")
            return float(res.statistic), float(res.pvalue), "exact"
        u = float(stats.mannwhitneyu(a, b, method="asymptotic").statistic)
        if np.ptp(both) == 0:
            return u, 1.0, "exact"
        n_perm = math.comb(na + nb, na)
        every = n_perm <= MAX_PERMUTATIONS
        res = stats.permutation_test(
            (a, b), _u_distance, permutation_type="independent", alternative="greater",
            vectorized=True, n_resamples=np.inf if every else 9_999, rng=random_state,
        )
    what = f"permutation (all {n_perm:,})" if every else "permutation (9,999 random)"
    return u, float(min(1.0, res.pvalue)), what


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p :func:`rank_test` can give with these arm sizes (separation)."""
    x = np.arange(n_a, dtype=float)
    y = np.arange(n_a, n_a + n_b, dtype=float)
    method = "asymptotic" if min(n_a, n_b) >= EXACT_BELOW else "exact"
    return float(stats.mannwhitneyu(x, y, alternative="two-sided", method=method).pvalue)


def pab_interval(rc: Any, n_a: int, n_b: int, confidence: float) -> tuple[float, float, str]:
    """CI of P(A>B) inside [0, 1] from a statsmodels ``RankCompareResult`` (see module note)."""
    p = float(rc.prob1)
    alpha = 1 - confidence
    m = min(n_a, n_b)
    if not (0 < p < 1) or not rc.var > 0:
        if np.isclose(p, 0.5):
            return NAN, NAN, "all values equal: P(A>B)=0.5 exactly, no CI"
        bound = (alpha / 2) ** (1 / m)
        note = (f"complete separation: CI from {m} disjoint pairs (Clopper-Pearson), "
                "not Brunner-Munzel")
        return (bound, 1.0, note) if p > 0.5 else (0.0, 1 - bound, note)
    z = stats.norm.ppf(1 - alpha / 2)
    se = math.sqrt(rc.var / rc.nobs) / (p * (1 - p))
    centre = math.log(p / (1 - p))
    lo, hi = stats.logistic.cdf([centre - z * se, centre + z * se])
    return float(lo), float(hi), ""


def two_sample_tests(a: np.ndarray, b: np.ndarray, confidence: float,
           pre: Mapping[str, float] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Welch t, Mann-Whitney U, P(A>B) with its CI, Brunner-Munzel p and Cohen's d; notes.

    ``pre`` may carry welch_t/welch_p/mwu_u/mwu_p/mwu_method from :func:`batched_tests`.
    """
    notes: list[str] = []
    out: dict[str, Any] = dict(pre or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "welch_p" not in out:
            t = stats.ttest_ind(a, b, equal_var=False)
            out["welch_t"], out["welch_p"] = float(t.statistic), float(t.pvalue)
            out["mwu_u"], out["mwu_p"], out["mwu_method"] = rank_test(a, b)
        rc = rank_compare_2indep(a, b)
        out["p_a_gt_b"] = float(rc.prob1)
        out["pab_ci_low"], out["pab_ci_high"], ci_note = pab_interval(rc, len(a), len(b),
                                                                       confidence)
        out["pab_p"] = float(rc.pvalue)
    out["p_min"] = smallest_p(len(a), len(b))
    if ci_note:
        notes.append(ci_note)
    if not math.isfinite(out["welch_p"]):
        notes.append("Welch t undefined: both arms have zero spread")
    na, nb = len(a), len(b)
    pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled > 0:
        out["cohen_d"] = float((a.mean() - b.mean()) / pooled)
    else:
        out["cohen_d"] = NAN
        notes.append("Cohen's d undefined: zero pooled std")
    return out, notes


def batched_tests(arrays: Sequence[np.ndarray], b: np.ndarray) -> list[dict[str, Any]]:
    """Welch t and Mann-Whitney U of every array against ``b``, one scipy call per array size.

    scipy's tests are vectorised along the other axes, so this equals the per-array calls. Only
    arms of :data:`EXACT_BELOW` or more values are batched (the asymptotic test); smaller arms
    get their exact p-value one by one.
    """
    out: list[dict[str, Any]] = [{} for _ in arrays]
    sizes: dict[int, list[int]] = {}
    if len(b) < EXACT_BELOW:
        return out
    for i, a in enumerate(arrays):
        if len(a) >= EXACT_BELOW:
            sizes.setdefault(len(a), []).append(i)
    for idx in sizes.values():
        block = np.stack([arrays[i] for i in idx])
        bb = np.broadcast_to(b, (len(idx), len(b)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = stats.ttest_ind(block, bb, axis=-1, equal_var=False)
            u = stats.mannwhitneyu(block, bb, axis=-1, alternative="two-sided",
                                   method="asymptotic")
        for j, i in enumerate(idx):
            out[i] = {"welch_t": float(t.statistic[j]), "welch_p": float(t.pvalue[j]),
                      "mwu_u": float(u.statistic[j]), "mwu_p": float(u.pvalue[j]),
                      "mwu_method": "asymptotic"}
    return out


def holm(p: np.ndarray) -> np.ndarray:
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


def smallest_holm(p_min: np.ndarray) -> np.ndarray:
    """A lower bound on each comparison's Holm-adjusted p: max(own p_min, m · min_j p_min_j).

    Holm's adjusted p of any member is at least m times the smallest raw p of the family and
    at least its own raw p; when every comparison has the same arm sizes the bound is reached
    (all arms completely separated).
    """
    ok = np.isfinite(p_min)
    out = np.full(len(p_min), NAN)
    if ok.any():
        m = int(ok.sum())
        out[ok] = np.minimum(1.0, np.maximum(p_min[ok], m * p_min[ok].min()))
    return out
