"""Seed statistics of arrays: the Gaussian fit (lattice-calibrated), the outlier rule, and the
Student t CI of a mean.

Conventions (scipy.stats / rliable style): arrays in, a dataclass or a DataFrame out; every
estimate that cannot be computed is NaN *with a reason* in ``notes``; bad input raises
:class:`~analysis.AnalysisError` with a message that says what to do. The per-group wrappers
over a results table are in :mod:`analysis.groups.summaries`; two-sample comparisons in
:mod:`analysis.stats.comparison`; expected best-of-n in :mod:`analysis.stats.expected_max`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..errors import AnalysisError
from ..text.verdicts import gaussian_verdict
from .arrays import check_values

NAN = float("nan")


# --------------------------------------------------------------------------- Gaussian fit

@dataclass(frozen=True, kw_only=True)
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
    step: float = NAN        # lattice step of the metric (100 / n_val points), if given
    step_ratio: float = NAN  # step / std
    shapiro_p_lattice: float = NAN  # Shapiro-Wilk calibrated on lattice-rounded Gaussians

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (notes joined into one string), e.g. for a DataFrame row or JSON."""
        d = asdict(self)
        d["notes"] = "; ".join(self.notes)
        return d


#: A lattice step at least this fraction of the seed std is called sizeable: the verdict says
#: so and Shapiro-Wilk is calibrated against Gaussian values rounded to the lattice (at n=100
#: plain Shapiro-Wilk rejects 9.5 % of rounded Gaussians at step/std = 0.17, as on a 360-image
#: validation set, and 87 % at 0.5; calibrated 7.5 % and 5 %: benchmarks/stats_calibration.py).
LATTICE_RATIO = 0.05
#: Simulated lattice-rounded Gaussian samples behind the calibrated p-value.
LATTICE_RESAMPLES = 999


def fit_gaussian(values: Any, *, alpha: float = 0.05, nan_policy: str = "raise",
                 step: float | None = None, random_state: int | None = 0) -> GaussianFit:
    """Fit a Gaussian to seed results and test how well it fits.

    Shapiro-Wilk (n ≥ 3) is the primary test; D'Agostino K² needs n ≥ 8; the KS p-value is
    conservative because mean and std are estimated from the same values (Lilliefors).
    ``step``: the metric's granularity (top-1 moves in steps of 100 / n_val points). When it is
    at least :data:`LATTICE_RATIO` of the std, the values hold ties a continuous Gaussian
    never has, and the verdict uses ``shapiro_p_lattice``: the Shapiro-Wilk W compared with
    W of Gaussian samples (fitted mean and std) rounded to the same lattice
    (``scipy.stats.monte_carlo_test``, :data:`LATTICE_RESAMPLES` samples).
    ``verdict`` is one plain sentence, e.g. "consistent with a Gaussian (Shapiro-Wilk p=0.43, n=100)".
    """
    x = check_values(values, nan_policy)
    n = x.size
    if n == 0:
        raise AnalysisError("fit_gaussian needs at least one value.")
    if step is not None and not (np.isfinite(step) and step > 0):
        raise AnalysisError(f"fit_gaussian: step must be a positive number, got {step!r}.")
    notes: list[str] = []
    mean = float(x.mean())
    std_mle = float(x.std(ddof=0))
    std = float(x.std(ddof=1)) if n > 1 else NAN
    sw = sp = k2 = kp = ksd = ksp = skew = kurt = spl = NAN
    ratio = step / std if step is not None and n > 1 and std > 0 else NAN
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
            if ratio >= LATTICE_RATIO:
                spl = lattice_shapiro_p(x, step, random_state=random_state)
        notes.append("KS p is conservative (parameters fitted on the same values)")
    verdict = gaussian_verdict(n, x, sp, skew, kurt, alpha, step, ratio, spl, lattice_ratio=LATTICE_RATIO)
    return GaussianFit(n=n, mean=mean, std=std, std_mle=std_mle, shapiro_w=sw, shapiro_p=sp,
                       normaltest_k2=k2, normaltest_p=kp, ks_d=ksd, ks_p=ksp, skewness=skew,
                       excess_kurtosis=kurt, verdict=verdict, notes=tuple(notes),
                       step=NAN if step is None else float(step), step_ratio=ratio, shapiro_p_lattice=spl)


def lattice_shapiro_p(x: np.ndarray, step: float, *, n_resamples: int = LATTICE_RESAMPLES,
                      random_state: int | None = 0) -> float:
    """Shapiro-Wilk p calibrated for a metric on a lattice of ``step`` (see :func:`fit_gaussian`)."""
    rng = np.random.default_rng(random_state)
    mean, std = float(x.mean()), float(x.std(ddof=1))

    def rvs(size):
        return np.round(rng.normal(mean, std, size) / step) * step

    def w(v, axis=-1):
        v = np.moveaxis(np.asarray(v), axis, -1)
        flat = v.reshape(-1, v.shape[-1])
        out = np.array([stats.shapiro(r).statistic if np.ptp(r) > 0 else 1.0 for r in flat])
        return out.reshape(v.shape[:-1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.monte_carlo_test(x, rvs, w, vectorized=True, n_resamples=n_resamples,
                                     alternative="less")
    return float(res.pvalue)


# --------------------------------------------------------------------------- outliers

#: Outliers are called only from this many seeds: below it the seeds' own Gaussian cannot
#: single one out (the externally studentized residual of one of 3 seeds has 1 df), and the
#: robust z alone flagged 28 % of clean Gaussian groups of 3 seeds, 12 % at 10.
OUTLIER_MIN_N = 10
#: ... and only when fewer than this many seeds as extreme are expected among n under a
#: Gaussian fitted to the other seeds (a Bonferroni bound: at most 5 % of clean Gaussian
#: groups have one; measured in benchmarks/stats_calibration.py).
OUTLIER_MAX_EXPECTED = 0.05


def _loo_tail(x: np.ndarray) -> np.ndarray:
    """Two-sided t tail of each value's externally studentized residual (NaN below 3 values).

    The residual of x_i against the mean and std of the other n − 1 values, scaled by
    sqrt(1 + 1/(n − 1)), is t-distributed with n − 2 df under a Gaussian: statsmodels'
    ``OLS(x, 1).outlier_test()`` (the test checks this closed form against it; computed
    directly here because statsmodels takes ~20 ms a group).
    """
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return np.full(n, NAN)
    rest_mean = (x.sum() - x) / (n - 1)
    rest_ss = ((x - x.mean()) ** 2).sum() - (x - x.mean()) ** 2 * n / (n - 1)
    rest_sd = np.sqrt(np.clip(rest_ss, 0, None) / (n - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x - rest_mean) / (rest_sd * math.sqrt(1 + 1 / (n - 1)))
    r = np.where(rest_sd > 0, r, np.inf)
    return 2 * stats.t.sf(np.abs(r), n - 2)


def flag_outliers(x: np.ndarray, z: float = 3.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(robust_z, p_gaussian, outlier, note) of each seed of one group; see ``outlier_seeds``.

    robust_z = (x − median) / (1.4826 · MAD) (scipy ``median_abs_deviation``, scale='normal';
    the scaled mean absolute deviation when MAD is 0); p_gaussian from :func:`_loo_tail`;
    outlier = n ≥ OUTLIER_MIN_N and |robust_z| > z and n · p_gaussian < OUTLIER_MAX_EXPECTED.
    """
    n = len(x)
    notes = []
    if n < 3:
        rz = np.full(n, NAN)
        notes.append(f"n={n}: robust z needs n ≥ 3")
    elif np.ptp(x) == 0:
        rz = np.zeros(n)
        notes.append("all values equal")
    else:
        med = np.median(x)
        scale = float(stats.median_abs_deviation(x, scale="normal"))
        if scale == 0:
            scale = float(np.mean(np.abs(x - med)) * math.sqrt(math.pi / 2))
            notes.append("MAD is 0 (most values equal): scaled mean absolute deviation used")
        rz = (x - med) / scale
    p = _loo_tail(x)
    flagged = (n >= OUTLIER_MIN_N) & (np.abs(rz) > z) & (n * p < OUTLIER_MAX_EXPECTED)
    if 3 <= n < OUTLIER_MIN_N:
        notes.append(f"n={n}: outliers are called from {OUTLIER_MIN_N} seeds")
    return rz, p, flagged, "; ".join(notes)



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
