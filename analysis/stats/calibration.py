"""Seeded simulations that check the package's decisions: coverage, type-I error, power.

Each function runs the package's own procedure (the functions the report calls) on simulated
seeds whose truth is known, and returns the rate it measured. ``benchmarks/stats_calibration.py``
runs them at full size and writes the table; ``tests/analysis/test_analysis_calibration.py``
runs a short version of each.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate, optimize, stats
from statsmodels.stats.nonparametric import rank_compare_2indep

from .bootstrap import bootstrap_cis
from .gaussian import flag_outliers, lattice_shapiro_p, mean_t_interval
from .permutation import permutation_p, splits
from .rank import EXACT_BELOW, holm, pab_interval, rank_test

DISTRIBUTIONS = ("gaussian", "lognormal")
NAN = float("nan")
#: Null pairs on which Brunner-Munzel (information only, one scipy call per pair) is run.
BM_PAIRS = 2000


def _p_lognormal(delta: float) -> float:
    """P(X + delta > Y) for X, Y iid log-normal(0, 1)."""
    f = lambda x: stats.lognorm.pdf(x, 1) * stats.lognorm.cdf(x + delta, 1)  # noqa: E731
    return integrate.quad(f, 0, np.inf, limit=200)[0]


def shift_for(p_true: float, dist: str) -> float:
    """Location shift of A over B that makes P(A>B) = ``p_true`` (A = B + shift in law)."""
    if dist == "gaussian":
        return math.sqrt(2) * stats.norm.ppf(p_true)
    if dist == "lognormal":
        return 0.0 if p_true == 0.5 else optimize.brentq(lambda d: _p_lognormal(d) - p_true, 0, 50)
    raise ValueError(f"dist must be one of {DISTRIBUTIONS}, not {dist!r}")


def _draw(rng: np.random.Generator, dist: str, size) -> np.ndarray:
    return rng.normal(0, 1, size) if dist == "gaussian" else rng.lognormal(0, 1, size)


def pab_ci_coverage(n: int, p_true: float, dist: str, reps: int, seed: int = 0,
                    confidence: float = 0.95) -> dict[str, float]:
    """Coverage and mean width of the P(A>B) CI (:func:`analysis.stats.rank.pab_interval`)."""
    rng = np.random.default_rng(seed)
    shift = shift_for(p_true, dist)
    hit = width = outside = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            a = _draw(rng, dist, n) + shift
            b = _draw(rng, dist, n)
            lo, hi, _ = pab_interval(rank_compare_2indep(a, b), n, n, confidence)
            hit += lo <= p_true <= hi
            width += hi - lo
            outside += lo < 0 or hi > 1
    return {"coverage": hit / reps, "mean_width": width / reps, "outside_01": outside / reps}


def rank_test_size(n_a: int, n_b: int, reps: int, seed: int = 0, alpha: float = 0.05,
                   step: float | None = None, brunner_munzel: bool = True,
                   n_permutations: int | None = None) -> dict[str, float]:
    """Rejection rate under the null (A, B iid Gaussian) of Mann-Whitney (``rank_test``), of the
    asymptotic Brunner-Munzel test and, with ``n_permutations``, of the decision test (the
    permutation Brunner-Munzel test over every split up to 20,000, else that many random ones).

    ``step``: round the values to a lattice of that many seed stds (ties, as top-1 on a small
    validation set has). The Mann-Whitney p-values are :func:`analysis.stats.rank.rank_test`'s: from
    10 seeds per arm its asymptotic p is scipy's ``mannwhitneyu`` computed for all pairs in one
    vectorised call; below 10 without ties the exact p depends on U alone, so it is computed
    once per distinct U; with ties every pair gets its own permutation test.
    """
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, (reps, n_a)), rng.normal(0, 1, (reps, n_b))
    if step:
        a, b = np.round(a / step) * step, np.round(b / step) * step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if min(n_a, n_b) >= EXACT_BELOW:
            p = stats.mannwhitneyu(a, b, axis=-1, alternative="two-sided",
                                   method="asymptotic").pvalue
        else:
            u = stats.mannwhitneyu(a, b, axis=-1, method="asymptotic").statistic
            ties = np.array([np.unique(np.r_[x, y]).size < n_a + n_b for x, y in zip(a, b)])
            memo: dict[float, float] = {}
            p = np.empty(reps)
            for i in range(reps):
                if ties[i]:
                    p[i] = rank_test(a[i], b[i])[1]
                else:
                    if u[i] not in memo:
                        memo[u[i]] = rank_test(a[i], b[i])[1]
                    p[i] = memo[u[i]]
        bm = NAN
        if brunner_munzel:
            k = min(reps, BM_PAIRS)
            p_bm = np.array([stats.brunnermunzel(x, y).pvalue for x, y in zip(a[:k], b[:k])])
            bm = float(np.mean(np.isfinite(p_bm) & (p_bm < alpha)))
    out = {"rank_test": float(np.mean(p < alpha)), "brunner_munzel": bm}
    if n_permutations:
        idx, _ = splits(n_a, n_b, n_permutations, rng)
        p_perm = permutation_p(np.concatenate([a, b], axis=1), n_a, idx, "brunner_munzel")
        out["decision"] = float(np.mean(p_perm < alpha))
    return out


def procedure_power(n: int, gamma: float, comparisons: int, reps: int, seed: int = 0,
                    alpha: float = 0.05, n_permutations: int = 199) -> dict[str, float]:
    """What the report's procedure does at ``n`` seeds per arm when every P(A>B) is ``gamma``.

    ``comparisons`` arms are compared with one shared baseline (Gaussian seeds) by the
    decision test (permutation Brunner-Munzel, ``n_permutations`` random splits), Holm over
    them, as :func:`analysis.compare_all` does. Returns the rate at which the first arm is
    called better (significant) and called meaningful (significant and P̂ ≥ γ).
    """
    rng = np.random.default_rng(seed)
    shift = shift_for(gamma, "gaussian")
    base = rng.normal(0, 1, (reps, n))
    arms = rng.normal(shift, 1, (comparisons, reps, n))
    idx, _ = splits(n, n, n_permutations, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = stats.mannwhitneyu(arms, base[None], axis=-1, method="asymptotic").statistic
    p = np.array([permutation_p(np.concatenate([arm, base], axis=1), n, idx, "brunner_munzel")
                  for arm in arms])
    sig = mean = 0
    for i in range(reps):
        p_adj = holm(p[:, i]) if comparisons > 1 else p[:, i]
        p_hat = u[0, i] / (n * n)
        s = p_adj[0] < alpha and p_hat > 0.5
        sig += s
        mean += s and p_hat >= gamma
    return {"significant": sig / reps, "meaningful": mean / reps}


def mean_ci_coverage(n: int, dist: str, reps: int, seed: int = 0, confidence: float = 0.95,
                     n_resamples: int = 2000, bca: bool = True) -> dict[str, float]:
    """Coverage of the t interval and (``bca``) of the BCa bootstrap CI of a group mean."""
    rng = np.random.default_rng(seed)
    x = _draw(rng, dist, (reps, n))
    mu = 0.0 if dist == "gaussian" else math.exp(0.5)
    t_lo, t_hi = mean_t_interval(x, confidence)
    out = {"t": float(np.mean((t_lo <= mu) & (mu <= t_hi)))}
    if bca:
        lo, hi, _ = bootstrap_cis(list(x), None, confidence, n_resamples, seed)
        out["bca"] = float(np.mean((lo <= mu) & (mu <= hi)))
    return out


def outlier_false_flags(n: int, reps: int, seed: int = 0, z: float = 3.5) -> dict[str, float]:
    """Share of clean Gaussian groups of ``n`` seeds with a flagged seed: the rule, robust z alone.

    Runs :func:`analysis.stats.gaussian.flag_outliers`, the rule ``outlier_seeds`` applies per group.
    """
    rng = np.random.default_rng(seed)
    rule = robust = 0
    for _ in range(reps):
        rz, _, flagged, _ = flag_outliers(rng.normal(80, 0.2, n), z)
        rule += bool(np.any(flagged))
        robust += bool(np.any(np.abs(rz) > z))
    return {"rule": rule / reps, "robust_z_only": robust / reps}


def lattice_shapiro_size(n: int, step_ratio: float, reps: int, seed: int = 0, alpha: float = 0.05,
                         n_resamples: int = 999) -> dict[str, float]:
    """Rejection rate of plain and lattice-calibrated Shapiro-Wilk on rounded Gaussian seeds."""
    rng = np.random.default_rng(seed)
    plain = calibrated = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(reps):
            x = np.round(rng.normal(0, 1, n) / step_ratio) * step_ratio
            plain += stats.shapiro(x).pvalue < alpha
            calibrated += lattice_shapiro_p(x, step_ratio, n_resamples=n_resamples,
                                            random_state=seed * 100_003 + i) < alpha
    return {"plain": plain / reps, "calibrated": calibrated / reps}
