"""The tests behind a two-sample comparison: the decision test (a studentized permutation
Brunner-Munzel test), the smallest p a design can reach, the refusal of a design too small for
its spreads, the CI of P(A>B), Mann-Whitney U and Welch's t for information, and Holm.

Decided here, each measured by ``benchmarks/stats_calibration.py`` (tables in
``benchmarks/results/stats_calibration_spread.md`` and ``stats_calibration.md``) and checked by
short seeded versions in ``tests/analysis/test_analysis_calibration.py``:

* **The decision test is the studentized permutation Brunner-Munzel test** (Neubert & Brunner
  2007; :func:`analysis.stats.permutation.permutation_test`), two-sided, Holm-adjusted over a
  family. It decides P(A>B) = ½ (a seed of A as likely to beat a seed of B as to lose), the
  quantity the report's "meaningful" rule (Bouthillier's γ) and its interval are about. Every
  split of the pooled seeds is enumerated up to 20,000 splits, else 9,999 random ones (the
  Monte-Carlo p is exact under exchangeability); from :data:`PERMUTATION_BELOW` seeds in the
  smaller arm, the asymptotic Brunner-Munzel t test (``bm_method`` says which). Chosen over the studentized permutation Welch
  test (equal means, Janssen 1997) and max(permutation Welch p, Welch t p) on the simulation of
  5 v 20, 10 v 40 and 20 v 20 seeds with std ratios 1/3 … 3 both ways, Gaussian and skewed,
  20,000 null pairs a cell: with the small arm wider on skewed seeds the mean tests exceed
  0.055 (permutation Welch up to 0.097, Welch t 0.074, their max 0.057–0.071; equal means is
  not a location-free null under skew) and the Welch interval covers only 0.926, while
  permutation Brunner-Munzel held P(A>B) = ½ everywhere except with the small arm wider at
  5 v 20 (0.070–0.076) and 10 v 40 (0.053–0.057), which the refusal below removes (the rule:
  ≤ 0.050 in every cell). Power at equal Gaussian spreads, shift 1 std: 0.385 / 0.701 / 0.837
  at 5 v 20 / 10 v 40 / 20 v 20, against Mann-Whitney's 0.431 / 0.760 / 0.849. Mann-Whitney U (``mwu_*``,
  the former decision test) is kept as information: its null is exchangeability, and with 5
  seeds at twice the std against 20 it rejects a true P(A>B) = ½ 10 % of the time.
* **Refusal** (:func:`spread_refused`): where the smaller arm has fewer than
  :data:`MIN_SEEDS_UNEQUAL_SPREAD` seeds, fewer than the other arm, and an observed std above
  :data:`SPREAD_RATIO` times the other's, no test held α in the simulation; such a comparison is
  ``not_resolvable``.
* **Not resolvable by design**: the smallest p of the permutation test is 1 / #splits
  (2 / #splits with equal arms), 1 / 10,000 with random splits; Holm multiplies it by the family.
* **CI of P(A>B)** (printed with every comparison): the Brunner-Munzel variance (statsmodels
  ``rank_compare_2indep``) on the logit scale (range-preserving, Pauly, Asendorf & Konietschke
  2016), so the interval stays inside [0, 1], with the t quantile on Brunner-Munzel's
  Satterthwaite degrees of freedom (the normal quantile covered 0.936 at 5 v 20 seeds); at
  complete separation (P̂ = 0 or 1, zero variance) the one-sided Clopper-Pearson bound from
  min(n_a, n_b) disjoint pairs, (α/2)^(1/m). Coverage in the tables linked above.
* **Mann-Whitney U** (information): exact below :data:`EXACT_BELOW` seeds per arm (with ties
  a permutation test over all relabellings, or 9,999 random ones above
  :data:`MAX_PERMUTATIONS`), the normal approximation with continuity and tie correction from 10.
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

from .permutation import permutation_test, smallest_permutation_p

NAN = float("nan")


#: From this many seeds in the smaller arm the decision test is Brunner-Munzel's asymptotic t
#: test (type-I 0.048-0.052 at 100 v 100 and 100 v 400, std ratios 1/3 … 3, Gaussian and
#: skewed, 20,000 null pairs a cell): 9,999 splits of thousands of seeds cost seconds.
PERMUTATION_BELOW = 100

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
    """The smallest two-sided p the decision test can give with these arm sizes (0 where it
    is the asymptotic test)."""
    return 0.0 if min(n_a, n_b) >= PERMUTATION_BELOW else smallest_permutation_p(n_a, n_b)


def pab_interval(rc: Any, n_a: int, n_b: int, confidence: float) -> tuple[float, float, str]:
    """CI of P(A>B) inside [0, 1] from a statsmodels ``RankCompareResult`` (see module note)."""
    p = float(rc.prob1)
    if not (0 < p < 1) or not rc.var > 0:
        if np.isclose(p, 0.5):
            return NAN, NAN, "all values equal: P(A>B)=0.5 exactly, no CI"
        note = (f"complete separation: CI from {min(n_a, n_b)} disjoint pairs (Clopper-Pearson), "
                "not Brunner-Munzel")
    else:
        note = ""
    lo, hi = pab_intervals(np.array([p]), np.array([rc.var / rc.nobs]), np.array([rc.df]),
                           min(n_a, n_b), confidence)
    return float(lo[0]), float(hi[0]), note


def pab_intervals(p: np.ndarray, var_prob: np.ndarray, df: np.ndarray, m: int,
                  confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The logit Brunner-Munzel CIs of P(A>B) of many pairs (``var_prob``: the variance of P̂,
    ``df``: Brunner-Munzel's Satterthwaite degrees of freedom), the Clopper-Pearson bound from
    ``m`` disjoint pairs at complete separation (module note)."""
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        z = np.where(np.isfinite(df) & (df > 0), stats.t.ppf(1 - alpha / 2, df), stats.norm.ppf(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var_prob) / (p * (1 - p))
        centre = np.log(p / (1 - p))
    lo, hi = stats.logistic.cdf(centre - z * se), stats.logistic.cdf(centre + z * se)
    bound = (alpha / 2) ** (1 / m)
    sep = ~((0 < p) & (p < 1) & (var_prob > 0))
    lo = np.where(sep, np.where(p > 0.5, bound, 0.0), lo)
    hi = np.where(sep, np.where(p > 0.5, 1.0, 1 - bound), hi)
    return lo, hi


def two_sample_tests(a: np.ndarray, b: np.ndarray, confidence: float,
           pre: Mapping[str, float] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The decision test (permutation Brunner-Munzel, ``bm_p``/``bm_method``), the
    refusal (``spread_refused``), Welch t, Mann-Whitney U, P(A>B) with its CI, the asymptotic
    Brunner-Munzel p and Cohen's d; notes.

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
        if min(len(a), len(b)) >= PERMUTATION_BELOW:
            out["bm_p"], out["bm_method"] = float(rc.pvalue), "asymptotic (t on Brunner-Munzel's df)"
        else:
            out["bm_p"], out["bm_method"] = permutation_test(a, b, "brunner_munzel")
        out["p_a_gt_b"] = float(rc.prob1)
        out["pab_ci_low"], out["pab_ci_high"], ci_note = pab_interval(rc, len(a), len(b),
                                                                       confidence)
        out["pab_p"] = float(rc.pvalue)
    out["p_min"] = smallest_p(len(a), len(b))
    out["spread_refused"] = bool(spread_refused(len(a), len(b), a.std(ddof=1), b.std(ddof=1)))
    out["refused_below"], out["refused_ratio"] = MIN_SEEDS_UNEQUAL_SPREAD, SPREAD_RATIO
    if out["spread_refused"]:
        notes.append(f"no verdict: the smaller arm has fewer than {MIN_SEEDS_UNEQUAL_SPREAD} seeds "
                     f"and a std above {SPREAD_RATIO:g}× the other's, where the tests measured do not hold α")
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


#: Below this many seeds in the smaller arm of an unbalanced design, a smaller arm whose std
#: is more than :data:`SPREAD_RATIO` times the larger arm's gets no verdict (see the module note).
MIN_SEEDS_UNEQUAL_SPREAD = 20
SPREAD_RATIO = 1.5


def spread_refused(n_a: int, n_b: int, sd_a: np.ndarray | float, sd_b: np.ndarray | float,
                   below: int = MIN_SEEDS_UNEQUAL_SPREAD) -> np.ndarray | bool:
    """Whether the design is too small for a calibrated test at these observed spreads: the
    smaller arm has fewer than ``below`` seeds, fewer than the other, and a std above
    :data:`SPREAD_RATIO` times the other's."""
    if n_a == n_b or min(n_a, n_b) >= below:
        return np.zeros(np.shape(sd_a), bool) if np.ndim(sd_a) else False
    small, large = (sd_a, sd_b) if n_a < n_b else (sd_b, sd_a)
    return np.asarray(small) > SPREAD_RATIO * np.asarray(large) if np.ndim(sd_a) else bool(small > SPREAD_RATIO * large)

