"""The sentences of the report's Transfer section: the nested variance split per target, its
test-set-noise parts, the recipe comparisons and the probability of improvement across targets.

Each sentence gives its interval and says what the design can and cannot tell, so that it is as
true at 3 pretrained models as at 100."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .formatting import fmt_fixed

#: What every comparison of the section is made on.
UNIT = ("Recipes are compared on each pretrained model's mean over its fine-tunings: the pretrained model "
        "is the unit of replication (n counts pretrained models, not fine-tuning runs), since fine-tunings "
        "of one model share its pretraining seed.")

#: Said once in a transfer study's report (and its answer): why the per-seed sections are not there.
PER_SEED_LEFT_OUT = ("The per-seed sections of a seed study (summary, normality, outlier seeds, test-set noise, "
                     "sources of seed variance, comparisons, seeds needed, expected best-of-n) are left out of "
                     "this report: on a transfer table they would count the fine-tunings of one pretrained model "
                     "as independent seeds. Every number is in the Transfer section, on pretrained models.")


def _pct(x: float) -> str:
    return "NaN" if not math.isfinite(x) else f"{100 * x:.0f} %"


def overview_sentence(targets: Sequence[str], recipes: Sequence[str], n_models: int, runs: tuple[int, int],
                      shares: Sequence[float], per_target: tuple[int, int] | None = None) -> str:
    """The section's first sentence (the report's answer shows it): what was fine-tuned on what,
    and the range of the between-model share over the targets. ``per_target``: the fewest and
    most pretrained models a target has (default: every model on every target)."""
    fine = ("once" if runs == (1, 1) else f"{runs[0]} times" if runs[0] == runs[1]
            else f"{runs[0]}–{runs[1]} times")
    models = f"{n_models} pretrained model{'s' if n_models != 1 else ''}"
    where = f"{len(targets)} target{'s' if len(targets) != 1 else ''} ({', '.join(targets)})"
    lo, hi = per_target if per_target is not None else (n_models, n_models)
    if lo == n_models:
        s = f"{models} ({', '.join(recipes)}) fine-tuned {fine} on each of {where}, Table 5 below"
    else:
        some = f"{lo}" if lo == hi else f"{lo}–{hi}"
        s = (f"{models} ({', '.join(recipes)}) fine-tuned on {where}, not every model on every target ({some} "
             f"models a target), each {fine} on a target it has, Table 5 below")
    finite = [x for x in shares if math.isfinite(x)]
    if finite:
        lo, hi = min(finite), max(finite)
        where = f"{_pct(lo)}" if len(finite) == 1 else f"{_pct(lo)} to {_pct(hi)} over the targets"
        s += (f"; the share of the fine-tuned top-1's variance that is between pretrained models is {where} "
              "(each with its interval below)")
    return s + "."


def variance_sentence(row: Mapping[str, Any]) -> str:
    """One target's split (a row of :func:`analysis.groups.transfer.transfer_variance`)."""
    t, recipe = row["dataset"], row["pretrain_recipe"]
    where = f"On {t}" + ("" if recipe == "all" else f", {recipe}")
    if not math.isfinite(float(row.get("within", float("nan")))):
        return f"{where}: the variance split is not estimated: {str(row.get('notes', '')).rstrip('.')}."
    if not math.isfinite(float(row.get("share_between", float("nan")))):
        return (f"{where}: every fine-tuning of every pretrained model scores the same ({row['n_models']} models, "
                f"{row['n']} fine-tunings): there is no variance to split between pretrained models and "
                "fine-tuning seeds.")
    lo, hi = row["share_between_ci_low"], row["share_between_ci_high"]
    head = (f"{where}, {_pct(row['share_between'])} of the fine-tuned top-1's variance is between pretrained "
            f"models (95 % CI {_pct(lo)}–{_pct(hi)}; std {fmt_fixed(row['between_std'], 2)} points between "
            f"models, {fmt_fixed(row['within_std'], 2)} between fine-tuning seeds of one model; "
            f"{row['n_models']} models, {row['n']} fine-tunings)")
    if row["between_raw"] < 0:
        head += ("; the models' means differ no more than their fine-tuning seeds alone explain (the estimate "
                 "is below 0, shown as 0)")
    if hi < 0.5:
        tail = "the fine-tuning seed moves it more than the pretrained model"
    elif lo > 0.5:
        tail = "the pretrained model moves it more than the fine-tuning seed"
    else:
        tail = "the interval holds both halves: these runs cannot tell which seed moves it more"
    return f"{head}: {tail}."


def noise_sentence(row: Mapping[str, Any]) -> str | None:
    """What part of each component independent per-image errors make, or None without predictions."""
    if not math.isfinite(float(row.get("within_example", float("nan")))):
        return None
    return (f"On {row['dataset']}'s {int(row['n_images'])} validation images, independent per-image errors "
            f"(Jordan 2023) make an estimated {_pct(row['within_example_share'])} of the within-model variance "
            f"and {_pct(row['between_example_share'])} of the between-model one: the part a larger test set "
            "would average away (estimates, not floored: noise can put them below 0 or above 100 %).")


#: Said once when the fine-tunings have no per-image predictions.
NO_PREDICTIONS = ("Without per-image predictions (predictions.parquet) the test-set-noise part of each component "
                  "is not estimated.")


def improvement_sentence(a: str, b: str, poi: Mapping[str, Any]) -> str:
    """rliable's probability of improvement across targets (a :class:`ProbabilityOfImprovement` dict)."""
    lo, hi = poi["ci_low"], poi["ci_high"]
    tasks = list(poi["per_task"])
    where = (f"On {tasks[0]}" if len(tasks) == 1
             else f"Across the {len(tasks)} targets, each weighing the same")
    s = (f"{where}, a model pretrained with {a} beats one pretrained with {b} after fine-tuning with "
         f"probability {fmt_fixed(poi['statistic'], 2)}")
    if min([*poi["n_x"], *poi["n_y"]]) < 2:
        return s + (" (no interval: a target has a single pretrained model of one of them, which a bootstrap "
                    "cannot resample).")
    how = ("a cluster bootstrap that redraws each recipe's pretrained models once, on every target, since the "
           "same models are fine-tuned on each" if str(poi.get("method", "")).startswith("cluster")
           else "rliable's stratified bootstrap, each target's pretrained models redrawn separately because the "
           "targets do not have the same models: it ignores that a model is shared across targets, and the "
           "interval may be too narrow")
    s += f" (95 % CI {fmt_fixed(lo, 2)}–{fmt_fixed(hi, 2)}, {how})"
    s += (": ½ (no difference) is inside the interval." if lo <= 0.5 <= hi
          else f": {a if lo > 0.5 else b} is the more likely to come out ahead.")
    if poi.get("few_runs"):
        s += (" With fewer than 10 pretrained models per recipe on a target, this bootstrap interval is "
              "narrower than its nominal 95 % (simulated coverage, 5 targets: 0.78–0.82 with 3 models, "
              "0.89–0.91 with 5).")
    return s


def not_compared(reason: str) -> str:
    """Why the recipes were not compared."""
    return f"The pretraining recipes are not compared: {reason}"


def per_model(sentence: str) -> str:
    """A comparison sentence of :func:`analysis.compare_all`'s engine with its counts named as what
    they are here: "3 vs 3 seeds" becomes "3 vs 3 pretrained models"."""
    sentence = re.sub(r"(\d+) vs (\d+) seeds", r"\1 vs \2 pretrained models", sentence)
    return re.sub(r"(\d+) usable seed\(s\)", r"\1 pretrained model(s)", sentence)


def excluded_sentence(excluded: str) -> str:
    """The rows left out of the transfer analysis, by reason ('ERROR: 2, no dataset / …: 1')."""
    return f"Left out of the transfer analysis (not usable fine-tunings), by reason: {excluded}."


def no_usable_sentence(excluded: str) -> str:
    """Why a transfer study has no Transfer analysis: no usable fine-tuning."""
    return ("The transfer study has no usable fine-tuning (TERMINATED with a finite top-1), so there is no "
            f"Table 5, variance split or comparison; excluded, by reason: {excluded or 'none'}.")


#: Beside the paper on a transfer study: the paper's Table 5 is set beside the run in the Transfer section.
TRANSFER_BESIDE_PAPER = ("This is a transfer study (pretraining recipes fine-tuned on targets): the RSB paper's "
                         "Table 5 is shown beside this run's in the Transfer section.")
