"""Seeded simulations of the two-sample decision when the arms differ in spread and seed count.

The arms are drawn with the smaller arm's std ``ratio`` times the larger arm's (ratio > 1: the
small arm is wider), Gaussian or skewed. Two nulls, because with unequal spreads under skew
"equal means" and "P(A>B) = ½" cannot both hold:

* ``means``: equal means, the null of Welch's t and of the verdict the report prints (its
  "x-point gain" is a difference of means);
* ``p_half``: B shifted so that P(A>B) = ½ exactly (by the median of A − B), the null of
  Brunner-Munzel and Mann-Whitney's P(A>B) reading.

For Gaussian arms the two coincide. ``benchmarks/stats_calibration.py`` runs
:func:`null_rates` and :func:`equal_spread_power` at full size; a short seeded version is in
``tests/analysis/test_analysis_calibration.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from .permutation import permutation_p, splits
from statsmodels.stats.nonparametric import rank_compare_2indep

from .rank import pab_intervals, spread_refused

#: The designs (seeds in the smaller arm, in the larger), std ratios and shapes of the table.
DESIGNS = ((5, 20), (10, 40), (20, 20))
RATIOS = (1.0, 2.0, 3.0, 0.5, 1 / 3)
SHAPES = ("gaussian", "skewed")
#: Gamma shape of the skewed arms: skewness 2/sqrt(4) = 1, negated (a tail of bad seeds).
SKEW_SHAPE = 4.0
#: The tests of the table: the two candidate rules (each with the small-design refusal of
#: :func:`analysis.stats.rank.spread_refused`) and the tests they are built from.
TESTS = ("welch_rule", "bm_rule", "bm_rule10", "welch_max", "perm_welch", "welch_t", "perm_bm", "bm_asymptotic", "mwu")
#: The null each test is judged against (see the module note).
NULL_OF = {"welch_rule": "means", "welch_max": "means", "perm_welch": "means", "welch_t": "means",
           "bm_rule": "p_half", "bm_rule10": "p_half", "perm_bm": "p_half", "bm_asymptotic": "p_half", "mwu": "p_half"}


def draw(rng: np.random.Generator, shape: str, size) -> np.ndarray:
    """Standardised draws (mean 0, std 1): Gaussian, or a negated Gamma(4) (skewness −1)."""
    if shape == "gaussian":
        return rng.normal(0, 1, size)
    if shape == "skewed":
        return (SKEW_SHAPE - rng.gamma(SKEW_SHAPE, 1.0, size)) / np.sqrt(SKEW_SHAPE)
    raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")


def median_shift(ratio: float, shape: str, draws: int = 4_000_000, seed: int = 99) -> float:
    """The shift of B that makes P(A > B) = ½: the median of A − B (Monte Carlo, ~5e-4 sd)."""
    if shape == "gaussian" or ratio == 1:
        return 0.0
    rng = np.random.default_rng(seed)
    return float(np.median(ratio * draw(rng, shape, draws) - draw(rng, shape, draws)))


def null_pairs(rng: np.random.Generator, n_small: int, n_large: int, ratio: float, shape: str,
               null: str, reps: int) -> tuple[np.ndarray, np.ndarray]:
    """``reps`` null pairs: A (the smaller arm, std ``ratio``) and B (std 1)."""
    a = ratio * draw(rng, shape, (reps, n_small))
    b = draw(rng, shape, (reps, n_large))
    if null == "p_half":
        b = b + median_shift(ratio, shape)
    elif null != "means":
        raise ValueError(f"null must be 'means' or 'p_half', not {null!r}")
    return a, b


def p_values(a: np.ndarray, b: np.ndarray, n_permutations: int, rng: np.random.Generator,
             which: tuple[str, ...] = TESTS) -> dict[str, np.ndarray]:
    """Two-sided p of every pair (rows of ``a``, ``b``) for the tests named in ``which``; a
    refused pair (no verdict) gets p = 1."""
    n_a, n_b = a.shape[1], b.shape[1]
    idx, _ = splits(n_a, n_b, n_permutations, rng)
    pooled = np.concatenate([a, b], axis=1)
    want = set(which)
    refused = spread_refused(n_a, n_b, a.std(axis=1, ddof=1), b.std(axis=1, ddof=1))
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if want & {"welch_rule", "welch_max", "perm_welch"}:
            out["perm_welch"] = permutation_p(pooled, n_a, idx, "welch")
        if want & {"welch_rule", "welch_max", "welch_t"}:
            out["welch_t"] = stats.ttest_ind(a, b, axis=-1, equal_var=False).pvalue
        if want & {"welch_rule", "welch_max"}:
            out["welch_max"] = welch_max(out["perm_welch"], out["welch_t"])
            out["welch_rule"] = np.where(refused, 1.0, out["welch_max"])
        if want & {"bm_rule", "bm_rule10", "perm_bm"}:
            out["perm_bm"] = permutation_p(pooled, n_a, idx, "brunner_munzel")
            out["bm_rule"] = np.where(refused, 1.0, out["perm_bm"])
            refused10 = spread_refused(n_a, n_b, a.std(axis=1, ddof=1), b.std(axis=1, ddof=1), below=10)
            out["bm_rule10"] = np.where(refused10, 1.0, out["perm_bm"])
        if "bm_asymptotic" in want:
            out["bm_asymptotic"] = stats.brunnermunzel(a, b, axis=-1).pvalue
        if "mwu" in want:
            method = "asymptotic" if min(n_a, n_b) >= 10 else "exact"
            out["mwu"] = stats.mannwhitneyu(a, b, axis=-1, method=method).pvalue
    return {k: v for k, v in out.items() if k in want}


def pab_coverage(a: np.ndarray, b: np.ndarray, confidence: float) -> float:
    """Share of pairs whose printed P(A>B) interval (:func:`analysis.stats.rank.pab_intervals`)
    holds ½ (it is printed with every comparison, a refused one too)."""
    rc = rank_compare_2indep(a.T, b.T)
    lo, hi = pab_intervals(np.asarray(rc.prob1), np.asarray(rc.var_prob), np.asarray(rc.df),
                           min(a.shape[1], b.shape[1]), confidence)
    return float(np.mean((lo <= 0.5) & (0.5 <= hi)))


def null_rates(n_small: int, n_large: int, ratio: float, shape: str, reps: int,
               n_permutations: int = 199, seed: int = 0, alpha: float = 0.05,
               which: tuple[str, ...] = TESTS) -> dict[str, float]:
    """Type-I error of each test against its own null (:data:`NULL_OF`), and the coverage of
    the printed intervals: Welch's of the difference of means (under ``means``), the logit
    Brunner-Munzel one of P(A>B) (under ``p_half``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    nulls = sorted({NULL_OF[t] for t in which}) if shape != "gaussian" else ["means"]
    for null in nulls:
        a, b = null_pairs(rng, n_small, n_large, ratio, shape, null, reps)
        tests = [t for t in which if NULL_OF[t] == null or shape == "gaussian"]
        for name, p in p_values(a, b, n_permutations, rng, tuple(tests)).items():
            out[name] = float(np.mean(p < alpha))
        if null == "means":
            lo, hi = welch_interval(a, b, 1 - alpha)
            out["welch_ci_coverage"] = float(np.mean((lo <= 0) & (0 <= hi)))
        if null == "p_half" or shape == "gaussian":
            out["pab_ci_coverage"] = pab_coverage(a, b, 1 - alpha)
    return out


def equal_spread_power(n_small: int, n_large: int, shift: float, reps: int,
                       n_permutations: int = 199, seed: int = 0, alpha: float = 0.05,
                       which: tuple[str, ...] = TESTS) -> dict[str, float]:
    """Rejection rate of each test when A = B + ``shift`` (Gaussian, std 1 both)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(shift, 1, (reps, n_small))
    b = rng.normal(0, 1, (reps, n_large))
    return {k: float(np.mean(p < alpha)) for k, p in p_values(a, b, n_permutations, rng, which).items()}


def welch_max(perm_p: np.ndarray, welch_p: np.ndarray) -> np.ndarray:
    """The candidate mean rule: the larger of the permutation Welch p and Welch's t p (valid
    wherever either is)."""
    return np.maximum(perm_p, welch_p)


def welch_interval(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Welch-Satterthwaite interval of mean(a) − mean(b) along the last axis."""
    na, nb = a.shape[-1], b.shape[-1]
    va, vb = a.var(axis=-1, ddof=1) / na, b.var(axis=-1, ddof=1) / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    half = stats.t.ppf((1 + confidence) / 2, df) * np.sqrt(va + vb)
    diff = a.mean(axis=-1) - b.mean(axis=-1)
    return diff - half, diff + half


def asymptotic_sizes(reps: int = 20_000, seed: int = 41, alpha: float = 0.05) -> list[dict]:
    """Type-I error of the asymptotic Brunner-Munzel test (the decision from 100 seeds in the
    smaller arm) at 100 v 400 and 100 v 100, against P(A>B) = ½."""
    rng = np.random.default_rng(seed)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n_s, n_l in ((100, 400), (100, 100)):
            for shape in SHAPES:
                for ratio in RATIOS:
                    if n_s == n_l and ratio < 1:
                        continue
                    a, b = null_pairs(rng, n_s, n_l, ratio, shape, "p_half", reps)
                    p = stats.brunnermunzel(a, b, axis=-1).pvalue
                    out.append({"n_small": n_s, "n_large": n_l, "shape": shape, "ratio": ratio,
                                "reps": reps, "bm_asymptotic": float(np.mean(p < alpha))})
    return out
