"""Comparisons in a multi-factor grid: each factor within the levels of the others.

In an LR × WD × loss grid, "LR 3e-3 beats LR 5e-3" is only a fair statement at equal WD and
loss, so :func:`compare_within` compares each level of a factor with that factor's baseline
level inside every slice of the other factors (each recipe against the others at equal
settings), one Holm family per factor. Evaluation-only factors (``crop_pct``, ``test_res``)
slice the grid but are never compared here: the same trained model is evaluated at every
value, so they are compared paired (the evaluation-axes issue's ``compare_paired``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..contract import EVAL_ONLY_FIELDS, TERMINATED
from ..errors import AnalysisError, require_columns
from ..load.io import config_columns
from ..stats.arrays import N_RESAMPLES
from ..text.formatting import short_label
from .baseline import same_level
from .comparisons import Arm, compare_arms
from .frames import StatusSpec, group_keys, grouped, lookup, split_usable


def compared_factors(df: pd.DataFrame, factors: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """(factors compared, evaluation-only factors that vary and are skipped)."""
    varying = list(factors) if factors is not None else config_columns(df)
    return ([f for f in varying if f not in EVAL_ONLY_FIELDS],
            [f for f in varying if f in EVAL_ONLY_FIELDS])


def compare_within(
    df: pd.DataFrame,
    factors: Sequence[str] | None = None,
    metric: str = "top1",
    *,
    baseline: Mapping[str, Any] | None = None,
    status: StatusSpec = TERMINATED,
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
    predictions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each factor's levels against its baseline level, within every slice of the other factors.

    ``factors``: the configuration columns that vary (default); evaluation-only ones are
    skipped (see the module note). ``baseline``: {factor: level} (default per factor: the
    level with the most usable trials, the first in sorted order on ties). One row per
    comparison with ``factor``, ``within`` (short label of the slice), the factor columns and
    the fields of :func:`analysis.compare_all`; Holm-adjusted over each factor's comparisons
    (one family per factor). Raises AnalysisError when no factor is left to compare.
    """
    compared, _ = compared_factors(df, factors)
    if not compared:
        raise AnalysisError("compare_within: no configuration factor varies (evaluation-only "
                            "factors are compared paired, not here).")
    varying = config_columns(df) if factors is None else list(factors)
    require_columns(df, varying, "compare_within(factors=...)")
    baseline = dict(baseline or {})
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, varying), grouped(excluded, varying)
    frames = []
    for f in compared:
        others = [c for c in varying if c != f]
        levels = usable[f].value_counts()
        if f in baseline:
            ref = baseline[f]
        else:
            ref = sorted(levels[levels == levels.max()].index, key=_sort_key)[0]
        arms = []
        for key in group_keys(df, varying):
            row = dict(zip(varying, key))
            if same_level(row[f], ref):
                continue
            ref_key = tuple(ref if c == f else row[c] for c in varying)
            b_rows = lookup(ug, ref_key, usable)
            if not len(b_rows) and not len(lookup(eg, ref_key, excluded)):
                continue  # the slice has no baseline level at all
            within = short_label(others, [row[c] for c in others])
            arms.append(Arm(a=lookup(ug, key, usable), b=b_rows, name_a=short_label(varying, key),
                            name_b=short_label(varying, ref_key), key={"factor": f, "within": within, **row},
                            excluded=lookup(eg, key, excluded)))
        if arms:
            frames.append(compare_arms(arms, ["factor", "within", *varying], metric,
                                       gamma=gamma, confidence=confidence,
                                       n_resamples=n_resamples, random_state=random_state,
                                       predictions=predictions))
    if not frames:
        raise AnalysisError("compare_within: no slice of the grid holds two levels of a factor.")
    return pd.concat(frames, ignore_index=True)


def _sort_key(v: Any):
    return (0, float(v)) if isinstance(v, int | float | np.number) else (1, str(v))
