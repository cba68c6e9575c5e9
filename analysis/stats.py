"""Seed statistics of arrays: Gaussian fits and expected best-of-n.

Conventions (scipy.stats / rliable style): arrays in, a dataclass or a DataFrame out; every
estimate that cannot be computed is NaN *with a reason* in ``notes``; bad input raises
:class:`~analysis.AnalysisError` with a message that says what to do. The per-group wrappers
over a results table are in :mod:`analysis.grouped`; two-sample comparisons in
:mod:`analysis.comparison`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._common import N_RESAMPLES, AnalysisError, check_values, fmt_p

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
