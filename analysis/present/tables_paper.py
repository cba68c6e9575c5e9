"""The paper's layouts with this run beside it: Table 1 (recipe × time, GPUs, peak memory, top-1 per
evaluation set) and Table 3 (architecture × recipe: top-1 and time), each cell ``paper / run``.

The paper's side is :func:`analysis.load.paper.paper_values`; the run's is the mean over its
usable trials (TERMINATED, finite top-1) of each recipe (and model). Cost columns are in each
side's own units (the paper's V100 hours and MB per GPU; the run's wall time and GB).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..groups.frames import split_usable
from ..contract import PAPER_MODEL
from ..load.paper import PAPER_RECIPES, paper_number
from ..text.formatting import MISSING, fmt_duration
from .markup import Table, latex, markdown

#: Table 1's evaluation sets: the paper's column and the run's.
TABLE1_SETS = (("val", "top1_val", "top1"), ("ReaL", "top1_real", "top1_real"), ("V2", "top1_v2", "top1_v2"))


def _num(v: Any, digits: int = 2, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    return f"{float(v):.{digits}f}{unit}"


def _cell(paper: str, run: str) -> str:
    return f"{paper} / {run}"


def _mean(rows: pd.DataFrame, col: str) -> float | None:
    if col not in rows.columns:
        return None
    v = pd.to_numeric(rows[col], errors="coerce").dropna()
    return float(v.mean()) if len(v) else None


def _gpus(rows: pd.DataFrame) -> str:
    if "n_workers" not in rows.columns or rows["n_workers"].dropna().empty:
        return MISSING
    n = int(rows["n_workers"].dropna().mode().iloc[0])
    dev = rows["device"].dropna().astype(str).mode() if "device" in rows.columns else pd.Series([], dtype=str)
    return f"{n} × {dev.iloc[0]}" if len(dev) else str(n)


def _recipes(rows: pd.DataFrame) -> list[str]:
    have = set(rows["recipe"].astype(str).str.lower()) if "recipe" in rows.columns else set()
    return [r for r in PAPER_RECIPES if r in have]


def table1_layout(df: pd.DataFrame) -> Table | None:
    """Table 1's layout, paper / run per cell, one row per recipe A1/A2/A3 the run has (None
    without one). The run's top-1 per evaluation set where it evaluated it (``top1_real``,
    ``top1_v2``), else –."""
    rows = split_usable(df, "top1")[0]
    recipes = _recipes(rows)
    if not recipes:
        return None
    out = []
    for r in recipes:
        g = rows[rows["recipe"].astype(str).str.lower() == r]
        paper = {c: paper_number("table1", r.upper(), c)
                 for c in ("train_hours", "gpus", "peak_mem_mb_per_gpu", *(s[1] for s in TABLE1_SETS))}
        line = {"recipe": r.upper(), "seeds": str(len(g)),
                "time (paper / run)": _cell(fmt_duration(paper["train_hours"]), fmt_duration(_mean(g, "train_hours"))),
                "GPUs (paper / run)": _cell(f"{_num(paper['gpus'], 0)} × V100", _gpus(g)),
                "peak memory (paper / run)": _cell(_num(paper["peak_mem_mb_per_gpu"], 0, " MB"),
                                                   _num(_mean(g, "peak_mem_gb"), 2, " GB"))}
        for name, pcol, rcol in TABLE1_SETS:
            line[f"top-1 {name} % (paper / run)"] = _cell(_num(paper[pcol]), _num(_mean(g, rcol)))
        out.append(line)
    frame = pd.DataFrame(out)
    return Table(frame, markdown(frame), latex(frame, caption="Table 1 of the paper beside this run (paper / run)."))


def table3_layout(df: pd.DataFrame) -> Table | None:
    """Table 3's layout: one row per model with a recorded paper name (``paper_model``), per recipe
    top-1 and time as paper / run; None when no model records one."""
    rows = split_usable(df, "top1")[0]
    if PAPER_MODEL not in rows.columns or "model" not in rows.columns:
        return None
    rows = rows[rows[PAPER_MODEL].notna() & (rows[PAPER_MODEL].astype(str).str.strip() != "")]
    recipes = _recipes(rows)
    if not recipes:
        return None
    out = []
    for (model, name), g in rows.groupby(["model", PAPER_MODEL], sort=True):
        line = {"architecture": str(name), "run's model": str(model)}
        for r in recipes:
            gr = g[g["recipe"].astype(str).str.lower() == r]
            top1 = paper_number("table3", str(name), f"top1_{r}")
            hours = paper_number("table3", str(name), f"{r}_hours")
            line[f"top-1 {r.upper()} % (paper / run)"] = _cell(_num(top1), _num(_mean(gr, "top1")))
            line[f"time {r.upper()} (paper / run)"] = _cell(fmt_duration(hours), fmt_duration(_mean(gr, "train_hours")))
        out.append(line)
    frame = pd.DataFrame(out)
    return Table(frame, markdown(frame), latex(frame, caption="Table 3 of the paper beside this run (paper / run)."))


def beside_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The section's table: one line per comparison beside the paper (report.json's rows)."""
    cols = ["table", "comparison", "paper", "run", "direction", "decided"]
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
