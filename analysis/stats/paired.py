"""The paired test of two settings on the same trials: A − B per trial, the Wilcoxon signed-rank
test deciding, the paired t-test and the t-interval of the mean difference beside it.

A test crop ratio or test resolution changes evaluation only, so seed k's model is the *same*
model at every setting: the difference is taken per trial and the training noise, which
dominates the between-seed spread, cancels out of it (:func:`analysis.compare_paired` forms the
pairs from an evaluations table).

* **The decision test is the Wilcoxon signed-rank test** (scipy ``wilcoxon``, two-sided,
  ``zero_method='wilcox'``: a seed on which both settings score the same carries no sign).
  Up to :data:`EXACT_UP_TO` pairs its p-value is exact, by enumerating every
  sign flip of the signed-rank sum (``scipy.stats.permutation_test``, vectorized over the
  flips: the same p as ``wilcoxon`` with ``PermutationMethod``, 40× faster at 16 pairs),
  which is right with tied differences too, common on a small validation set; above,
  scipy's ``auto`` method.
* **Smallest p**: all-same-sign differences give the smallest p a sign-flip test can reach,
  2 / 2^n for n non-zero differences (``p_min``); :func:`seeds_to_resolve` gives the pairs
  that reach α after Holm.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from ..errors import AnalysisError

#: Up to this many pairs the signed-rank p-value enumerates all 2^n sign flips.
EXACT_UP_TO = 16


@dataclass(frozen=True, kw_only=True)
class PairedTest:
    """Result of :func:`paired_test` (A against B on the same trials; ``diff`` = mean of A − B)."""

    n: int                  # pairs
    n_nonzero: int          # pairs whose difference is not 0 (the signed-rank test's n)
    mean_a: float
    mean_b: float
    diff: float             # mean of the per-pair differences a - b
    sd_diff: float          # their standard deviation (ddof=1)
    diff_ci_low: float      # t-interval of the mean difference at ``confidence``
    diff_ci_high: float
    t: float                # scipy.stats.ttest_rel
    t_p: float
    wilcoxon: float         # scipy.stats.wilcoxon statistic (smaller signed-rank sum)
    wilcoxon_p: float
    wilcoxon_method: str    # "exact (all sign flips)" or "scipy auto"
    signed_rank: float      # sum of signed ranks: > 0 when A tends to be higher
    frac_a_better: float    # fraction of pairs with a > b
    frac_tied: float        # fraction of pairs with a == b
    p_min: float            # smallest p the signed-rank test can give with these pairs
    confidence: float

    def to_dict(self) -> dict:
        return asdict(self)


def paired_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedTest:
    """Paired t-test, Wilcoxon signed-rank test and t-interval of ``a − b`` (aligned pairs).

    ``a[i]`` and ``b[i]`` are the same trial under two settings. Statistics that need more
    pairs than given are NaN (the t-test needs 2 pairs, the signed-rank test 1 non-zero).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise AnalysisError(f"paired_test needs two equal-length 1-D arrays, got {a.shape} and {b.shape}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise AnalysisError("paired_test: the values contain NaN or inf; drop those pairs first.")
    d = a - b
    n, nz = d.size, int(np.count_nonzero(d))
    nan = float("nan")
    sd = float(d.std(ddof=1)) if n > 1 else nan
    t = t_p = lo = hi = nan
    if n > 1 and sd > 0:
        res = stats.ttest_rel(a, b)
        ci = res.confidence_interval(confidence)
        t, t_p, lo, hi = float(res.statistic), float(res.pvalue), float(ci.low), float(ci.high)
    elif n > 1:  # every pair differs by the same amount: the interval is that point
        lo = hi = float(d.mean())
    w = w_p = nan
    method = "none (no non-zero difference)"
    signed = 0.0
    if nz == 1:  # one non-zero difference: its two sign flips are equally extreme (scipy needs two)
        w, w_p, method = 0.0, 1.0, "exact (all sign flips)"
        signed = float(np.sign(d[d != 0][0]))
    elif nz:
        ranks = stats.rankdata(np.abs(d[d != 0]))
        signed = float(np.sum(np.sign(d[d != 0]) * ranks))
        exact = n <= EXACT_UP_TO
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided",
                                 method="approx" if exact else "auto")
        w, w_p = float(res.statistic), float(min(1.0, res.pvalue))
        if exact:
            w_p = _sign_flip_p(d[d != 0], ranks)
        method = "exact (all sign flips)" if exact else "scipy auto"
    return PairedTest(
        n=n, n_nonzero=nz, mean_a=float(a.mean()) if n else nan, mean_b=float(b.mean()) if n else nan,
        diff=float(d.mean()) if n else nan, sd_diff=sd, diff_ci_low=lo, diff_ci_high=hi, t=t, t_p=t_p,
        wilcoxon=w, wilcoxon_p=w_p, wilcoxon_method=method, signed_rank=signed,
        frac_a_better=float(np.mean(d > 0)) if n else nan, frac_tied=float(np.mean(d == 0)) if n else nan,
        p_min=min(1.0, 2.0 ** (1 - nz)), confidence=confidence,
    )


def _sign_flip_p(nonzero: np.ndarray, ranks: np.ndarray) -> float:
    """Two-sided p of the signed-rank sum over all 2^n sign flips of ``nonzero`` (exact with ties).

    scipy's ``permutation_test`` flips the signs of a single sample; |x| and so the ranks do
    not change under a flip, which makes the statistic one vectorized sum over the flips.
    """
    def signed_rank_sum(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum(np.sign(x) * ranks, axis=axis)

    res = stats.permutation_test((nonzero,), signed_rank_sum, permutation_type="samples", vectorized=True,
                                 n_resamples=np.inf, alternative="two-sided")
    return float(min(1.0, res.pvalue))


def seeds_to_resolve(m: int, alpha: float) -> int:
    """Fewest non-zero pairs whose all-same-sign outcome reaches ``alpha`` after Holm over ``m``."""
    return int(math.floor(1 + math.log2(max(m, 1) / alpha))) + 1
