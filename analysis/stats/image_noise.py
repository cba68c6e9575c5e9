"""Test-set noise from per-image predictions, after Jordan (2023), and its binomial upper bound from
the number of validation images alone (:func:`binomial_noise`).

K. Jordan, "On the Variance of Neural Network Training with respect to Test Sets and
Distributions" (arXiv 2304.01910; ICLR 2024 as "Calibrated Chaos"): trainings make
approximately independent errors across test examples, so the between-seed variance of
top-1 on a *fixed* test set is about ``sum_i p_i (1 - p_i) / n**2``, where ``p_i`` is image
i's correctness rate over trainings. What is left over is the variance of the trainings'
accuracy on the test *distribution*, the part a new (or larger) test set would not average
away.

Notation: ``C`` is the (k trials x n images) correctness matrix of one configuration on one
evaluation, ``A_t = mean_i C[t, i]`` trial t's top-1, ``p̂_i = mean_t C[t, i]``.

* ``observed_var = var(A_t, ddof=1)``.
* ``independent_example_var = sum_i s_i**2 / n**2`` with ``s_i**2 = k/(k-1) p̂_i (1 - p̂_i)``,
  the unbiased (ddof=1) variance of image i's correctness: ``p̂(1-p̂)`` alone is low by the
  factor (k-1)/k (the finite-trial correction).
* ``observed_var - independent_example_var`` is then exactly ``sum_{i != j} cov(C_i, C_j) / n**2``
  (sample covariances), unbiased for the between-image covariance term. For a test set of n
  images drawn from the distribution that term has expectation ``(n-1)/n Var(A_D)``, hence
  ``distribution_var = n/(n-1) (observed_var - independent_example_var)``, unbiased for
  ``Var(A_D)``. It can be negative by chance; it is reported as computed (a reader's text
  may floor it at 0, the number never is).

The CI of ``distribution_var`` is the chi-square interval (k-1 degrees of freedom) of
``observed_var`` minus ``independent_example_var``, times n/(n-1): each trial's top-1 is a
mean over n images, close to Gaussian, and the independent-example part, averaged over n
images, is known far more precisely than the variance of k trials. Simulated coverage
(docs/analysis/per_image_noise.md) is 0.90-0.97 from 5 to 50 trials, where a bootstrap over
trials covered 0.70 at 5 trials and 0.85 at 10.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .arrays import N_RESAMPLES, rng_kwargs

NAN = float("nan")
#: Percent points: top-1 is reported in percent, so variances are in points squared.
_PCT = 100.0
#: Bootstrap resamples handed to the statistic at once (bounds memory: batch x n floats).
_BATCH = 256
#: Above this many images the image bootstraps use percentile CIs: BCa's jackknife costs O(n^2).
_BCA_MAX_IMAGES = 5000


class Interval(NamedTuple):
    """A confidence interval, as ``scipy.stats`` results return it."""

    low: float
    high: float


@dataclass(frozen=True, kw_only=True)
class ExampleNoise:
    """Result of :func:`example_noise_components` (variances in points², stds in points)."""

    n_trials: int
    n_images: int
    mean_top1: float
    observed_var: float
    independent_example_var: float
    distribution_var: float
    distribution_var_ci: Interval
    test_sampling_std: float
    confidence_level: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Flat dict with the table's column names."""
        d = asdict(self)
        low, high = d.pop("distribution_var_ci")
        d.update(distribution_var_ci_low=low, distribution_var_ci_high=high)
        return d


@dataclass(frozen=True, kw_only=True)
class ImageBootstrapDifference:
    """Result of :func:`paired_image_bootstrap`: mean top-1 of A minus B (points), test-set CI."""

    statistic: float  # mean_a - mean_b
    confidence_interval: Interval
    standard_error: float
    mean_a: float
    mean_b: float
    n_images: int
    n_trials_a: int
    n_trials_b: int
    confidence_level: float
    method: str  # the scipy.stats.bootstrap method used

    @property
    def excludes_zero(self) -> bool:
        """True when the CI lies wholly on one side of 0: the difference survives new test images."""
        low, high = self.confidence_interval
        return bool(low > 0 or high < 0)


def example_noise_components(
    correct: Any,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
) -> ExampleNoise:
    """Split the between-trial variance of top-1 on one fixed test set (Jordan 2023).

    ``correct``: (trials x images) correctness of one configuration's trials on the same
    images. Returns :class:`ExampleNoise`: ``observed_var``, ``independent_example_var``
    (finite-trial corrected), ``distribution_var`` (unbiased for the variance on the test
    distribution; may be negative) with a chi-square CI, and ``test_sampling_std``
    (bootstrap over images of the mean top-1). See the module note. NaN fields carry the
    reason in ``note`` (fewer than 2 trials or 2 images).
    """
    c = as_correctness(correct, "correct")
    k, n = c.shape
    p_hat = c.mean(axis=0)
    mean_top1 = _PCT * float(p_hat.mean())
    nan = math.nan
    observed = independent = distribution = nan
    ci = Interval(nan, nan)
    note = ""
    if k >= 2 and n >= 2:
        observed = _PCT**2 * float(c.mean(axis=1).var(ddof=1))
        independent = _PCT**2 * k / (k - 1) * float(np.sum(p_hat * (1 - p_hat))) / n**2
        scale = n / (n - 1)
        distribution = scale * (observed - independent)
        chi2 = stats.chi2.ppf([(1 + confidence) / 2, (1 - confidence) / 2], k - 1)
        low, high = (k - 1) * observed / chi2
        ci = Interval(scale * (low - independent), scale * (high - independent))
    else:
        note = "variances need at least 2 trials and 2 images"
    test_std = nan
    if n >= 2:
        test_std = _PCT * _image_bootstrap(p_hat, confidence, n_resamples, random_state)[0].standard_error
    return ExampleNoise(
        n_trials=k, n_images=n, mean_top1=mean_top1, observed_var=observed,
        independent_example_var=independent, distribution_var=distribution, distribution_var_ci=ci,
        test_sampling_std=float(test_std), confidence_level=confidence, note=note,
    )


def _image_bootstrap(values: np.ndarray, confidence: float, n_resamples: int, random_state):
    """scipy's bootstrap of the mean of per-image values (BCa up to _BCA_MAX_IMAGES images)."""
    method = "BCa" if values.size <= _BCA_MAX_IMAGES else "percentile"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant sample (all images alike) gives a degenerate CI
        res = stats.bootstrap(
            (values.astype(np.float64),), np.mean, vectorized=True, n_resamples=n_resamples, batch=_BATCH,
            confidence_level=confidence, method=method, **rng_kwargs(random_state),
        )
    return res, method


def paired_image_bootstrap(
    correct_a: Any,
    correct_b: Any,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
) -> ImageBootstrapDifference:
    """Mean top-1 of A minus B (points) with a test-set bootstrap CI, paired over images.

    ``correct_a`` (k_a x n) and ``correct_b`` (k_b x n): per-image correctness of each
    configuration's trials on the *same* n images (arrays in the same image order, or
    trials x image DataFrames as :func:`analysis.load.predictions.correctness_matrix` returns,
    aligned on their image columns). Each bootstrap resample draws n images with
    replacement and uses the same images for A and B, so the CI says whether the difference
    would survive a new sample of test images; it holds the trials fixed (the seed-noise
    error bar is the other one). Difference of per-image rates ``d_i = p̂_a,i - p̂_b,i``,
    resampled with :func:`scipy.stats.bootstrap` (BCa; percentile above 5,000 images).
    """
    a, b = _aligned(correct_a, correct_b)
    if a.shape[1] < 2:
        raise AnalysisError("a test-set bootstrap needs at least 2 images.")
    d = a.mean(axis=0) - b.mean(axis=0)
    res, method = _image_bootstrap(d, confidence, n_resamples, random_state)
    low, high = res.confidence_interval
    low, high = (_PCT * float(x) for x in (low, high))
    stat = _PCT * float(d.mean())
    if not (np.isfinite(low) and np.isfinite(high)) and np.all(d == d[0]):
        low = high = stat  # every image differs by the same amount: no test-set spread at all
    return ImageBootstrapDifference(
        statistic=stat, confidence_interval=Interval(low, high), standard_error=_PCT * float(res.standard_error),
        mean_a=_PCT * float(a.mean()), mean_b=_PCT * float(b.mean()), n_images=a.shape[1],
        n_trials_a=a.shape[0], n_trials_b=b.shape[0], confidence_level=confidence, method=method,
    )


def _aligned(correct_a: Any, correct_b: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(correct_a, pd.DataFrame) and isinstance(correct_b, pd.DataFrame):
        if set(correct_a.columns) != set(correct_b.columns):
            extra = sorted(set(correct_a.columns) ^ set(correct_b.columns))[:5]
            raise AnalysisError(
                f"A and B were scored on different images (e.g. {extra}); a paired test-set bootstrap "
                "needs the same evaluation set for both."
            )
        correct_b = correct_b.loc[:, list(correct_a.columns)]
    a, b = as_correctness(correct_a, "correct_a"), as_correctness(correct_b, "correct_b")
    if a.shape[1] != b.shape[1]:
        raise AnalysisError(
            f"correct_a has {a.shape[1]} images and correct_b {b.shape[1]}; pair them on the same images."
        )
    return a, b


def as_correctness(values, what: str = "correctness") -> np.ndarray:
    """A 2-D (trials x images) boolean array from an array-like; a 1-D array is one trial."""
    arr = np.asarray(values)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise AnalysisError(f"{what} must be a (trials x images) matrix of correctness, got shape {arr.shape}.")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise AnalysisError(f"{what} must hold only True/False (or 0/1).")
        arr = arr.astype(bool)
    return arr


def binomial_noise(x: np.ndarray, n_val: np.ndarray, confidence: float = 0.95,
                   metric: str = "top1") -> tuple[dict[str, float], list[str]]:
    """The binomial upper bound on per-image test-set noise of seeds ``x`` (percent), each scored
    on ``n_val`` images, against their observed std (χ² CI): (values, notes), the values being
    ``n_val``, ``mean``, ``binomial_std``, ``observed_std`` with ``observed_std_ci_low``/``_high``
    and ``share_of_variance`` (NaN with a note where undefined; :func:`analysis.test_set_noise`).
    """
    n = len(x)
    note = []
    row: dict[str, float] = {}
    p = x.mean() / 100 if n else NAN
    if n and not np.all(np.isfinite(n_val) & (n_val > 0)):
        note.append("n_val missing or zero: binomial std undefined")
        bvar = NAN
    elif n:
        if n > 0 and not np.all((0 <= x) & (x <= 100)):
            note.append(f"{metric} outside [0, 100]: not a percentage")
        bvar = float(np.mean(p * (1 - p) / n_val)) * 100**2
        if np.ptp(n_val) > 0:
            note.append("n_val differs between trials: mean binomial variance used")
    else:
        bvar = NAN
        note.append("no usable rows")
    row["n_val"] = float(np.mean(n_val)) if n else NAN
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
    return row, note
