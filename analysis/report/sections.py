"""The report's sections about the seeds of each configuration: provenance, summary (Table 9),
Figure 2, normality, outliers, test-set noise, variance components, seeds needed, expected
best-of-n and the training curves. Comparisons are in :mod:`.sections_compare`.

Each function returns its typed :class:`~analysis.report.section.Section`: its table, its
sentences (from :mod:`analysis.present.conclusions` or from the statistic that computed the
number, so they are true for the data given), its report.json data and the figures it draws.
The notebook shows what they return; :func:`analysis.build_report` runs them without a kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import EVALUATIONS_STEM, MAIN_METRIC, MAIN_SET, RESULTS_STEM
from ..errors import AnalysisError
from ..groups.noise import example_noise, own_evaluation, test_set_noise
from ..groups.provenance import distribution_groups, provenance, restrict
from ..groups.summaries import expected_max_table, normality, outlier_seeds, pooled_std, summarize
from ..groups.variance import variance_components
from ..load.io import load_history, metric_columns
from ..present import conclusions as C
from ..present.figures import (
    expected_max_annotations,
    plot_expected_max,
    plot_history,
    plot_seed_distribution,
    seed_distribution_annotations,
)
from ..present.tables import format_table9
from ..present.tables_paired import table9_tables
from ..stats.sample_size import seeds_needed_for_p, seeds_needed_table
from .section import FigurePlan, Folded, Section


@dataclass(kw_only=True)
class ProvenanceSection(Section):
    """What ran (``data``: :func:`analysis.groups.provenance.provenance`), its cost as the table."""

    name = "provenance"
    digits = 2
    markdown: str
    excluded: pd.DataFrame
    #: The settings of every trial, stream seeds, software: shown folded (report presentation).
    details: str = ""

    def intro(self) -> list[str | Folded]:
        folded = [Folded("Settings of every trial, stream seeds, software", self.details)] if self.details else []
        return [self.markdown, *folded]

    def after(self) -> list[str | pd.DataFrame]:
        return [self.excluded] if len(self.excluded) else []


@dataclass(frozen=True, kw_only=True)
class Table9:
    """report.json's ``table9``: from the results rows, or from evaluations.parquet (then with the
    baseline crop ratio and one table per eval set, test resolution and slice)."""

    source: str
    markdown: str
    latex: str
    baseline: Any = None
    tables: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(kw_only=True)
class SummarySection(Section):
    """Seed statistics per configuration and evaluation set (``data``), ``top1``'s rows, Table 9."""

    name = "summary"
    top1: pd.DataFrame
    table9: Table9

    def json(self) -> dict[str, Any]:
        return {"summary": self.data, "table9": self.table9.to_dict()}

    def after(self) -> list[str | pd.DataFrame]:
        return [self.table9.markdown]


@dataclass(kw_only=True)
class FigureSection(Section):
    """A figure only (no sentences, nothing in report.json but its files), with notes under it."""

    said: list[str]

    def notes(self) -> list[str]:
        return list(self.said)


@dataclass(kw_only=True)
class NormalitySection(Section):
    name = "normality"


@dataclass(kw_only=True)
class OutliersSection(Section):
    name = "outliers"


@dataclass(kw_only=True)
class TestSetNoiseSection(Section):
    """``data``: the binomial bound per configuration (None without n_val); ``example``:
    :func:`analysis.example_noise` per configuration (None without per-image predictions)."""

    name = "test_set_noise"
    example: pd.DataFrame | None = None

    def json(self) -> dict[str, Any]:
        out = super().json() if self.data is not None else {}
        if self.example is not None:
            out["test_set_noise_example"] = self.example
        return out


@dataclass(kw_only=True)
class VarianceSection(Section):
    name = "variance_components"


@dataclass(kw_only=True)
class SeedsNeededSection(Section):
    name = "seeds_needed"


@dataclass(kw_only=True)
class ExpectedMaxSection(Section):
    name = "expected_max"


def provenance_section(df: pd.DataFrame, experiment: Path | str) -> ProvenanceSection:
    """What ran, with what, on what, at what cost; what the statistics exclude."""
    prov = provenance(df, experiment)
    main, details = C.describe_provenance(prov, experiment), C.describe_provenance_details(prov, experiment)
    prov["markdown"] = f"{main}\n{details}"
    return ProvenanceSection(sentences=C.describe_status(df), table=prov["cost"], data=prov, markdown=main,
                             details=details, excluded=pd.DataFrame(prov["excluded"]))


def summary_section(df: pd.DataFrame, by: Sequence[str], evaluations: pd.DataFrame | None = None,
                    baseline: Any = None) -> SummarySection:
    """Mean, std, CI of the mean, range, seed 0 per configuration and evaluation set; Table 9.

    Table 9 (report.json's ``table9``) comes from ``evaluations`` when their crop_pct takes 2+
    values: one table per eval set and test resolution, each crop ratio with its paired
    difference from the baseline crop (:func:`analysis.present.tables_paired.table9_tables`;
    ``source: "evaluations"``, the tables under ``tables``); else from the results rows.
    """
    summary = summarize(df, by=list(by) or None, metric=metric_columns(df, MAIN_METRIC))
    top1 = summary[summary["metric"] == MAIN_METRIC]
    sentences = C.describe_summary(top1, by)
    tables, notes = table9_tables(evaluations, baseline) if evaluations is not None else ([], [])
    if tables:
        table9 = Table9(source=EVALUATIONS_STEM, baseline=tables[0]["baseline"], tables=tables,
                        markdown="\n\n".join(f"**{t['title']}**\n\n{t['markdown']}" for t in tables),
                        latex="\n\n".join(t["latex"] for t in tables))
        sentences.append(C.describe_table9_source(tables, table9.baseline))
    else:
        t9 = format_table9(summary)
        table9 = Table9(source=RESULTS_STEM, markdown=t9.markdown, latex=t9.latex)
    return SummarySection(sentences=sentences + notes, table=summary, data=summary, top1=top1, table9=table9)


def figure2_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame) -> FigureSection:
    """The paper's Figure 2 over the largest configurations with 3 or more seeds (at most 6)."""
    groups, note = distribution_groups(top1, list(by))
    if not groups:
        return FigureSection(said=[C.NO_SEED_DISTRIBUTION])
    sub = restrict(df, groups)
    fits = normality(sub, by=list(by) or None, metric=MAIN_METRIC)
    plan = FigurePlan(key="figure2", file="figure2_seed_distribution", width=900, plot=plot_seed_distribution,
                      kwargs={"df": sub, "metric": MAIN_METRIC, "by": list(by) or None, "fits": fits},
                      annotations=seed_distribution_annotations(fits, list(by)))
    return FigureSection(figures=[plan], said=[f"*{note}*"] if note else [])


def normality_section(df: pd.DataFrame, by: Sequence[str]) -> NormalitySection:
    """Shapiro-Wilk (lattice-calibrated when the metric is coarse), K², KS per configuration."""
    fits = normality(df, by=list(by) or None, metric=MAIN_METRIC)
    cols = [*by, "n", "mean", "std", "shapiro_w", "shapiro_p", "shapiro_p_lattice", "step_ratio",
            "normaltest_p", "ks_p", "skewness", "excess_kurtosis", "notes"]
    return NormalitySection(sentences=C.describe_normality(fits, by),
                            table=fits[[c for c in cols if c in fits.columns]], data=fits)


def outliers_section(df: pd.DataFrame, by: Sequence[str]) -> OutliersSection:
    """Outlier seeds: robust z and the leave-one-out Gaussian tail, from 10 seeds."""
    out = outlier_seeds(df, MAIN_METRIC, by=list(by) or None)
    flagged = out[out["outlier"]]
    return OutliersSection(sentences=C.describe_outliers(out, MAIN_METRIC),
                           table=flagged if len(flagged) else out.head(5), data=out)


def test_set_noise_section(df: pd.DataFrame, by: Sequence[str],
                           predictions: pd.DataFrame | None = None) -> TestSetNoiseSection:
    """With per-image predictions, :func:`analysis.example_noise` per configuration on the main
    evaluation set (report.json's ``test_set_noise_example``); else the binomial upper bound on
    per-image test-set noise against the seed std (``test_set_noise``)."""
    noise = test_set_noise(df, MAIN_METRIC, by=list(by) or None) if "n_val" in df.columns else None
    if predictions is not None and len(predictions) and "trial_id" in df.columns:
        main = own_evaluation(predictions, df, MAIN_SET)
        if len(main):
            ex = example_noise(main, results=df, by=list(by) or None)
            return TestSetNoiseSection(sentences=C.describe_example_noise(ex, by), table=ex, data=noise, example=ex)
    if noise is None:
        return TestSetNoiseSection(sentences=[C.NO_N_VAL])
    return TestSetNoiseSection(sentences=C.describe_noise(noise, by), table=noise, data=noise)


def variance_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame) -> VarianceSection:
    """Seed sources (init, data order, augmentation) when the sweep varied them separately."""
    found, failed, data, tables = [], [], [], []
    groups = distribution_groups(top1, list(by), min_n=3, max_groups=4)[0] if by else [{}]
    for g in groups:
        name = ", ".join(f"{k}={v}" for k, v in g.items())
        try:
            vc = variance_components(restrict(df, [g]) if g else df, metric=MAIN_METRIC)
        except AnalysisError as e:
            failed.append((name, str(e)))
            continue
        data.append({"group": g, **vc.to_dict()})
        tables.append(vc.table)
        found.append((name, vc.sentence))
    return VarianceSection(sentences=C.describe_variance(found, failed, bool(groups)),
                           table=pd.concat(tables, ignore_index=True) if tables else None, data=data)


def seeds_needed_section(top1: pd.DataFrame, comparisons: int = 1) -> SeedsNeededSection:
    """Seeds per arm for 0.1/0.2/0.5-point differences (t-test) and for P(A>B) (Noether)."""
    std, dof = pooled_std(top1)
    m = max(1, comparisons)
    n_for_p = seeds_needed_for_p(comparisons=m)
    data: dict[str, Any] = {"pooled_std": std, "pooled_dof": dof, "for_p_a_gt_b": n_for_p,
                            "comparisons": m}
    if dof > 0 and std > 0:
        need = seeds_needed_table(std, (0.1, 0.2, 0.5))
        data["table"] = need
        return SeedsNeededSection(sentences=C.describe_seeds_needed(need, std, n_for_p, comparisons=m),
                                  table=need, data=data)
    return SeedsNeededSection(sentences=[C.seed_std_unknown(n_for_p, comparisons=m)], data=data)


def expected_max_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame) -> ExpectedMaxSection:
    """Expected best of n seeds (without replacement), against the mean."""
    groups, _ = distribution_groups(top1, list(by), min_n=2)
    if groups:
        sub, by_em, over = restrict(df, groups), list(by) or None, "seeds"
    else:  # one seed per configuration: best-of-n over configurations (Dodge's original use)
        sub, by_em, over = df, None, "configurations"
    em = expected_max_table(sub, by=by_em, metric=MAIN_METRIC)
    ns = [n for n in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if n <= em["n"].max()]
    shown = em[em["n"].isin(ns) | (em["n"] == em["n"].max())]
    plan = FigurePlan(key="expected_max", file="expected_max", width=700, plot=plot_expected_max,
                      kwargs={"df": sub, "metric": MAIN_METRIC, "by": by_em, "table": em},
                      annotations=expected_max_annotations(em, list(by) if by_em else []))
    return ExpectedMaxSection(sentences=C.describe_expected_max(em, list(by) if by_em else [], over),
                              table=shown, data=em, figures=[plan])


def history_section(history: Path | str, df: pd.DataFrame, by: Sequence[str],
                    top1: pd.DataFrame) -> FigureSection:
    """Training curves: top-1 per epoch, mean ± std over trials (per configuration, up to 6)."""
    groups, _ = distribution_groups(top1, list(by), min_n=1)
    plan = FigurePlan(key="history", file="history", width=700, plot=plot_history,
                      kwargs={"history": load_history(history), "metric": MAIN_METRIC, "results": df,
                              "by": list(by) if by and len(groups) <= 6 else None})
    return FigureSection(figures=[plan], said=[])
