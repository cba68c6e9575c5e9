"""The report's comparison sections: configurations against a baseline or within a grid (with
Table 6 and the comparison figure), an ``rsb-sweep ab`` stopping path (decision.json), and
crop ratio / test resolution paired by trial from evaluations.parquet (with Figure 4).

Each returns its typed :class:`~analysis.report.section.Section`; sentences come from
:mod:`analysis.present.conclusions_compare` or from the statistic that computed the number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import DECISION_FILE, EVAL_ONLY_FIELDS, MAIN_METRIC
from ..errors import AnalysisError
from ..groups.baseline import baseline_levels, default_baseline, split_baseline
from ..groups.comparisons import compare_all
from ..groups.evaluations import figure4_choice, figure4_rows, paired_baseline, paired_within, varying_factors
from ..groups.frames import split_usable
from ..groups.grid import compare_within, compared_factors
from ..groups.paired import compare_paired
from ..load.io import metric_columns
from ..present import conclusions_compare as C
from ..present.figures_grid import plot_grid, plot_vs
from ..present.figures_paired import plot_test_res
from ..present.figures_sequential import plot_stopping_path
from ..present.tables import format_table6
from .section import FigurePlan, Section, TableText

#: Columns of a comparisons table shown in the report (report.json keeps them all).
COMPARISONS_SHOWN = ("name_a", "name_b", "n_a", "n_b", "diff", "diff_ci_low", "diff_ci_high", "test_diff_ci_low",
                     "test_diff_ci_high", "bm_p", "bm_method", "p_decision", "p_a_gt_b", "pab_ci_low",
                     "pab_ci_high", "cohen_d", "verdict", "test_set_verdict", "meaningful")
#: Columns of the paired comparisons shown in the report (report.json keeps them all).
PAIRED_SHOWN = ("factor", "eval_set", "crop_pct", "test_res", "level", "baseline", "n_pairs", "mean_level",
                "mean_baseline", "diff", "diff_ci_low", "diff_ci_high", "wilcoxon_p", "p_holm", "frac_better",
                "verdict", "n_unpaired", "n_excluded")


@dataclass(kw_only=True)
class ComparisonsSection(Section):
    """``data``: the comparisons table (None when nothing is compared); ``design``: ``baseline``,
    ``within`` or ``none``; ``baseline``: its spec and how it was chosen; ``skipped_factors``:
    the evaluation-only factors not compared here; ``table6``: a grid's Table 6."""

    name = "comparisons"
    design: str
    baseline: dict[str, Any] | None = None
    skipped_factors: list[str] | None = None
    table6: TableText | None = None

    def json(self) -> dict[str, Any]:
        out = {"design": self.design, **super().json()}
        for key in ("baseline", "skipped_factors"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.table6 is not None:
            out["table6"] = asdict(self.table6)
        return out

    def after(self) -> list[str | pd.DataFrame]:
        return [self.table6.markdown] if self.table6 is not None else []

    @property
    def family(self) -> int:
        """The largest Holm family of the comparisons (:func:`family_size`)."""
        return family_size(self.data)


@dataclass(kw_only=True)
class StoppingPathSection(Section):
    """``data``: decision.json; ``path``: its looks as :func:`analysis.sequential_compare`'s
    DataFrame; ``names``: the arms' labels."""

    name = "stopping_path"
    path: pd.DataFrame
    names: dict[str, str]


@dataclass(kw_only=True)
class PairedSection(Section):
    """``data``: {factor: :func:`analysis.compare_paired`'s rows}; ``paired_baseline``: {factor:
    {"value", "chosen"}}; ``figure4``: the slice Figure 4 draws (None when it is not drawn)."""

    name = "paired_comparisons"
    paired_baseline: dict[str, dict[str, Any]]
    figure4: dict[str, Any] | None = None

    def json(self) -> dict[str, Any]:
        out = {**super().json(), "paired_baseline": self.paired_baseline}
        if self.figure4 is not None:
            out["figure4"] = self.figure4
        return out


def comparisons_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame,
                        baseline: Any = None, predictions: pd.DataFrame | None = None,
                        evaluations: pd.DataFrame | None = None) -> ComparisonsSection:
    """Comparisons: every configuration against the baseline (one factor), or each factor
    within the levels of the others (a grid); evaluation-only factors are skipped.

    With ``evaluations`` (evaluations.parquet), the evaluation-only part of ``baseline``
    (``crop_pct=…``, ``test_res=…``) is the paired section's and only the rest is used here.
    The figure (a heat map of a grid, else the metric against the factor) is drawn whenever two
    configurations have usable trials.
    """
    by = list(by)
    compared, eval_only = compared_factors(df, by)
    if evaluations is not None:
        baseline, _ = split_baseline(baseline)
        eval_only = [f for f in EVAL_ONLY_FIELDS if f in eval_only or f in varying_factors(evaluations)]
    skipped = C.describe_skipped_factors(eval_only, paired=evaluations is not None)
    usable_groups = top1[top1["n"] > 0]
    figures = _comparison_figures(df, by) if by and len(usable_groups) > 1 else []
    if not compared or len(usable_groups) < 2:
        single = not by or len(usable_groups) < 2
        return ComparisonsSection(sentences=skipped + [C.nothing_to_compare(single)], design="none",
                                  figures=figures)
    try:
        cmp, design, chosen = _compare(df, by, usable_groups, baseline, predictions)
    except AnalysisError as e:
        return ComparisonsSection(sentences=skipped + [C.no_comparison(e)], design="none", figures=figures)
    cols = [c for c in ("factor", "within", *by) if c in cmp.columns] + list(COMPARISONS_SHOWN)
    if predictions is None:
        cols = [c for c in cols if not c.startswith("test_")]
    return ComparisonsSection(sentences=skipped + C.describe_comparisons(cmp), table=cmp[cols], data=cmp,
                              design=design, baseline=chosen, skipped_factors=eval_only,
                              table6=_table6(top1, by) if len(by) >= 2 else None, figures=figures)


def _compare(df: pd.DataFrame, by: list[str], usable_groups: pd.DataFrame, baseline: Any,
             predictions: pd.DataFrame | None) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """(comparisons, design, the baseline and how it was chosen): one factor against the baseline
    (:func:`analysis.compare_all`), or a grid factor by factor (:func:`analysis.compare_within`)."""
    if len(by) == 1:
        base = baseline if baseline is not None else default_baseline(usable_groups, by)
        cmp = compare_all(df, base, by=by, metric=MAIN_METRIC, predictions=predictions)
        return cmp, "baseline", {"spec": base, "chosen": "given" if baseline is not None else
                                 "automatically: the configuration with the most trials"}
    spec = baseline_levels(baseline, by)
    cmp = compare_within(df, by, MAIN_METRIC, baseline=spec, predictions=predictions)
    return cmp, "within", {"spec": spec or None, "chosen": (
        "given" if spec else "per factor: the level with the most trials")}


def _table6(top1: pd.DataFrame, by: list[str]) -> TableText:
    """Table 6 of a grid: LR × WD rows when both vary among 3+ factors, else the first factor's."""
    lr_wd = [c for c in ("lr", "weight_decay") if c in by]
    rows = lr_wd if len(lr_wd) == 2 and len(by) > 2 else by[:1]
    t6 = format_table6(top1, rows=rows, cols=[c for c in by if c not in rows])
    return TableText(t6.markdown, t6.latex)


def _comparison_figures(df: pd.DataFrame, by: list[str]) -> list[FigurePlan]:
    """A grid's heat map of the first two factors, else the metric (each set) against the factor."""
    if len(by) >= 2:
        return [FigurePlan(key="comparison", file="grid", width=800, plot=plot_grid,
                           kwargs={"df": df, "x": by[0], "y": by[1], "metric": MAIN_METRIC})]
    return [FigurePlan(key="comparison", file=f"vs_{by[0]}", width=800, plot=plot_vs,
                       kwargs={"df": df, "x": by[0], "metric": metric_columns(df, MAIN_METRIC)})]


def family_size(cmp: pd.DataFrame | None) -> int:
    """The largest Holm family of a comparisons table (one per factor in a grid), at least 1."""
    if not isinstance(cmp, pd.DataFrame) or not len(cmp):
        return 1
    tested = cmp[cmp["verdict"].notna()]
    if "factor" in tested.columns and len(tested):
        return int(tested.groupby("factor").size().max())
    return max(1, len(tested))


def find_decision(experiment: Path | str) -> dict[str, Any] | None:
    """The experiment's ``decision.json`` (an ``rsb-sweep ab`` comparison), or None without one."""
    path = Path(experiment) / DECISION_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise AnalysisError(f"{path} is not valid JSON ({e}); rerun `rsb-sweep resume` to "
                            "rewrite it.") from None


def decision_path(decision: dict[str, Any]) -> pd.DataFrame:
    """decision.json's looks as :func:`analysis.sequential_compare`'s DataFrame (null bounds
    are ±inf; ``running``/``undecided`` are its ``continue``), for its figure and sentence."""
    looks = decision.get("looks") or []
    path = pd.DataFrame({
        "n": [int(e["n"]) for e in looks],
        "n_a": [int(e["n_seeds"]["a"]) for e in looks],
        "n_b": [int(e["n_seeds"]["b"]) for e in looks],
        "diff": [float("nan") if e["diff"] is None else e["diff"] for e in looks],
        "cs_low": [-float("inf") if e["cs_low"] is None else e["cs_low"] for e in looks],
        "cs_high": [float("inf") if e["cs_high"] is None else e["cs_high"] for e in looks],
        "decision": ["continue" if e["decision"] in ("running", "undecided") else e["decision"]
                     for e in looks],
    })
    path.attrs.update(alpha=float(decision["alpha"]), delta=float(decision["delta"]))
    return path


def stopping_path_section(decision: dict[str, Any]) -> StoppingPathSection:
    """An ``rsb-sweep ab`` comparison: the confidence sequence at each look and the verdict;
    its stopping-path figure (:func:`analysis.plot_stopping_path`) once a wave has finished."""
    path = decision_path(decision)
    names = decision.get("names") or {"a": "A", "b": "B"}
    metric = decision.get("metric", MAIN_METRIC)
    sentences = C.describe_stopping(decision, path, metric)
    if path.empty:
        return StoppingPathSection(sentences=sentences, data=decision, path=path, names=names)
    plan = FigurePlan(key="stopping_path", file="stopping_path", width=700, plot=plot_stopping_path,
                      kwargs={"path": path, "name_a": names["a"], "name_b": names["b"], "metric": metric})
    table = path.assign(decision=[e["decision"] for e in decision["looks"]])
    return StoppingPathSection(sentences=sentences, table=table, data=decision, path=path, names=names,
                               figures=[plan])


def paired_section(evaluations: pd.DataFrame, baseline: Any = None) -> PairedSection:
    """Crop ratio and test resolution compared paired by trial, from evaluations.parquet.

    For each evaluation-only factor (``crop_pct``, ``test_res``) that takes 2+ values:
    :func:`analysis.compare_paired` of every level against the baseline level (the
    ``--baseline`` value of that factor, else the trials' own setting:
    :func:`analysis.groups.evaluations.paired_baseline`), within ``recipe`` and the other varying
    training columns, per eval set and value of the other evaluation-only factor. Rows that
    are not TERMINATED or lack top-1 are counted, in the first sentence and in each row.
    Figure 4 (report.json's ``figure4``: its slice) is drawn when test_res takes 2+ values.
    Table 9 from the same evaluations is the summary's ``table9``.
    """
    _, given = split_baseline(baseline)
    factors = varying_factors(evaluations)
    sentences = C.describe_evaluations(evaluations, factors, MAIN_METRIC)
    unused = {f: v for f, v in given.items() if f not in factors}
    if unused:
        sentences.append(C.unused_paired_baseline(unused))
    within = paired_within(evaluations)
    data: dict[str, pd.DataFrame] = {}
    baselines: dict[str, dict[str, Any]] = {}
    for f in factors:
        level, how = paired_baseline(evaluations, f, given)
        baselines[f] = {"value": level, "chosen": how}
        try:
            cmp = compare_paired(evaluations, f, level, within, MAIN_METRIC)
        except AnalysisError as e:
            sentences.append(C.no_paired_comparison(f, e))
            continue
        data[f] = cmp
        sentences += [C.describe_paired_factor(f, level, how, cmp.attrs["groups"]), *C.describe_paired(cmp)]
    choice, figures = _figure4(evaluations, sentences)
    table = None
    if data:
        table = pd.concat(list(data.values()), ignore_index=True)
        table = table[[c for c in (PAIRED_SHOWN[0], *within, *PAIRED_SHOWN[1:]) if c in table.columns]]
    return PairedSection(sentences=sentences, table=table, data=data, paired_baseline=baselines, figure4=choice,
                         figures=figures)


def _figure4(evaluations: pd.DataFrame, sentences: list[str]) -> tuple[dict[str, Any] | None, list[FigurePlan]]:
    """Figure 4's slice and plan (none without 2+ test resolutions or a finished evaluation in the
    slice); its sentences are appended to ``sentences``."""
    choice = figure4_choice(evaluations)
    if choice is None:
        return None, []
    rows = figure4_rows(evaluations, choice)
    if split_usable(rows, MAIN_METRIC)[0].empty:
        sentences.append(C.figure4_not_drawn(choice))
        return None, []
    sentences += C.describe_figure4(rows, choice, MAIN_METRIC)
    return choice, [FigurePlan(key="figure4", file="figure4_test_res", width=900, plot=plot_test_res,
                               kwargs={"evaluations": rows, "metric": MAIN_METRIC, "by": choice["by"]})]
