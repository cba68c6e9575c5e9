"""The report's sections as functions: each returns its table(s), its sentences and its JSON.

The report notebook (:mod:`analysis.report`) only calls these and shows what they return;
:func:`build_report` runs them all without a kernel and returns the dict that becomes
report.json (less the figures). Every sentence comes from :mod:`analysis.conclusions` or from
the statistic that computed the number, so it is true for the data given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..present import conclusions as C
from ..errors import AnalysisError
from ..groups.frames import split_usable
from ..groups.grid import compare_within, compared_factors
from ..groups.baseline import baseline_levels, default_baseline, split_baseline
from ..groups.comparisons import compare_all
from ..groups.noise import test_set_noise
from ..groups.summaries import expected_max_table, normality, outlier_seeds, pooled_std, summarize
from ..contract import DECISION_FILE, EVAL_ONLY_FIELDS, EVALUATIONS_STEM, MAIN_METRIC, PREDICTIONS_DATASET, RESULTS_STEM
from ..groups.evaluations import (
    figure4_choice,
    figure4_rows,
    paired_baseline,
    paired_within,
    varying_factors,
)
from ..load.io import config_columns, evaluations_file, load_evaluations, metric_columns
from ..groups.paired import compare_paired
from ..text.formatting import fmt_value
from ..groups.provenance import distribution_groups, provenance, restrict
from ..stats.sample_size import seeds_needed_for_p, seeds_needed_table
from ..present.tables import format_table6, format_table9
from ..present.tables_paired import table9_tables
from ..groups.variance import variance_components



@dataclass
class Section:
    """One report section: ``name`` (report.json key), ``table`` to show, ``sentences``, ``data``."""

    name: str
    sentences: list[str]
    table: pd.DataFrame | None = None
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def provenance_section(df: pd.DataFrame, experiment: Path | str) -> Section:
    """What ran, with what, on what, at what cost; what the statistics exclude."""
    prov = provenance(df, experiment)
    prov["markdown"] = C.describe_provenance(prov, experiment)
    return Section("provenance", C.describe_status(df), prov["cost"], prov)


def summary_section(df: pd.DataFrame, by: Sequence[str], evaluations: pd.DataFrame | None = None,
                    baseline: Any = None) -> Section:
    """Mean, std, CI of the mean, range, seed 0 per configuration and evaluation set; Table 9.

    Table 9 (``extra["table9"]``, report.json's ``table9``) comes from ``evaluations`` when
    their crop_pct takes 2+ values: one table per eval set and test resolution, each crop ratio
    with its paired difference from the baseline crop (:func:`analysis.eval_axes.table9_tables`;
    ``source: "evaluations"``, the tables under ``tables``); else from the results rows.
    """
    summary = summarize(df, by=list(by) or None, metric=metric_columns(df, MAIN_METRIC))
    top1 = summary[summary["metric"] == MAIN_METRIC]
    sentences = C.describe_summary(top1, by)
    tables, notes = table9_tables(evaluations, baseline) if evaluations is not None else ([], [])
    if tables:
        table9 = {"source": EVALUATIONS_STEM, "baseline": tables[0]["baseline"], "tables": tables,
                  "markdown": "\n\n".join(f"**{t['title']}**\n\n{t['markdown']}" for t in tables),
                  "latex": "\n\n".join(t["latex"] for t in tables)}
        keys = [k for k in tables[0] if k not in ("title", "baseline", "markdown", "latex")]
        sentences.append(f"Table 9 comes from evaluations.parquet: each trained model scored at every crop "
                         f"ratio, {len(tables)} table(s) (one per {', '.join(keys)}), the difference from "
                         f"crop_pct={fmt_value(table9['baseline'])} paired by trial.")
    else:
        t9 = format_table9(summary)
        table9 = {"source": RESULTS_STEM, "markdown": t9.markdown, "latex": t9.latex}
    return Section("summary", sentences + notes, summary, summary, {"top1": top1, "table9": table9})


def normality_section(df: pd.DataFrame, by: Sequence[str]) -> Section:
    """Shapiro-Wilk (lattice-calibrated when the metric is coarse), K², KS per configuration."""
    fits = normality(df, by=list(by) or None, metric=MAIN_METRIC)
    cols = [*by, "n", "mean", "std", "shapiro_w", "shapiro_p", "shapiro_p_lattice", "step_ratio",
            "normaltest_p", "ks_p", "skewness", "excess_kurtosis", "notes"]
    return Section("normality", C.describe_normality(fits, by),
                   fits[[c for c in cols if c in fits.columns]], fits)


def outliers_section(df: pd.DataFrame, by: Sequence[str]) -> Section:
    """Outlier seeds: robust z and the leave-one-out Gaussian tail, from 10 seeds."""
    out = outlier_seeds(df, MAIN_METRIC, by=list(by) or None)
    flagged = out[out["outlier"]]
    return Section("outliers", C.describe_outliers(out, MAIN_METRIC),
                   flagged if len(flagged) else out.head(5), out)


def test_set_noise_section(df: pd.DataFrame, by: Sequence[str]) -> Section:
    """The binomial upper bound on per-image test-set noise against the seed std."""
    if "n_val" not in df.columns:
        return Section("test_set_noise", ["The table has no n_val column: test-set noise cannot "
                                          "be estimated."])
    noise = test_set_noise(df, MAIN_METRIC, by=list(by) or None)
    return Section("test_set_noise", C.describe_noise(noise, by), noise, noise)


def variance_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame) -> Section:
    """Seed sources (init, data order, augmentation) when the sweep varied them separately."""
    sentences, fails, data, tables = [], [], [], []
    groups = distribution_groups(top1, list(by), min_n=3, max_groups=4)[0] if by else [{}]
    if not groups:
        sentences.append("No configuration has 3 or more trials: the seed sources cannot be "
                         "separated.")
    for g in groups:
        name = ", ".join(f"{k}={v}" for k, v in g.items())
        try:
            vc = variance_components(restrict(df, [g]) if g else df, metric=MAIN_METRIC)
        except AnalysisError as e:
            fails.append((name, str(e)))
            continue
        data.append({"group": g, **vc.to_dict()})
        tables.append(vc.table)
        sentences.append((f"{name}: " if name else "") + vc.sentence)
    if len(fails) == 1:
        sentences.append((f"{fails[0][0]}: " if fails[0][0] else "")
                         + f"Not identifiable: {fails[0][1]}")
    elif fails:
        sentences.append(f"Not identifiable in {len(fails)} configurations; for {fails[0][0]}: "
                         f"{fails[0][1]}")
    table = pd.concat(tables, ignore_index=True) if tables else None
    return Section("variance_components", sentences, table, data)


def comparisons_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame,
                        baseline: Any = None, predictions: pd.DataFrame | None = None,
                        evaluations: pd.DataFrame | None = None) -> Section:
    """Comparisons: every configuration against the baseline (one factor), or each factor
    within the levels of the others (a grid); evaluation-only factors are skipped.

    With ``evaluations`` (evaluations.parquet), the evaluation-only part of ``baseline``
    (``crop_pct=…``, ``test_res=…``) is the paired section's and only the rest is used here.
    """
    by = list(by)
    compared, eval_only = compared_factors(df, by)
    skipped = []
    if evaluations is not None:
        baseline, _ = split_baseline(baseline)
        eval_only = [f for f in EVAL_ONLY_FIELDS if f in eval_only or f in varying_factors(evaluations)]
        if eval_only:
            skipped.append(f"{_eval_only_subject(eval_only)} the evaluation of a trained model: "
                           f"{'it is' if len(eval_only) == 1 else 'they are'} compared paired by trial, from "
                           "evaluations.parquet, in the paired comparisons section, not here.")
    elif eval_only:
        skipped.append(f"{_eval_only_subject(eval_only)} the evaluation of a trained model: this report does not "
                       "compare separately trained models on "
                       f"{'it' if len(eval_only) == 1 else 'them'}; `rsb-sweep evaluate` scores each trained model "
                       "at every value, and the report then compares them paired by trial.")
    usable_groups = top1[top1["n"] > 0]
    if not compared or len(usable_groups) < 2:
        what = ("A single configuration was run: there is nothing to compare."
                if not by or len(usable_groups) < 2 else
                "No training factor varies: there is nothing to compare here.")
        return Section("comparisons", skipped + [what], extra={"design": "none"})
    extra: dict[str, Any] = {"skipped_factors": eval_only}
    try:
        if len(by) == 1:
            base = baseline if baseline is not None else default_baseline(usable_groups, by)
            cmp = compare_all(df, base, by=by, metric=MAIN_METRIC, predictions=predictions)
            extra.update(design="baseline", baseline={
                "spec": base, "chosen": "given" if baseline is not None else
                "automatically: the configuration with the most trials"})
        else:
            spec = baseline_levels(baseline, by)
            cmp = compare_within(df, by, MAIN_METRIC, baseline=spec, predictions=predictions)
            extra.update(design="within", baseline={"spec": spec or None, "chosen": (
                "given" if spec else "per factor: the level with the most trials")})
    except AnalysisError as e:
        return Section("comparisons", skipped + [f"No comparison possible: {e}"],
                       extra={"design": "none"})
    cols = [c for c in ("factor", "within", *by) if c in cmp.columns]
    cols += ["name_a", "name_b", "n_a", "n_b", "diff", "diff_ci_low", "diff_ci_high",
             "test_diff_ci_low", "test_diff_ci_high", "mwu_p", "mwu_method", "p_decision",
             "p_a_gt_b", "pab_ci_low", "pab_ci_high", "cohen_d", "verdict", "test_set_verdict",
             "meaningful"]
    if predictions is None:
        cols = [c for c in cols if not c.startswith("test_")]
    sentences = skipped + C.describe_comparisons(cmp)
    if len(by) >= 2:
        lr_wd = [c for c in ("lr", "weight_decay") if c in by]
        rows = lr_wd if len(lr_wd) == 2 and len(by) > 2 else by[:1]
        t6 = format_table6(top1, rows=rows, cols=[c for c in by if c not in rows])
        extra["table6"] = {"markdown": t6.markdown, "latex": t6.latex}
    return Section("comparisons", sentences, cmp[cols], cmp, extra)


def _eval_only_subject(factors: Sequence[str]) -> str:
    """``crop_pct changes only`` / ``crop_pct and test_res change only``."""
    return f"{' and '.join(factors)} change{'s' if len(factors) == 1 else ''} only"


def seeds_needed_section(top1: pd.DataFrame, comparisons: int = 1) -> Section:
    """Seeds per arm for 0.1/0.2/0.5-point differences (t-test) and for P(A>B) (Noether)."""
    std, dof = pooled_std(top1)
    m = max(1, comparisons)
    n_for_p = seeds_needed_for_p(comparisons=m)
    data: dict[str, Any] = {"pooled_std": std, "pooled_dof": dof, "for_p_a_gt_b": n_for_p,
                            "comparisons": m}
    if dof > 0 and std > 0:
        need = seeds_needed_table(std, (0.1, 0.2, 0.5))
        data["table"] = need
        return Section("seeds_needed", C.describe_seeds_needed(need, std, n_for_p, comparisons=m),
                       need, data)
    return Section("seeds_needed", [
        "No configuration has two seeds with different results, so the seed std is unknown; "
        + C.noether_sentence(n_for_p, comparisons=m)], None, data)


def expected_max_section(df: pd.DataFrame, by: Sequence[str], top1: pd.DataFrame) -> Section:
    """Expected best of n seeds (without replacement), against the mean."""
    groups, _ = distribution_groups(top1, list(by), min_n=2)
    if groups:
        sub, by_em, over = restrict(df, groups), list(by) or None, "seeds"
    else:  # one seed per configuration: best-of-n over configurations (Dodge's original use)
        sub, by_em, over = df, None, "configurations"
    em = expected_max_table(sub, by=by_em, metric=MAIN_METRIC)
    ns = [n for n in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if n <= em["n"].max()]
    shown = em[em["n"].isin(ns) | (em["n"] == em["n"].max())]
    return Section("expected_max", C.describe_expected_max(em, list(by) if by_em else [], over),
                   shown, em, {"subset": sub, "by": by_em})


def find_decision(experiment: Path | str) -> dict[str, Any] | None:
    """The experiment's ``decision.json`` (an ``rsb-sweep ab`` comparison), or None without one."""
    import json

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


def stopping_path_section(decision: dict[str, Any]) -> Section:
    """An ``rsb-sweep ab`` comparison: the confidence sequence at each look and the verdict.

    ``extra["path"]`` is the looks as :func:`analysis.sequential_compare` returns them (for
    :func:`analysis.plot_stopping_path`), ``extra["names"]`` the arms' labels.
    """
    from ..text.verdicts import verdict_sentence

    path = decision_path(decision)
    names = decision.get("names") or {"a": "A", "b": "B"}
    metric = decision.get("metric", MAIN_METRIC)
    verdict = decision["decision"]
    if path.empty:
        said = ["No wave of the comparison has finished yet: there is no look to report."]
        return Section("stopping_path", said, data=decision, extra={"path": path, "names": names})
    alpha = 100 * (1 - float(decision["alpha"]))
    sentences = [verdict_sentence(path, name_a=names["a"], name_b=names["b"], metric=metric)]
    n, looks = int(path["n"].iloc[-1]), len(path)
    if verdict in ("a_better", "b_better", "equivalent"):
        sentences.append(
            f"Decided at look {looks} of the waves, after {n} seeds per arm (at most "
            f"{decision['max_seeds']} were allowed): the {alpha:g}% confidence sequence holds at "
            "every look at once (anytime-valid), so stopping when it decides keeps the error rate.")
    elif verdict == "undecided":
        sentences.append(f"Stopped at the cap of {decision['max_seeds']} seeds per arm without a "
                         "decision: the interval still contains 0 and reaches beyond ±δ, so "
                         "deciding needs more seeds (a higher --max-seeds) or a wider δ.")
    else:
        sentences.append(f"Still running: {looks} look{'s' * (looks != 1)} so far; "
                         "`rsb-sweep resume` continues it.")
    sentences.append(("Each seed's results are compared paired (the arms differ in evaluation "
                      "only)."
                      if decision.get("paired") else
                      "The arms are two independent samples of seeds (they train differently, so "
                      "sharing a seed does not correlate them)."))
    table = path.assign(decision=[e["decision"] for e in decision["looks"]])
    return Section("stopping_path", sentences, table, decision, {"path": path, "names": names})


#: Columns of the paired comparisons shown in the report (report.json keeps them all).
PAIRED_SHOWN = ("factor", "eval_set", "crop_pct", "test_res", "level", "baseline", "n_pairs", "mean_level",
                "mean_baseline", "diff", "diff_ci_low", "diff_ci_high", "wilcoxon_p", "p_holm", "frac_better",
                "verdict", "n_unpaired", "n_excluded")


def paired_section(evaluations: pd.DataFrame, baseline: Any = None) -> Section:
    """Crop ratio and test resolution compared paired by trial, from evaluations.parquet.

    For each evaluation-only factor (``crop_pct``, ``test_res``) that takes 2+ values:
    :func:`analysis.compare_paired` of every level against the baseline level (the
    ``--baseline`` value of that factor, else the trials' own setting:
    :func:`analysis.eval_axes.paired_baseline`), within ``recipe`` and the other varying
    training columns, per eval set and value of the other evaluation-only factor. Rows that
    are not TERMINATED or lack top-1 are counted, in the first sentence and in each row.

    report.json keys: ``paired_comparisons`` ({factor: the compare_paired rows}),
    ``paired_baseline`` ({factor: {"value", "chosen"}}), ``figure4`` (the slice Figure 4
    draws: ``eval_set``, ``crop_pct``, ``by``, ``chosen``; only when test_res takes 2+
    values; the figure's files are ``figures.figure4``). Table 9 from the same evaluations is
    the summary's ``table9``. ``extra["figure4_rows"]`` holds the rows to draw.
    """
    _, given = split_baseline(baseline)
    factors = varying_factors(evaluations)
    sentences = C.describe_evaluations(evaluations, factors, MAIN_METRIC)
    unused = {f: v for f, v in given.items() if f not in factors}
    if unused:
        sentences.append("The baseline's " + ", ".join(f"{f}={fmt_value(v)}" for f, v in unused.items())
                         + " is not used: the evaluations hold one value of it.")
    within = paired_within(evaluations)
    data: dict[str, pd.DataFrame] = {}
    baselines: dict[str, dict[str, Any]] = {}
    for f in factors:
        level, how = paired_baseline(evaluations, f, given)
        baselines[f] = {"value": level, "chosen": how}
        try:
            cmp = compare_paired(evaluations, f, level, within, MAIN_METRIC)
        except AnalysisError as e:
            sentences.append(f"No paired comparison of {f}: {e}")
            continue
        data[f] = cmp
        sentences.append(f"{f}: each level against {f}={fmt_value(level)} ({how}), paired by trial within "
                         f"{', '.join(cmp.attrs['groups'])}; Wilcoxon signed-rank test, Holm over the "
                         "levels of each group.")
        sentences += C.describe_paired(cmp)
    extra: dict[str, Any] = {"paired_baseline": baselines}
    choice = figure4_choice(evaluations)
    if choice is not None:
        rows = figure4_rows(evaluations, choice)
        if split_usable(rows, MAIN_METRIC)[0].empty:
            sentences.append(f"Figure 4 is not drawn: no evaluation on {choice['eval_set']} at crop_pct="
                             f"{fmt_value(choice['crop_pct'])} finished with a top-1.")
        else:
            extra.update(figure4=choice, figure4_rows=rows)
            sentences += C.describe_figure4(rows, choice, MAIN_METRIC)
    table = None
    if data:
        table = pd.concat(list(data.values()), ignore_index=True)
        table = table[[c for c in (PAIRED_SHOWN[0], *within, *PAIRED_SHOWN[1:]) if c in table.columns]]
    return Section("paired_comparisons", sentences, table, data, extra)


def find_evaluations(experiment: Path | str) -> pd.DataFrame | None:
    """The experiment's ``evaluations.parquet`` (``rsb-sweep evaluate``), or None without one.

    ``experiment``: the folder, or a results file inside it. A file that is there but
    unreadable or off-contract raises AnalysisError naming it (:func:`analysis.load_evaluations`).
    """
    path = evaluations_file(experiment)
    return load_evaluations(path) if path is not None else None


def find_predictions(experiment: Path | str) -> pd.DataFrame | None:
    """The experiment's per-image predictions (``predictions.parquet``), or None without them."""
    exp = Path(experiment)
    from ..load.predictions import load_predictions

    if not (exp.is_dir() and (exp / PREDICTIONS_DATASET).exists()):
        return None

    return load_predictions(exp)


def build_report(df: pd.DataFrame, experiment: Path | str, baseline: Any = None,
                 predictions: pd.DataFrame | None = None) -> dict[str, Any]:
    """Every section's numbers and sentences, as report.json holds them (without figures).

    The experiment folder's decision.json and evaluations.parquet, when there, add their
    sections (:func:`stopping_path_section`, :func:`paired_section`).
    """
    by = config_columns(df)
    report: dict[str, Any] = {"conclusions": {}, "figures": {}}
    sections = report_sections(df, by, experiment, baseline, predictions)
    for sec in sections:
        record(report, sec)
    return report


def report_sections(df, by, experiment, baseline=None, predictions=None) -> list[Section]:
    """All sections in report order (the notebook calls them one per cell instead)."""
    evaluations = find_evaluations(experiment)
    summ = summary_section(df, by, evaluations, baseline)
    top1 = summ.extra["top1"]
    cmp = comparisons_section(df, by, top1, baseline, predictions, evaluations)
    m = family_size(cmp.data)
    decision = find_decision(experiment) if Path(experiment).is_dir() else None
    stopping = [stopping_path_section(decision)] if decision is not None else []
    paired = [paired_section(evaluations, baseline)] if evaluations is not None else []
    return [provenance_section(df, experiment), summ, normality_section(df, by),
            outliers_section(df, by), test_set_noise_section(df, by),
            variance_section(df, by, top1), cmp, *stopping, *paired, seeds_needed_section(top1, m),
            expected_max_section(df, by, top1)]


def family_size(cmp: pd.DataFrame | None) -> int:
    """The largest Holm family of a comparisons table (one per factor in a grid), at least 1."""
    if not isinstance(cmp, pd.DataFrame) or not len(cmp):
        return 1
    tested = cmp[cmp["verdict"].notna()]
    if "factor" in tested.columns and len(tested):
        return int(tested.groupby("factor").size().max())
    return max(1, len(tested))


def record(report: dict[str, Any], sec: Section) -> None:
    """Put a section's data and sentences into the report dict (report.json's layout)."""
    report["conclusions"][sec.name] = list(sec.sentences)
    if sec.data is not None:
        report[sec.name] = sec.data
    if sec.name == "summary":
        report["table9"] = sec.extra["table9"]
    if sec.name == "comparisons":
        for k in ("table6", "baseline", "design", "skipped_factors"):
            if k in sec.extra:
                report[k] = sec.extra[k]
    if sec.name == "paired_comparisons":
        for k in ("paired_baseline", "figure4"):
            if k in sec.extra:
                report[k] = sec.extra[k]
