"""Variance components of the seed sources over a results table: the usable trials (status and
metric), their exclusions counted, then :func:`analysis.stats.variance.variance_decomposition`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from ..contract import TERMINATED
from ..errors import require_columns
from ..stats.variance import VarianceComponents, variance_decomposition
from .frames import StatusSpec, describe_exclusions, split_usable


def variance_components(
    df: pd.DataFrame,
    factors: Sequence[str] = ("seed_init", "seed_data", "seed_aug"),
    metric: str = "top1",
    *,
    status: StatusSpec = TERMINATED,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    random_state: int | None = 0,
) -> VarianceComponents:
    """Share of the seed variance per seed source, with bootstrap CIs (see module docstring).

    Raises AnalysisError when the sources are confounded (e.g. every trial has its own value of
    every source, the default ``seed`` sweep): the shares are then not identifiable.
    """
    factors = list(factors)
    require_columns(df, factors, "variance_components")
    usable, excluded = split_usable(df, metric, status)
    result = variance_decomposition(usable[metric].to_numpy(dtype=float),
                                    {f: usable[f].array for f in factors}, metric,
                                    confidence=confidence, n_boot=n_boot, random_state=random_state)
    return replace(result, n_excluded=len(excluded),
                   excluded=describe_exclusions(excluded["reason"]) if len(excluded) else "")
