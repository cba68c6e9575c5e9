"""The RSB paper's Table 5 layout for a transfer study: one row per target (and the source's own
validation set when its results are given), one column per pretraining recipe (and a baseline
column when given), each cell the mean (std) over every fine-tuning of that recipe's models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..contract import PRETRAIN_RECIPE, PRETRAIN_TRIAL, TERMINATED
from ..errors import AnalysisError
from ..groups.frames import StatusSpec, split_usable
from ..groups.transfer import transfer_rows
from ..text.formatting import fmt_fixed, fmt_mean_std
from .markup import Table, latex, markdown

MISSING = "–"
#: The row label of the source experiment's own validation set.
SOURCE_ROW = "{dataset} (source val)"


@dataclass(frozen=True, kw_only=True)
class Table5:
    """Result of :func:`format_table5`: ``numbers`` (one row per cell: ``row``, ``column``, ``mean``,
    ``std``, ``n`` runs, ``n_models`` pretrained models; NaN std for one run) and ``table``."""

    numbers: pd.DataFrame
    table: Table
    baseline_name: str | None = None

    @property
    def markdown(self) -> str:
        """The table as GitHub Markdown."""
        return self.table.markdown


def _cells(rows: pd.DataFrame, row: str, column: str, metric: str, models: str | None) -> dict[str, Any]:
    x = rows[metric].to_numpy(dtype=float)
    return {"row": row, "column": column, "mean": float(x.mean()),
            "std": float(x.std(ddof=1)) if len(x) > 1 else float("nan"), "n": len(x),
            "n_models": rows[models].nunique() if models else len(x)}


def table5_numbers(df: pd.DataFrame, source: pd.DataFrame | None = None, metric: str = "top1",
                   status: StatusSpec = TERMINATED) -> pd.DataFrame:
    """The numbers of Table 5, one row per (row, column) cell (see :class:`Table5`): fine-tunings
    per target and pretraining recipe; the source's seeds per recipe under its own dataset (only
    the source trials that were fine-tuned: their ``trial_id`` is a ``pretrain_trial``)."""
    usable, _ = transfer_rows(df, metric, status)
    if not len(usable):
        raise AnalysisError("Table 5: no usable fine-tunings (TERMINATED with a finite top-1).")
    out = [_cells(g, str(t), str(r), metric, PRETRAIN_TRIAL)
           for (t, r), g in usable.groupby(["dataset", PRETRAIN_RECIPE], sort=True)]
    if source is not None:
        src, _ = split_usable(source, metric, status)
        src = src[src["trial_id"].astype(str).isin(set(usable[PRETRAIN_TRIAL]))]  # only the models fine-tuned
        wanted = set(usable[PRETRAIN_RECIPE])
        for (d, r), g in src.groupby(["dataset", "recipe"], sort=True):
            if str(r) in wanted:
                out.append(_cells(g, SOURCE_ROW.format(dataset=d), str(r), metric, None))
    return pd.DataFrame(out)


def format_table5(
    df: pd.DataFrame,
    *,
    source: pd.DataFrame | None = None,
    baseline: Mapping[str, float] | pd.Series | None = None,
    baseline_name: str = "baseline",
    metric: str = "top1",
    digits: int = 2,
    status: StatusSpec = TERMINATED,
) -> Table5:
    """Table 5 of a transfer results table ``df`` (``rsb-sweep transfer``).

    ``source``: the source experiment's results (its recipes' own validation top-1 becomes the
    first row); ``baseline``: one number per row label (e.g. the paper's torchvision weights,
    ``{"flowers": 97.9}``), shown as the last column named ``baseline_name``. Cells are
    mean (std) over all fine-tunings (ddof=1; the mean alone for one run).
    """
    numbers = table5_numbers(df, source, metric, status)
    source_rows = [r for r in dict.fromkeys(numbers["row"]) if r.endswith("(source val)")]
    rows = source_rows + [r for r in dict.fromkeys(numbers["row"]) if r not in source_rows]
    columns = sorted(numbers["column"].unique())
    cell = {(r.row, r.column): fmt_mean_std(r.mean, r.std, digits) for r in numbers.itertuples()}
    base = dict(baseline) if baseline is not None else {}
    frame = pd.DataFrame([{"": r, **{c: cell.get((r, c), MISSING) for c in columns},
                           **({baseline_name: fmt_fixed(float(base[r]), digits) if r in base else MISSING}
                              if base else {})} for r in rows])
    runs = numbers.loc[~numbers["row"].isin(source_rows)]
    counts = (f"{runs['n'].min()}" if runs["n"].nunique() == 1 else f"{runs['n'].min()}–{runs['n'].max()}")
    models = (f"{runs['n_models'].min()}" if runs["n_models"].nunique() == 1
              else f"{runs['n_models'].min()}–{runs['n_models'].max()}")
    cap = (f"Top-1 accuracy (%) after fine-tuning: mean (std) over the {counts} fine-tunings of {models} "
           "pretrained models per pretraining recipe (columns) and target (rows), every fine-tuning pooled (the "
           "comparisons use each model's mean over its fine-tunings instead, the pretrained model being the unit)"
           + ("; the source row: the pretrained models' own validation set" if source_rows else "")
           + (f"; {baseline_name}: as given, one number" if base else "") + ".")
    return Table5(numbers=numbers, table=Table(frame, markdown(frame), latex(frame, (), cap)),
                  baseline_name=baseline_name if base else None)


def paper_table5(digits: int = 1) -> Table:
    """The RSB paper's own Table 5 (ImageNet-pretrained ResNet-50s, torchvision's and A1/A2/A3,
    fine-tuned on full-size targets), from the packaged paper values, for reference beside a run's:
    one row per target with its train / test sizes, one column per set of weights."""
    from ..load.paper import paper_values

    v = paper_values("table5")
    rows = list(dict.fromkeys(v["row"]))
    cols = [c for c in dict.fromkeys(v["column"]) if c.startswith("top1_")]
    num = v.set_index(["row", "column"])["number"]
    frame = pd.DataFrame([{"": r, "train / test images": _sizes(num, r),
                           **{c.removeprefix("top1_"): _paper_cell(num, r, c, digits) for c in cols}} for r in rows])
    cap = ("The RSB paper's Table 5: top-1 (%) after fine-tuning ImageNet-pretrained ResNet-50s, as printed "
           "(no spread given).")
    return Table(frame, markdown(frame), latex(frame, (), cap))


def _paper_cell(num: pd.Series, row: str, col: str, digits: int) -> str:
    x = num.get((row, col))
    return MISSING if x is None or pd.isna(x) else fmt_fixed(float(x), digits)


def _sizes(num: pd.Series, row: str) -> str:
    a, b = num.get((row, "train_size")), num.get((row, "test_size"))
    return MISSING if a is None or b is None or pd.isna(a) or pd.isna(b) else f"{int(a):,} / {int(b):,}"
