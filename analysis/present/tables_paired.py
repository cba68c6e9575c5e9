"""The RSB paper's Table 9 from an evaluations table: each crop ratio of the same trained models,
with its difference from the baseline crop paired by trial (:func:`format_table9_paired`), and
the report's set of such tables, one per eval set, test resolution and slice of the other
varying training columns (:func:`table9_tables`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..contract import EVALUATION_KEY_COLUMNS, MAIN_METRIC, TERMINATED
from ..errors import AnalysisError, require_columns
from ..groups.baseline import split_baseline
from ..groups.evaluations import paired_baseline, paired_within, varying_factors
from ..groups.frames import (
    StatusSpec,
    describe_exclusions,
    matches,
    plain,
    sorted_groups,
    sorted_unique,
    split_usable,
)
from ..groups.paired import compare_paired
from ..text.formatting import MISSING, fmt_fixed, fmt_mean_std, fmt_value
from .markup import Table, latex, markdown
from .style import metric_label


def format_table9_paired(
    evaluations: pd.DataFrame,
    comparisons: pd.DataFrame | None = None,
    factor: str = "crop_pct",
    baseline: float | int | str = 0.95,
    block: str = "recipe",
    metric: str = "top1",
    *,
    status: StatusSpec = TERMINATED,
    digits: int = 2,
    caption: str = "",
) -> Table:
    """The RSB paper's Table 9 layout from an evaluations table, with the paired difference.

    One row per (``block``, level of ``factor``): ``mean (std)``, ``max – min`` and ``seed 0``
    of ``metric`` over the seeds, then the paired difference from ``baseline`` with its
    t-interval and the :func:`compare_paired` verdict (pass ``comparisons`` to reuse one).
    The table needs one value of each other evaluation-only column (filter the rest first).
    """
    require_columns(evaluations, ["trial_id", factor, metric, block], "format_table9_paired")
    for col in EVALUATION_KEY_COLUMNS:
        if col != factor and col in evaluations.columns and evaluations[col].nunique(dropna=False) > 1:
            values = ", ".join(map(fmt_value, sorted_unique(evaluations[col])))
            raise AnalysisError(f"format_table9_paired shows one {col} at a time, and the table has {values}; "
                                f"filter it first, e.g. evaluations[evaluations.{col} == …].")
    if comparisons is None:
        comparisons = compare_paired(evaluations, factor, baseline, [block], metric, status=status)
    usable, excluded = split_usable(evaluations, metric, status)
    diff_col = f"Δ vs {fmt_value(baseline)} (paired)"
    rows, rules = [], []
    for key, g in sorted_groups(usable, [block]):
        rules.append(len(rows))
        n = g["trial_id"].nunique()
        levels = sorted_unique(g[factor])
        for level in levels:
            c = comparisons[(comparisons[block] == key[0]) & matches(comparisons["level"], level)]
            delta, verdict = _paired_cell(c, level, baseline, digits)
            rows.append({block: f"{key[0]} (n={n})" if level == levels[0] else "", factor: fmt_value(level),
                         **_seed_cells(g[matches(g[factor], level)], metric, digits),
                         diff_col: delta, "verdict": verdict})
    frame = pd.DataFrame(rows)
    note = f"; excluded rows: {describe_exclusions(excluded['reason'])}" if len(excluded) else ""
    level_pct = 100 * comparisons.attrs.get("confidence", 0.95)
    name = metric_label(metric)
    cap = caption or (f"{name[:1].upper()}{name[1:]} over seeds per {block} and {factor}: mean (std), max – min, "
                      f"seed 0, and the difference from {factor}={fmt_value(baseline)} paired by trial, with its "
                      f"{level_pct:g} % t-interval and the Wilcoxon signed-rank verdict (Holm){note}.")
    return Table(frame, markdown(frame), latex(frame, rules, cap))


def _seed_cells(x: pd.DataFrame, metric: str, digits: int) -> dict[str, str]:
    """The seed statistics of one level's rows: ``mean (std)``, ``max – min``, ``seed 0``."""
    values = x[metric].to_numpy(dtype=float)
    seed0 = x.loc[x["seed"] == 0, metric] if "seed" in x.columns else pd.Series(dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return {"mean (std)": fmt_mean_std(float(values.mean()), std, digits),
            "max – min": f"{fmt_fixed(float(values.max()), digits)} – {fmt_fixed(float(values.min()), digits)}",
            "seed 0": fmt_fixed(float(seed0.iloc[0]), digits) if len(seed0) == 1 else MISSING}


def _paired_cell(c: pd.DataFrame, level: Any, baseline: Any, digits: int) -> tuple[str, str]:
    """(difference from the baseline with its t-interval, verdict) of one level; ``c``: its
    :func:`compare_paired` row (none for the baseline itself)."""
    if matches(pd.Series([level]), baseline).iloc[0]:
        return "(baseline)", ""
    if not len(c):
        return MISSING, ""
    r = c.iloc[0]
    delta = f"{r['diff']:+.{digits}f}"
    if math.isfinite(r["diff_ci_low"]):
        delta += f" [{r['diff_ci_low']:+.{digits}f}, {r['diff_ci_high']:+.{digits}f}]"
    return delta, r["verdict"]


def table9_tables(evaluations: pd.DataFrame, baseline: Any = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The paper's Table 9 from evaluations: one :func:`format_table9_paired` per eval set,
    test resolution and slice of the other varying training columns.

    Returns (tables, notes): each table a dict of its key columns, ``title``, ``markdown``,
    ``latex`` and the ``baseline`` crop ratio; a note for each slice that could not be built.
    Empty when crop_pct takes one value.
    """
    if "crop_pct" not in varying_factors(evaluations):
        return [], []
    _, given = split_baseline(baseline)
    base, _ = paired_baseline(evaluations, "crop_pct", given)
    keys = ["eval_set", "test_res", *paired_within(evaluations)[1:]]
    tables, notes = [], []
    for key, rows in evaluations.groupby(keys, sort=True, dropna=False):
        if rows["crop_pct"].nunique() < 2:
            continue
        title = ", ".join(f"{k}={fmt_value(plain(v))}" for k, v in zip(keys, key))
        try:
            t = format_table9_paired(rows, None, "crop_pct", base, block="recipe", metric=MAIN_METRIC)
        except AnalysisError as e:
            notes.append(f"Table 9 for {title}: {e}")
            continue
        tables.append({**{k: plain(v) for k, v in zip(keys, key)}, "title": title, "baseline": base,
                       "markdown": t.markdown, "latex": t.latex})
    return tables, notes
