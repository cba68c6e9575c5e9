"""Shared plumbing: column checks, status filtering with exclusion bookkeeping, grouping.

Every statistic in the package works on the *usable* rows of a results table: rows whose
``status`` is TERMINATED (by default) and whose metric is not NaN. Nothing is dropped
silently: :func:`split_usable` returns the excluded rows with a ``reason`` column, and the
table-level functions report ``n_excluded`` / ``excluded`` per group.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .contract import CONFIG_COLUMNS  # noqa: F401 (imported from here by the modules of this package)

#: Default number of bootstrap resamples. 5 000 keeps the Monte-Carlo error of the 95 % CI
#: ends below ~1 % of the CI width while halving the cost of scipy's default (9 999), which
#: matters for ``summarize``/``compare_all`` over thousands of trials.
N_RESAMPLES = 5000

StatusSpec = str | Sequence[str] | None
By = str | Sequence[str] | None


class AnalysisError(ValueError):
    """Input the analysis cannot use. The message says what is wrong and how to fix it."""


def as_list(by: By) -> list[str]:
    """Normalise a ``by`` argument (None, one column, several) to a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`AnalysisError` naming every column of ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "(none)"
        raise AnalysisError(
            f"{what} needs column(s) {', '.join(missing)}, which the table lacks "
            f"(it has: {have})."
        )


def _status_list(status: StatusSpec) -> list[str] | None:
    if status is None:
        return None
    if isinstance(status, str):
        return [status]
    return list(status)


def split_usable(
    df: pd.DataFrame, metric: str, status: StatusSpec = "TERMINATED"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into (usable rows, excluded rows with a ``reason`` column).

    A row is usable when its ``status`` is in ``status`` (None: any status) and ``metric`` is
    a finite number. Why: statistics over crashed or unfinished trials are meaningless, and
    dropping them silently hides failures; the caller reports the excluded counts.
    """
    require_columns(df, [metric], f"a statistic of {metric!r}")
    wanted = _status_list(status)
    reason = pd.Series("", index=df.index, dtype=object)
    if wanted is not None:
        require_columns(df, ["status"], "filtering by status")
        st = df["status"].astype(str)
        bad = ~st.isin(wanted)
        reason[bad] = "status " + st[bad]
    values = pd.to_numeric(df[metric], errors="coerce")
    nan = ~np.isfinite(values.to_numpy(dtype=float)) & (reason == "").to_numpy()
    reason[nan] = f"{metric} missing"
    keep = (reason == "").to_numpy()
    usable = df.loc[keep].copy()
    usable[metric] = values[keep].astype(float)
    excluded = df.loc[~keep].copy()
    excluded["reason"] = reason[~keep]
    return usable, excluded


def describe_exclusions(reasons: pd.Series) -> str:
    """'ERROR: 2, RUNNING: 1' style text for a Series of reasons ('' when nothing excluded)."""
    if len(reasons) == 0:
        return ""
    counts = reasons.str.replace("status ", "", regex=False).value_counts(sort=False)
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def group_keys(df: pd.DataFrame, by: list[str]) -> list[tuple]:
    """Sorted distinct group keys of ``df`` (all rows, whatever their status)."""
    if not by:
        return [()]
    keys = df[by].drop_duplicates()
    try:
        keys = keys.sort_values(by, na_position="last")
    except TypeError:  # mixed types in a column: keep table order
        pass
    return [tuple(r) for r in keys.itertuples(index=False, name=None)]


def _isnan(val: Any) -> bool:
    try:
        return bool(pd.isna(val))
    except (TypeError, ValueError):
        return False


def grouped(df: pd.DataFrame, by: list[str]) -> dict[tuple, pd.DataFrame]:
    """Map group key → rows (NaN keys kept as their own group)."""
    if not by:
        return {(): df}
    out: dict[tuple, pd.DataFrame] = {}
    for key, g in df.groupby(by, sort=False, dropna=False):
        out[key if isinstance(key, tuple) else (key,)] = g
    return out


def lookup(groups: Mapping[tuple, pd.DataFrame], key: tuple, like: pd.DataFrame) -> pd.DataFrame:
    """Rows of group ``key``, or an empty frame shaped like ``like``; NaN-safe key match."""
    if key in groups:
        return groups[key]
    for k, g in groups.items():
        if len(k) == len(key) and all(
            (_isnan(a) and _isnan(b)) or (not _isnan(a) and not _isnan(b) and a == b)
            for a, b in zip(k, key)
        ):
            return g
    return like.iloc[0:0]


def label(by: list[str], key: tuple) -> str:
    """Human label of a group: 'crop_pct=0.95, lr=0.005' (or 'all trials')."""
    if not by:
        return "all trials"
    return ", ".join(f"{c}={_fmt_value(v)}" for c, v in zip(by, key))


def _fmt_value(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return "NaN"
        return f"{v:g}"
    return str(v)


def fmt_p(p: float) -> str:
    """A p-value for reading: two decimals, or scientific notation below 0.01."""
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{p:.2f}" if p >= 0.01 else f"{p:.1e}"


def check_values(values: Any, nan_policy: str = "raise", what: str = "values") -> np.ndarray:
    """1-D float array from ``values``; NaN raise (``nan_policy='raise'``) or are dropped ('omit')."""
    arr = np.asarray(values, dtype=float).ravel()
    bad = ~np.isfinite(arr)
    if bad.any():
        if nan_policy == "omit":
            arr = arr[~bad]
        elif nan_policy == "raise":
            raise AnalysisError(
                f"{what} contain {int(bad.sum())} NaN/inf of {arr.size}; drop them first or "
                "pass nan_policy='omit'."
            )
        else:
            raise AnalysisError(f"nan_policy must be 'raise' or 'omit', not {nan_policy!r}.")
    return arr


# scipy renamed ``random_state`` to ``rng`` in 1.15; accept both so an int seed always means
# ``np.random.default_rng(seed)``.
_BOOT_HAS_RNG = "rng" in inspect.signature(stats.bootstrap).parameters


def rng_kwargs(random_state: int | None) -> dict[str, Any]:
    """Keyword arguments giving scipy.stats.bootstrap the generator default_rng(random_state)."""
    if _BOOT_HAS_RNG:
        return {"rng": random_state}
    return {"random_state": np.random.default_rng(random_state)}
