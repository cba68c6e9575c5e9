"""Bootstrap CIs of a mean and of a difference of means (scipy.stats.bootstrap, BCa).

Groups of equal size are bootstrapped in one batched scipy call; every group gets bit-for-bit
the CI of its own call (see :func:`_row_mean`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from .arrays import rng_kwargs

NAN = float("nan")
# Elements gathered per scipy.stats.bootstrap call. Groups of equal size are bootstrapped
# together, which gives bit-for-bit the per-group result (scipy draws the same resample indices
# for every slice, and _row_mean reduces each slice alone). Measured on 2 cores: a few groups per
# call pays for one-sample CIs; for the two-sample difference one group per call is fastest.
_CHUNK_ELEMENTS = 3_000_000
_CHUNK_ELEMENTS_2SAMPLE = 1_000_000


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


def bootstrap_cis(
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
