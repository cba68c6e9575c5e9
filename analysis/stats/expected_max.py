"""Expected best of n seeds: what reporting the best seed instead of the mean adds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..errors import AnalysisError
from .arrays import check_values


def expected_max(values: Any, n: int | Sequence[int] | None = None, *,
                 replace: bool = False, nan_policy: str = "raise") -> pd.DataFrame:
    """Expected best of ``n`` seeds picked from the N observed ``values``, and its std.

    ``replace=False`` (default): n distinct seeds, the unbiased estimator of the best of n new
    seeds (a U-statistic): with sorted v_(1) ≤ … ≤ v_(N), P(v_(i) is the best) =
    C(i−1, n−1) / C(N, n); at n = N it is the observed maximum. ``replace=True``: Dodge et
    al. (2019), draws with replacement, E[max_n] = Σ v_(i) [(i/N)^n − ((i−1)/N)^n], which
    stays below the observed maximum at n = N. ``n`` defaults to 1..N (without replacement n
    may not exceed N). Returns columns n, expected_max, std, method.
    """
    v = np.sort(check_values(values, nan_policy))
    N = v.size
    if N == 0:
        raise AnalysisError("expected_max needs at least one value.")
    ns = np.arange(1, N + 1) if n is None else np.atleast_1d(np.asarray(n, dtype=int))
    if (ns < 1).any():
        raise AnalysisError("expected_max: n must be ≥ 1.")
    i = np.arange(1, N + 1)
    if replace:
        q = i / N
        w = q[None, :] ** ns[:, None] - (q - 1 / N)[None, :] ** ns[:, None]
    else:
        if (ns > N).any():
            raise AnalysisError(f"expected_max: best of {int(ns.max())} distinct seeds needs "
                                f"at least that many values (have {N}); pass replace=True "
                                "for draws with replacement.")
        k = ns[:, None]
        log_w = (special.gammaln(i) - special.gammaln(k) - special.gammaln(np.maximum(i - k + 1, 1))
                 - (special.gammaln(N + 1) - special.gammaln(k + 1) - special.gammaln(N - k + 1)))
        w = np.where(i[None, :] >= k, np.exp(log_w), 0.0)
    mean = w @ v
    var = np.clip(w @ v**2 - mean**2, 0, None)
    method = "with replacement" if replace else "without replacement"
    return pd.DataFrame({"n": ns, "expected_max": mean, "std": np.sqrt(var), "method": method})
