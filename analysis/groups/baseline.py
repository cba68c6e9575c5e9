"""The baseline a comparison is made against: the one parser of a ``--baseline`` spec, the one
typing rule of its values, and the one way a value matches a group's level.

A spec is ``"col=value,col2=value"`` (the CLI's ``--baseline``), a mapping ``{column: value}``,
a tuple of values in the order of the compared columns, or a single value. Its text values take
the type of their column in the results contract (:func:`typed_value`), so ``lr=5e-3`` is the
float 0.005, ``aug_repeats=3`` the int 3 and ``recipe=a2`` the text ``a2``; an evaluation-only
value (``crop_pct=``, ``test_res=``) must be a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..contract import EVAL_ONLY_FIELDS, INT_COLUMNS, TEXT_COLUMNS
from ..errors import AnalysisError
from ..text.formatting import label
from .frames import group_keys


def is_spec(baseline: Any) -> bool:
    """True for a ``"col=value,…"`` string (the form the CLI passes)."""
    return isinstance(baseline, str) and "=" in baseline


def spec_items(spec: str) -> list[tuple[str, str]]:
    """The one parser of a spec: ``"recipe=a2, lr=5e-3"`` as ``[("recipe", "a2"), ("lr", "5e-3")]``,
    split at commas and at each part's first ``=``, stripped, empty parts skipped."""
    return [(col.strip(), val.strip()) for col, _, val in (p.partition("=") for p in spec.split(","))
            if col.strip() or val.strip()]


def parse_baseline(spec: str) -> dict[str, Any]:
    """``"recipe=a2, lr=5e-3"`` as ``{"recipe": "a2", "lr": 0.005}`` (:func:`spec_items`, each value
    typed by :func:`typed_value`)."""
    return {col: typed_value(col, val) for col, val in spec_items(spec)}


def typed_value(column: str, value: Any) -> Any:
    """A baseline value as its column's contract type.

    Text columns (``recipe``, ``loss`` …) keep the text; an evaluation-only field is a number
    (an int for ``test_res`` when whole), else AnalysisError; another column's text is a number
    when it reads as one (an int for an integer column when whole), else the text. A value that
    is not text is kept as given, but for an evaluation-only field.
    """
    if column in EVAL_ONLY_FIELDS:
        return _number(column, value)
    if not isinstance(value, str) or column in TEXT_COLUMNS:
        return value
    try:
        x = float(value)
    except ValueError:
        return value
    return int(x) if column in INT_COLUMNS and x.is_integer() else x


def _number(col: str, val: Any) -> float | int:
    try:
        x = float(str(val).strip())
    except ValueError:
        raise AnalysisError(f"baseline {col}={val!r} is not a number; give e.g. {col}="
                            f"{'0.95' if col == 'crop_pct' else '224'}.") from None
    return int(x) if col == "test_res" and x.is_integer() else x


def same_level(value: Any, spec: Any) -> bool:
    """Whether a group's level ``value`` is the baseline's ``spec``: numbers within np.isclose
    (a text spec against a numeric level is read as a number), anything else equal."""
    if isinstance(spec, str) and not isinstance(value, str):
        try:
            return bool(np.isclose(float(spec), float(value)))
        except (TypeError, ValueError):
            return str(value) == spec
    if isinstance(value, float | np.floating) and isinstance(spec, int | float | np.number):
        return bool(np.isclose(value, spec))
    return bool(value == spec)


def split_baseline(baseline: Any) -> tuple[Any, dict[str, float | int]]:
    """(training part, ``{evaluation-only factor: value}``) of a ``--baseline`` spec.

    ``"recipe=a2,crop_pct=0.875"`` gives ``("recipe=a2", {"crop_pct": 0.875})``; a dict is
    split the same way; a training part left empty is None; a tuple or a bare value is all
    training. Raises AnalysisError when an evaluation-only value is not a number.
    """
    if is_spec(baseline):
        items = spec_items(baseline)
        evals = {col: typed_value(col, val) for col, val in items if col in EVAL_ONLY_FIELDS}
        training = ",".join(f"{col}={val}" for col, val in items if col not in EVAL_ONLY_FIELDS)
        return (training or None), evals
    if isinstance(baseline, Mapping):
        evals = {k: typed_value(k, v) for k, v in baseline.items() if k in EVAL_ONLY_FIELDS}
        training = {k: v for k, v in baseline.items() if k not in EVAL_ONLY_FIELDS}
        return (training or None), evals
    return baseline, {}


def baseline_levels(baseline: Any, by: Sequence[str]) -> dict[str, Any]:
    """``{factor: baseline level}`` for a grid (:func:`analysis.compare_within`): a spec string
    parsed, a mapping as given, a tuple in ``by`` order; ``{}`` for None."""
    if baseline is None:
        return {}
    if isinstance(baseline, dict):
        return dict(baseline)
    if is_spec(baseline):
        return parse_baseline(baseline)
    if isinstance(baseline, tuple) and len(baseline) == len(by):
        return dict(zip(by, baseline))
    raise AnalysisError(f"baseline {baseline!r}: in a grid give it as 'col=value,...' or a dict.")


def resolve_baseline(df: pd.DataFrame, by: Sequence[str], baseline: Any) -> tuple:
    """Turn a baseline spec into a group key of ``by``.

    Accepts a mapping ``{column: value}``, a tuple of values in ``by`` order, a single value
    when ``by`` has one column, or a string ``"col=value,col2=value"`` (values are converted
    to the column's type). Raises AnalysisError listing the groups when nothing matches.
    """
    bys = list(by)
    keys = group_keys(df, bys)
    if is_spec(baseline):
        baseline = parse_baseline(baseline)
    if isinstance(baseline, Mapping):
        unknown = [c for c in baseline if c not in bys]
        if unknown:
            raise AnalysisError(
                f"baseline names {', '.join(unknown)}, which are not among the compared "
                f"columns ({', '.join(bys)})."
            )
        matches = [k for k in keys if all(same_level(k[bys.index(c)], v) for c, v in baseline.items())]
    else:
        want = baseline if isinstance(baseline, tuple) else (baseline,)
        if len(want) != len(bys):
            raise AnalysisError(f"baseline {baseline!r} must give one value per column of {bys}.")
        matches = [k for k in keys if all(same_level(a, b) for a, b in zip(k, want))]
    if len(matches) != 1:
        avail = "; ".join(label(bys, k) for k in keys[:20])
        what = "matches no group" if not matches else f"matches {len(matches)} groups"
        raise AnalysisError(f"baseline {baseline!r} {what}; groups are: {avail}.")
    return matches[0]


def default_baseline(summary: pd.DataFrame, by: Sequence[str]) -> tuple:
    """The group with the most usable trials (first in sorted order on ties)."""
    s = summary.reset_index(drop=True)
    i = int(s["n"].to_numpy().argmax())
    return tuple(s.loc[i, list(by)])
