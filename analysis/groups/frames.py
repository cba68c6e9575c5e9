"""Table plumbing shared by the DataFrame-level functions: status filtering with exclusion
bookkeeping, and grouping.

Every statistic in the package works on the *usable* rows of a results table: rows whose
``status`` is TERMINATED (by default) and whose metric is not NaN. Nothing is dropped
silently: :func:`split_usable` returns the excluded rows with a ``reason`` column, and the
table-level functions report ``n_excluded`` / ``excluded`` per group. Groups are keyed
exactly (:func:`grouped`, :func:`lookup`: configurations of a results table) or with a
tolerance for numbers (:func:`sorted_groups`: levels of an evaluations table).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..contract import TERMINATED
from ..errors import require_columns

StatusSpec = str | Sequence[str] | None
By = str | Sequence[str] | None


def as_list(by: By) -> list[str]:
    """Normalise a ``by`` argument (None, one column, several) to a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _status_list(status: StatusSpec) -> list[str] | None:
    if status is None:
        return None
    if isinstance(status, str):
        return [status]
    return list(status)


def split_usable(
    df: pd.DataFrame, metric: str, status: StatusSpec = TERMINATED
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


def matches(values: pd.Series, target: Any) -> pd.Series:
    """Element-wise equality with ``target``, tolerant for numbers (atol 1e-9: a crop ratio read
    back from parquet or csv)."""
    if isinstance(target, (int, float, np.number)) and not isinstance(target, bool):
        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        return pd.Series(np.isclose(num, float(target), rtol=0, atol=1e-9), index=values.index)
    return values == target


def sorted_unique(values: pd.Series) -> list:
    """The distinct non-missing values, sorted (in table order when they do not sort)."""
    uniq = list(pd.unique(values.dropna()))
    try:
        return sorted(uniq)
    except TypeError:
        return uniq


def sorted_groups(df: pd.DataFrame, by: list[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """(key, rows) per distinct value of ``by`` in sorted order (one group when ``by`` is empty);
    rows match their key with :func:`matches`, so float levels read back from a file still group."""
    if not by:
        yield (), df
        return
    keys = df[by].drop_duplicates()
    try:
        keys = keys.sort_values(by)
    except TypeError:
        pass
    for key in keys.itertuples(index=False, name=None):
        yield key, df[group_mask(df, by, key)]


def group_mask(df: pd.DataFrame, by: list[str], key: tuple) -> pd.Series:
    """Rows of ``df`` whose ``by`` columns hold ``key`` (NaN matches NaN; numbers by :func:`matches`)."""
    mask = pd.Series(True, index=df.index)
    for col, val in zip(by, key):
        mask &= df[col].isna() if pd.isna(val) else matches(df[col], val)
    return mask


def plain(v: Any) -> Any:
    """A numpy/pandas scalar as a plain Python number (for JSON and labels)."""
    return v.item() if isinstance(v, np.generic) else v
