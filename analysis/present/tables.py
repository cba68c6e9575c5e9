"""Paper-style tables (Markdown and LaTeX) from :func:`~analysis.summarize` output.

* :func:`format_table9`: the RSB paper's seed table: per recipe block, ``mean (std)``,
  ``max – min`` and ``seed 0`` for each evaluation set (val, ReaL, V2 …).
* :func:`format_table6`: a hyper-parameter grid (LR × WD rows, loss × repeated-augmentation
  columns by default), one ``mean (std)`` cell per configuration.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import AnalysisError, require_columns
from ..text.formatting import MISSING, fmt_fixed, fmt_mean_std, fmt_value
from .markup import Table, latex, markdown

#: Display names of the evaluation-set columns.
SET_NAMES = {"top1": "val", "top1_real": "ReaL", "top1_v2": "V2", "top5": "val top-5"}


def format_table9(summary: pd.DataFrame, block: str | None = "recipe", digits: int = 2,
                  caption: str = "") -> Table:
    """The paper's Table 9 layout from a :func:`summarize` table (one or several metrics).

    One block per value of ``block`` (default the recipe; other group columns label sub-blocks);
    rows ``mean (std)``, ``max – min`` and ``seed 0``; one column per metric / evaluation set.
    Given an evaluations table instead (crop ratios evaluated on the same models,
    evaluations.parquet), the table is :func:`analysis.format_table9_paired`'s, one row per
    crop ratio with the difference from 0.95 paired by trial (one eval set and test resolution).
    """
    if "metric" not in summary.columns and {"eval_set", "crop_pct", "trial_id"} <= set(summary.columns):
        from .tables_paired import format_table9_paired

        return format_table9_paired(summary, block=block or "recipe", digits=digits, caption=caption)
    require_columns(summary, ["metric", "n", "mean", "std", "min", "max", "seed0"],
                    "format_table9 (pass the output of summarize)")
    group_cols = [c for c in summary.columns
                  if c not in _SUMMARY_COLUMNS and c != "metric"]
    if block is not None and block not in group_cols:
        block = None
    metrics = list(dict.fromkeys(summary["metric"]))
    keys = summary[group_cols].drop_duplicates() if group_cols else pd.DataFrame(index=[0])
    rows, rules = [], []
    for _, k in keys.iterrows():
        sel = pd.Series(True, index=summary.index)
        for c in group_cols:
            sel &= (summary[c] == k[c]) | (summary[c].isna() & pd.isna(k[c]))
        part = summary[sel].set_index("metric")
        n = int(part["n"].max()) if len(part) else 0
        name = ", ".join(f"{k[c]}" if c == block else f"{c}={k[c]}" for c in group_cols)
        name = (name or "all trials") + f" (n={n})"
        rules.append(len(rows))
        for i, stat in enumerate(("mean (std)", "max – min", "seed 0")):
            row = {"": name if i == 0 else "", "statistic": stat}
            for m in metrics:
                if m not in part.index:
                    row[SET_NAMES.get(m, m)] = MISSING
                    continue
                r = part.loc[m]
                if stat == "mean (std)":
                    cell = fmt_mean_std(r["mean"], r["std"], digits)
                elif stat == "max – min":
                    cell = f"{fmt_fixed(r['max'], digits)} – {fmt_fixed(r['min'], digits)}"
                else:
                    cell = fmt_fixed(r["seed0"], digits)
                row[SET_NAMES.get(m, m)] = cell
            rows.append(row)
    frame = pd.DataFrame(rows)
    cap = caption or "Top-1 accuracy (%) over seeds: mean (std), max – min and the seed-0 value."
    return Table(frame, markdown(frame), latex(frame, rules, cap))


_SUMMARY_COLUMNS = {"n", "mean", "std", "sem", "ci_low", "ci_high", "ci_method", "median", "min",
                    "max", "range", "seed0", "n_excluded", "excluded", "note"}


def format_table6(
    summary: pd.DataFrame,
    rows: Sequence[str] = ("lr", "weight_decay"),
    cols: Sequence[str] = ("loss", "aug_repeats"),
    *,
    comparisons: pd.DataFrame | None = None,
    digits: int = 2,
    caption: str = "",
) -> Table:
    """A grid table like the RSB paper's Table 6 from a :func:`summarize` table.

    Row labels combine the ``rows`` columns, column headers the ``cols`` columns (columns of
    either that the summary lacks are skipped). Cells are ``mean (std)`` (just the mean for one
    seed); the best mean is bold; with ``comparisons`` (from :func:`compare_all`) a meaningful
    difference from the baseline is marked ``†`` and the baseline cell ``(ref)``.
    """
    if summary["metric"].nunique() > 1:
        raise AnalysisError("format_table6 takes the summary of one metric; filter summary.metric.")
    rows = [c for c in rows if c in summary.columns]
    cols = [c for c in cols if c in summary.columns]
    if not rows and not cols:
        raise AnalysisError("format_table6: the summary has none of the row or column keys.")
    best = summary["mean"].max()
    marks: dict[tuple, str] = {}
    ref_key = None
    keys = rows + cols
    if comparisons is not None and len(comparisons):
        for _, c in comparisons.iterrows():
            if all(k in c for k in keys) and bool(c.get("meaningful", False)):
                marks[tuple(c[k] for k in keys)] = " †"
        compared = {tuple(c[k] for k in keys) for _, c in comparisons.iterrows()
                    if all(k in c for k in keys)}
        others = [tuple(s[k] for k in keys) for _, s in summary.iterrows()
                  if tuple(s[k] for k in keys) not in compared]
        ref_key = others[0] if len(others) == 1 else None
    cells: dict[str, dict[str, str]] = {}
    col_order: list[str] = []
    for _, s in summary.iterrows():
        rlabel = ", ".join(f"{_short(k)}={fmt_value(s[k])}" for k in rows) or "all"
        clabel = ", ".join(f"{_short(k)}={fmt_value(s[k])}" for k in cols) or summary["metric"].iloc[0]
        if clabel not in col_order:
            col_order.append(clabel)
        cell = fmt_mean_std(s["mean"], s["std"], digits) if s["n"] else MISSING
        if s["n"] and s["mean"] == best:
            cell = f"**{cell}**"
        key = tuple(s[k] for k in keys)
        cell += marks.get(key, "")
        if key == ref_key:
            cell += " (ref)"
        cells.setdefault(rlabel, {})[clabel] = cell
    frame = pd.DataFrame(
        [{"": r, **{c: cells[r].get(c, MISSING) for c in col_order}} for r in cells]
    )
    cap = caption or ("Top-1 accuracy (%): mean (std) over seeds per configuration; best in bold"
                      + ("; † meaningful difference from the reference (ref)" if marks else "")
                      + ".")
    return Table(frame, markdown(frame), latex(frame, (), cap))


def _short(col: str) -> str:
    return {"weight_decay": "wd", "aug_repeats": "RA", "crop_pct": "crop"}.get(col, col)
