"""The report's Transfer section (issue 20, the RSB paper's Table 5): shown when the results table
is a transfer study's (it has ``pretrain_recipe``, :func:`is_transfer`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import (MAIN_METRIC, PRETRAIN_RECIPE, PRETRAIN_TRIAL, RESULTS_STEM, SWEEP_MANIFEST, TRANSFER_KEY,
                        TRANSFER_SOURCE_KEY)
from ..errors import AnalysisError
from ..groups.baseline import is_spec, parse_baseline
from ..groups.frames import describe_exclusions
from ..groups.transfer import (recipe_pairs, transfer_comparisons, transfer_improvement, transfer_rows,
                               transfer_variance)
from ..load.io import load_results
from ..present.figures_transfer import plot_transfer
from ..present.tables_transfer import Table5, format_table5, paper_table5
from ..text import transfer as T
from .section import FigurePlan, Folded, Section

#: The variance table's columns as the section shows them.
SHOWN = ("dataset", PRETRAIN_RECIPE, "n_models", "n", "between_std", "within_std", "share_between",
         "share_between_ci_low", "share_between_ci_high", "between_ci_low", "between_ci_high", "within_ci_low",
         "within_ci_high", "within_example_share", "between_example_share", "notes")


def is_transfer(results: Any) -> bool | None:
    """True when ``results`` (a DataFrame, a results file or an experiment folder) has the
    ``pretrain_recipe`` column; None otherwise (the report's steps read None as "absent")."""
    if isinstance(results, pd.DataFrame):
        return True if PRETRAIN_RECIPE in results.columns else None
    p = Path(results)
    for f in ([p / f"{RESULTS_STEM}.parquet", p / f"{RESULTS_STEM}.csv"] if p.is_dir() else [p]):
        if f.suffix == ".parquet" and f.is_file():
            import pyarrow.parquet as pq

            return True if PRETRAIN_RECIPE in pq.read_schema(f).names else None
        if f.suffix == ".csv" and f.is_file():
            with f.open() as fh:
                return True if PRETRAIN_RECIPE in fh.readline().strip().split(",") else None
    return None


def find_transfer_source(experiment: Path | str) -> pd.DataFrame | None:
    """The source experiment's results of a transfer experiment (its manifest's
    ``transfer.source``), or None: no manifest, not a transfer, or the source folder gone. A
    source folder that is there but has no readable results raises AnalysisError naming it."""
    manifest = Path(experiment) / SWEEP_MANIFEST
    if not manifest.is_file():
        return None
    try:
        doc = json.loads(manifest.read_text())
    except (OSError, ValueError) as e:
        raise AnalysisError(f"{manifest} is not readable JSON ({e}); restore it or report the results file.") from e
    source = (doc.get(TRANSFER_KEY) or {}).get(TRANSFER_SOURCE_KEY) if isinstance(doc, dict) else None
    if not source or not Path(source).is_dir():
        return None
    return load_results(source)


@dataclass(kw_only=True)
class TransferSection(Section):
    """``data``: the variance split per target, the comparisons and the probabilities of
    improvement; ``table5``: the paper's Table 5 layout; ``table``: the variance split."""

    name = "transfer"
    digits = 2
    table5: Table5 | None = None

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"transfer": self.data}
        if self.table5 is not None:
            out["table5"] = {"markdown": self.table5.table.markdown, "latex": self.table5.table.latex,
                             "numbers": self.table5.numbers}
        return out

    def after(self) -> list[str | Folded | pd.DataFrame]:
        paper = Folded("The RSB paper's Table 5, for reference (ImageNet-pretrained ResNet-50s, full-size "
                       "targets, as printed, no spread given)", paper_table5().markdown)
        return ([self.table5.markdown] if self.table5 is not None else []) + [paper]


def _baseline_recipe(baseline: Any) -> str | None:
    """A ``pretrain_recipe=…`` baseline spec (or mapping) as the recipe compared against; else None."""
    if is_spec(baseline):
        baseline = parse_baseline(baseline)
    if isinstance(baseline, dict) and PRETRAIN_RECIPE in baseline:
        return str(baseline[PRETRAIN_RECIPE])
    return None


def _comparisons(df: pd.DataFrame, baseline: Any) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """(sentences, comparison rows, probabilities of improvement) of the recipes."""
    try:
        cmp = transfer_comparisons(df, _baseline_recipe(baseline), MAIN_METRIC)
    except AnalysisError as e:
        return [T.not_compared(str(e))], [], []
    said = [T.UNIT, *[T.per_model(str(s)) for s in cmp["sentence"]]]
    improvements = []
    for a, b in recipe_pairs(df):
        try:
            poi = transfer_improvement(df, a, b, MAIN_METRIC).to_dict()
        except AnalysisError:
            continue
        improvements.append({"a": a, "b": b, **poi})
        said.append(T.improvement_sentence(a, b, poi))
    return said, cmp.to_dict(orient="records"), improvements


def _overview(df: pd.DataFrame, pooled: pd.DataFrame) -> str:
    """The section's first sentence, from the usable fine-tunings."""
    usable, _ = transfer_rows(df, MAIN_METRIC)
    runs = usable.groupby(["dataset", PRETRAIN_TRIAL]).size()
    per_target = usable.groupby("dataset")[PRETRAIN_TRIAL].nunique()
    shares = pooled["share_between"].tolist() if "share_between" in pooled.columns else []
    return T.overview_sentence(sorted(usable["dataset"].unique()), sorted(usable[PRETRAIN_RECIPE].unique()),
                               int(usable[PRETRAIN_TRIAL].nunique()), (int(runs.min()), int(runs.max())), shares,
                               (int(per_target.min()), int(per_target.max())))


def transfer_section(df: pd.DataFrame, predictions: pd.DataFrame | None = None, baseline: Any = None,
                     source: pd.DataFrame | None = None) -> TransferSection:
    """Table 5, the nested variance split per target (with its test-set-noise parts when
    ``predictions`` are given), the recipes compared on each target and across targets, and the
    figure. ``baseline``: a ``pretrain_recipe=…`` spec names the recipe compared against;
    ``source``: the source experiment's results (Table 5's first row)."""
    usable, excluded = transfer_rows(df, MAIN_METRIC)
    if not len(usable):  # e.g. every fine-tuning crashed: say why, do not fail the report
        why = describe_exclusions(excluded["reason"])
        return TransferSection(sentences=[T.no_usable_sentence(why)], data={"excluded": why})
    table5 = format_table5(df, source=source)
    var = transfer_variance(df, MAIN_METRIC, predictions=predictions)
    pooled = var[var[PRETRAIN_RECIPE] == "all"]
    said = [_overview(df, pooled), T.PER_SEED_LEFT_OUT] + [T.variance_sentence(r) for r in pooled.to_dict(orient="records")]
    noise = [s for r in pooled.to_dict(orient="records") if (s := T.noise_sentence(r))]
    said += noise or ([T.NO_PREDICTIONS] if predictions is None or not len(predictions) else [])
    if var.attrs.get("excluded"):
        said.append(T.excluded_sentence(var.attrs["excluded"]))
    more, rows, improvements = _comparisons(df, baseline)
    plan = FigurePlan(key="transfer", file="transfer_per_target", width=900, plot=plot_transfer,
                      kwargs={"df": df, "metric": MAIN_METRIC},
                      annotations={"targets": sorted(map(str, df["dataset"].dropna().unique())),
                                   "recipes": sorted(map(str, df[PRETRAIN_RECIPE].dropna().unique()))})
    shown = var.loc[:, [c for c in SHOWN if c in var.columns]]
    data = {"variance": var.to_dict(orient="records"), "comparisons": rows, "improvement": improvements,
            "excluded": var.attrs.get("excluded", "")}
    return TransferSection(sentences=said + more, table=shown, data=data, figures=[plan], table5=table5)
