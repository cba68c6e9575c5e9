"""The report's "Beside the paper" section: this run's comparisons next to the RSB paper's values
(:func:`analysis.groups.paper.beside_paper`), Table 1's and Table 3's layouts with both sides,
and report.json's ``beside_paper`` rows, which ``rsb-sweep paper``'s index reads.

It computes no statistic: it reads the comparisons section's and the paired section's tables, so
a verdict here is the same test, at the same Holm family, as in those sections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import PAPER_MODEL, PRETRAIN_RECIPE
from ..groups.paper import PaperComparison, judge_families, paper_families, paper_table, unmatched_levels
from ..load.paper import PAPER_RECIPES, read_paper_units
from ..present.tables_paper import beside_frame, table1_layout, table3_layout
from ..text import paper as T
from ..text.transfer import TRANSFER_BESIDE_PAPER
from .output import BESIDE_PAPER
from .section import Section, TableText

#: The keys of a report.json ``beside_paper`` row, in order.
ROW_KEYS = ("table", "comparison", "paper", "run", "direction", "decided", "sentence")


@dataclass(kw_only=True)
class BesidePaperSection(Section):
    """``data``: report.json's ``beside_paper`` rows (:data:`ROW_KEYS`, plus ``kind`` and
    ``within``); ``rows``: the result objects; ``tables``: the paper tables the run maps onto;
    ``table1`` / ``table3``: those layouts, paper / run per cell (None where they do not apply)."""

    name = BESIDE_PAPER
    rows: list[PaperComparison]
    tables: list[str]
    table1: TableText | None = None
    table3: TableText | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {BESIDE_PAPER: self.data or [], "beside_paper_tables": self.tables}
        for key in ("table1", "table3"):
            t = getattr(self, key)
            if t is not None:
                out[f"beside_paper_{key}"] = {"markdown": t.markdown, "latex": t.latex}
        return out

    def after(self) -> list[str]:
        return [f"**{title}** (paper / this run)\n\n{t.markdown}" for title, t in
                (("Table 1", self.table1), ("Table 3", self.table3)) if t is not None]


def _as_dict(sections: Iterable[Section] | Mapping[str, Section]) -> dict[str, Section]:
    if isinstance(sections, Mapping):
        return dict(sections)
    return {s.name: s for s in sections if s.name is not None}


def mapped_tables(df: pd.DataFrame, by: Sequence[str], evaluations: pd.DataFrame | None) -> list[str]:
    """The paper tables this run maps onto, from the configuration columns that vary (and the
    evaluation factors of ``evaluations``): in the paper's order."""
    recipes = set(df["recipe"].astype(str).str.lower()) & set(PAPER_RECIPES) if "recipe" in df.columns else set()
    if not recipes:
        return []
    named = PAPER_MODEL in df.columns and df[PAPER_MODEL].notna().any()
    found = {paper_table(f, by, {PAPER_MODEL: "x" if named else None}) for f in by}
    if not set(by) - {"recipe"}:
        found.add("table1")
    if evaluations is not None:
        for factor, table in (("crop_pct", "table9"), ("test_res", "figure4")):
            if factor in evaluations.columns and evaluations[factor].nunique(dropna=True) > 1:
                found.add(table)
    order = ("table1", "table3", "table6", "drop_path", "smoothing", "table9", "figure4")
    return [t for t in order if t in found]


def row_json(row: PaperComparison) -> dict[str, Any]:
    """One report.json ``beside_paper`` row."""
    return {"table": row.table, "comparison": T.comparison_label(row), "paper": T.paper_side(row),
            "run": T.run_side(row), "direction": row.direction, "decided": row.decided,
            "sentence": T.comparison_sentence(row), "kind": row.kind, "within": row.within}


def beside_paper_section(df: pd.DataFrame, by: Sequence[str],
                         sections: Iterable[Section] | Mapping[str, Section],
                         evaluations: pd.DataFrame | None = None,
                         experiment: Path | str | None = None) -> BesidePaperSection:
    """Beside the paper: every comparison of the ``comparisons`` and ``paired_comparisons``
    sections (``sections``: the report's, by name or as a list) that maps onto a paper table,
    with the paper's values, judged agree / disagree / undecided; Table 1's layout when only the
    recipe varies, Table 3's when models record their paper names. ``experiment``: the folder whose
    manifest's ``paper_units`` (a ``units: paper`` sweep) reads the run's values back in paper units."""
    done = _as_dict(sections)
    by = list(by)
    if PRETRAIN_RECIPE in df.columns:  # a transfer study (issue 20): its Table 5 is in the Transfer section
        return BesidePaperSection(sentences=[TRANSFER_BESIDE_PAPER], data=[], rows=[], tables=[])
    tables = mapped_tables(df, by, evaluations)
    cmp = done.get("comparisons")
    paired = done.get("paired_comparisons")
    units = read_paper_units(experiment)
    fams = paper_families(df, by, getattr(cmp, "data", None) if cmp is not None else None,
                          getattr(paired, "data", None) if paired is not None else None,
                          getattr(paired, "paired_baseline", None) if paired is not None else None, units)
    rows = judge_families(fams)
    unnamed = [T.table3_skipped_sentence()] if "model" in by and PAPER_MODEL not in df.columns else []
    if not tables:
        known = "recipe" in df.columns and bool(set(df["recipe"].astype(str).str.lower()) & set(PAPER_RECIPES))
        return BesidePaperSection(sentences=[T.no_mapping_sentence(by, known), *unnamed], data=[], rows=[], tables=[])
    t1 = table1_layout(df) if "table1" in tables else None
    t3 = table3_layout(df) if "table3" in tables else None
    layouts = [name for name, t in (("Table 1", t1), ("Table 3", t3)) if t is not None]
    sentences = ([T.count_sentence(rows, tables, layouts, unmatched_levels(fams), units)]
                 + [T.comparison_sentence(r) for r in rows] + unnamed)
    data = [row_json(r) for r in rows]
    return BesidePaperSection(sentences=sentences, data=data, rows=rows, tables=tables,
                              table=beside_frame(data) if data else None,
                              table1=TableText(t1.markdown, t1.latex) if t1 else None,
                              table3=TableText(t3.markdown, t3.latex) if t3 else None)
