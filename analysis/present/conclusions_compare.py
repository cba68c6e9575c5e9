"""The report's sentences about comparisons: configurations against a baseline or within a grid,
evaluation-only settings paired by trial (and Figure 4), and an ``rsb-sweep ab`` stopping path.

Like :mod:`.conclusions`, each function takes what a statistic returned and says it in plain
text (numbers rounded for reading; report.json keeps the full precision).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..groups.frames import describe_exclusions, split_usable
from ..text.formatting import fmt_value, label
from ..text.verdicts import verdict_sentence
from .conclusions import MAX_LISTED


def describe_comparisons(cmp: pd.DataFrame) -> list[str]:
    """The sentence of every comparison (each carries its verdict), or a count when many."""
    if len(cmp) <= 3 * MAX_LISTED:
        return [str(s) for s in cmp["sentence"]]
    counts = cmp["verdict"].fillna("not compared").value_counts()
    head = [str(s) for s in cmp.loc[cmp["verdict"].isin(["a_better", "b_better"]),
                                    "sentence"].head(MAX_LISTED)]
    return head + [f"{len(cmp)} comparisons: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                           for k, v in counts.items())
                   + " (every sentence is in report.json)."]


def describe_evaluations(evaluations: pd.DataFrame, factors: Sequence[str], metric: str = "top1") -> list[str]:
    """What evaluations.parquet holds and which of its rows the paired statistics exclude."""
    _, excluded = split_usable(evaluations, metric)
    sets = ", ".join(map(str, pd.unique(evaluations["eval_set"].dropna())))
    axes = "; ".join(f"{f} " + ", ".join(f"{v:g}" for v in sorted(evaluations[f].dropna().unique()))
                     for f in ("crop_pct", "test_res") if f in evaluations.columns)
    n_trials = evaluations["trial_id"].nunique()
    head = (f"evaluations.parquet holds {len(evaluations)} rows: {n_trials} trained model(s) evaluated on "
            f"{sets} at {axes}.")
    if len(excluded):
        head += (f" {len(excluded)} row(s) are excluded from every paired statistic "
                 f"({describe_exclusions(excluded['reason'])}) and counted in each comparison they touch.")
    else:
        head += " Every row finished (TERMINATED) and is used."
    if not factors:
        head += " Each trial is evaluated at one crop_pct and one test_res: there is nothing to compare paired."
    return [head]


def describe_figure4(rows: pd.DataFrame, choice: dict, metric: str = "top1") -> list[str]:
    """Where the mean over seeds peaks in Figure 4's slice, per group, against the train resolution."""
    usable, _ = split_usable(rows, metric)
    by = [c for c in choice["by"] if c in usable.columns]
    crop = f"{choice['crop_pct']:g}"
    out = [f"Figure 4 draws eval set {choice['eval_set']} at crop_pct={crop}, {choice['chosen']}."]
    groups = usable.groupby(by, sort=True, dropna=False) if by else [((), usable)]
    for key, g in list(groups)[:MAX_LISTED]:
        key = key if isinstance(key, tuple) else (key,)
        mean = g.groupby("test_res")[metric].mean().sort_index()
        if len(mean) < 2:
            continue
        best = mean.idxmax()
        trained = ", ".join(f"{int(v)}" for v in sorted(g["train_res"].dropna().unique())) \
            if "train_res" in g.columns else ""
        out.append(f"{label(by, key) if by else 'All trials'}: the mean {metric} over "
                   f"{g['trial_id'].nunique()} seed(s) peaks at test_res {int(best)} ({mean.max():.2f}; "
                   f"{mean.min():.2f} at {int(mean.idxmin())})" + (f", trained at {trained}." if trained else "."))
    return out


#: A paired comparison's verdict in words (A is the level, B the baseline).
_PAIRED_WORDS = {"a_better": "higher than the baseline", "b_better": "lower than the baseline",
                 "within_seed_noise": "within seed noise", "not_resolvable": "not resolvable"}


def describe_paired(cmp: pd.DataFrame) -> list[str]:
    """compare_paired's sentence of every row, or, when many, the decided ones and a count by verdict."""
    if len(cmp) <= 3 * MAX_LISTED:
        return [str(s) for s in cmp["sentence"]]
    decided = cmp[cmp["verdict"].isin(["a_better", "b_better"])]
    counts = cmp["verdict"].value_counts()
    factor = cmp["factor"].iloc[0]
    return [str(s) for s in decided["sentence"].head(MAX_LISTED)] + [
        f"{len(cmp)} paired comparisons of {factor}: " + ", ".join(
            f"{int(counts[v])} {_PAIRED_WORDS[v]}" for v in _PAIRED_WORDS if v in counts)
        + " (every sentence is in report.json)."]


def describe_skipped_factors(eval_only: Sequence[str], paired: bool) -> list[str]:
    """Why evaluation-only factors that vary are not compared here: they are in the paired section
    (``paired``: the experiment has evaluations.parquet), or need ``rsb-sweep evaluate``."""
    if not eval_only:
        return []
    subject = f"{' and '.join(eval_only)} change{'s' if len(eval_only) == 1 else ''} only"
    if paired:
        return [f"{subject} the evaluation of a trained model: "
                f"{'it is' if len(eval_only) == 1 else 'they are'} compared paired by trial, from "
                "evaluations.parquet, in the paired comparisons section, not here."]
    return [f"{subject} the evaluation of a trained model: this report does not "
            "compare separately trained models on "
            f"{'it' if len(eval_only) == 1 else 'them'}; `rsb-sweep evaluate` scores each trained model "
            "at every value, and the report then compares them paired by trial."]


def nothing_to_compare(single: bool) -> str:
    """``single``: one configuration ran; else only evaluation-only factors vary."""
    return ("A single configuration was run: there is nothing to compare." if single else
            "No training factor varies: there is nothing to compare here.")


def no_comparison(reason: Exception | str) -> str:
    return f"No comparison possible: {reason}"


def describe_paired_factor(factor: str, level: Any, how: str, groups: Sequence[str]) -> str:
    """How one evaluation-only factor is compared: its baseline level and the pairing groups."""
    return (f"{factor}: each level against {factor}={fmt_value(level)} ({how}), paired by trial within "
            f"{', '.join(groups)}; Wilcoxon signed-rank test, Holm over the levels of each group.")


def unused_paired_baseline(unused: dict[str, Any]) -> str:
    """A given baseline of an evaluation-only factor that the evaluations do not vary."""
    return ("The baseline's " + ", ".join(f"{f}={fmt_value(v)}" for f, v in unused.items())
            + " is not used: the evaluations hold one value of it.")


def no_paired_comparison(factor: str, reason: Exception | str) -> str:
    return f"No paired comparison of {factor}: {reason}"


def figure4_not_drawn(choice: dict[str, Any]) -> str:
    """Figure 4's slice has no finished evaluation with a top-1."""
    return (f"Figure 4 is not drawn: no evaluation on {choice['eval_set']} at crop_pct="
            f"{fmt_value(choice['crop_pct'])} finished with a top-1.")


def describe_stopping(decision: dict[str, Any], path: pd.DataFrame, metric: str = "top1") -> list[str]:
    """An ``rsb-sweep ab`` comparison (decision.json and its looks as ``path``): the verdict and
    interval, how it stopped (decided, at the seed cap, still running), and the pairing."""
    if path.empty:
        return ["No wave of the comparison has finished yet: there is no look to report."]
    names = decision.get("names") or {"a": "A", "b": "B"}
    verdict = decision["decision"]
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
    return sentences
