"""Paired comparisons of evaluation-only settings (crop ratio, test resolution) over an
evaluations table: each level against the baseline level, on the same trials.

A test crop ratio or test resolution changes evaluation only, so each trained model (one per
recipe and seed) is evaluated at every level (``evaluations.parquet``, DESIGN.md). Seed k's
model is then the *same* model at every level: the difference ``level − baseline`` is taken
per trial (:func:`analysis.paired_test`), and the training noise, which dominates the
between-seed spread, cancels out of it. An unpaired test would compare the two levels' spreads
over seeds instead and need far more seeds (``benchmarks/results/table9_paired.md`` measures
how many). Table 9 and Figure 4 from the same table are in :mod:`analysis.present`.

Decided here:

* **Pairs** are trials evaluated at both the level and the baseline, the other
  evaluation-only columns (``eval_set``, and ``test_res`` or ``crop_pct``, whichever is not
  the factor) held fixed: each value of those is its own group, like a ``within`` column.
  A trial evaluated at only one of the two is reported (``n_unpaired``), never silently used
  or dropped; rows that are not TERMINATED or lack the metric are counted in ``excluded``.
* **The decision test** is the Wilcoxon signed-rank test, exact up to 16 pairs
  (:mod:`analysis.stats.paired`).
* **Holm** (statsmodels ``multipletests``) over the levels of each group.
* **Not resolvable**: all-same-sign differences give the smallest p a sign-flip test can
  reach, 2 / 2^n for n non-zero differences; when that, after Holm, is not below α the row
  says ``not_resolvable`` with that smallest p and the number of seeds that would reach α,
  never "within seed noise".
* **Verdicts** use the statistics vocabulary (:data:`analysis.VERDICTS`), A being the level
  and B the baseline: ``a_better`` means the level scores higher than the baseline.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..contract import EVALUATION_KEY_COLUMNS, TERMINATED
from ..errors import AnalysisError, require_columns
from ..stats.paired import paired_test, seeds_to_resolve
from ..stats.rank import holm
from ..text.formatting import fmt_value
from ..text.verdicts import paired_sentence
from .frames import (
    By,
    StatusSpec,
    as_list,
    describe_exclusions,
    group_mask,
    matches,
    sorted_groups,
    sorted_unique,
    split_usable,
)


def compare_paired(
    evaluations: pd.DataFrame,
    factor: str = "crop_pct",
    baseline: float | int | str = 0.95,
    within: By = ("recipe",),
    metric: str = "top1",
    *,
    status: StatusSpec = TERMINATED,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Each level of ``factor`` against ``baseline``, paired by trial, within each group.

    ``evaluations``: one row per (trial, eval set, crop_pct, test_res), as in
    ``evaluations.parquet``. Groups are the ``within`` columns plus the evaluation-only
    columns other than ``factor`` that the table has (see the module note).

    Returns one row per (group, level): the group columns, ``factor``, ``level``,
    ``baseline``, ``n_pairs``, ``mean_level``, ``mean_baseline``, ``diff`` (level − baseline,
    averaged over pairs) with its t-interval ``diff_ci_low``/``diff_ci_high``, ``sd_diff``,
    ``t``/``t_p`` (paired t), ``wilcoxon``/``wilcoxon_p``/``wilcoxon_method``,
    ``frac_better`` (share of pairs where the level is higher) and ``frac_tied``, ``p_min``,
    ``p_holm`` and ``p_min_holm`` (Holm over the group's levels), ``verdict`` (one of
    :data:`VERDICTS`), ``n_unpaired`` (trials evaluated at only one of the two),
    ``n_excluded``/``excluded`` (rows not TERMINATED or without the metric) and ``sentence``.
    """
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence={confidence} must be in (0, 1), e.g. 0.95.")
    alpha = 1 - confidence
    groups_by = as_list(within)
    require_columns(evaluations, ["trial_id", factor, metric, *groups_by],
                    f"compare_paired(factor={factor!r}, within={groups_by})")
    held = [c for c in EVALUATION_KEY_COLUMNS if c != factor and c in evaluations.columns and c not in groups_by]
    by = groups_by + held
    usable, excluded = split_usable(evaluations, metric, status)
    _check_unique(usable, ["trial_id", *by, factor])
    _check_baseline_evaluated(evaluations[factor], factor, baseline)
    rows = []
    for key, g in sorted_groups(evaluations, by):
        gu = usable[group_mask(usable, by, key)]
        gx = excluded[group_mask(excluded, by, key)]
        base = gu[matches(gu[factor], baseline)].set_index("trial_id")[metric]
        levels = [v for v in sorted_unique(g[factor]) if not matches(pd.Series([v]), baseline).iloc[0]]
        part = [{**dict(zip(by, key)), "factor": factor, "level": level, "baseline": baseline,
                 **_level_pairs(gu, gx, base, factor, level, baseline, metric, confidence)} for level in levels]
        _holm(part, alpha)
        for r in part:
            r["sentence"] = paired_sentence(r, by, metric, confidence, len(part),
                                            seeds_to_resolve(len(part), alpha))
        rows += part
    columns = [*by, *PAIRED_COLUMNS]
    out = pd.DataFrame(rows, columns=[*columns, "signed_rank", "n_nonzero"])[columns]
    out.attrs.update(metric=metric, factor=factor, baseline=baseline, confidence=confidence, groups=by)
    return out


#: Columns of :func:`compare_paired` after its group columns.
PAIRED_COLUMNS = ("factor", "level", "baseline", "n_pairs", "mean_level", "mean_baseline", "diff", "diff_ci_low",
                  "diff_ci_high", "sd_diff", "t", "t_p", "wilcoxon", "wilcoxon_p", "wilcoxon_method", "frac_better",
                  "frac_tied", "p_min", "p_holm", "p_min_holm", "verdict", "n_unpaired", "n_excluded", "excluded",
                  "sentence")


def _check_baseline_evaluated(levels: pd.Series, factor: str, baseline) -> None:
    if not matches(levels, baseline).any():
        values = ", ".join(map(fmt_value, sorted(levels.dropna().unique())))
        raise AnalysisError(f"baseline {factor}={fmt_value(baseline)} is not among the evaluated values ({values}); "
                            f"pass one of them as baseline=…, or evaluate that setting too.")


def _level_pairs(gu: pd.DataFrame, gx: pd.DataFrame, base: pd.Series, factor: str, level, baseline,
                 metric: str, confidence: float) -> dict:
    """:func:`paired_test` of one level against ``base`` (the baseline's metric by trial) on the
    trials evaluated at both, with the unpaired trials and the excluded rows counted."""
    lv = gu[matches(gu[factor], level)].set_index("trial_id")[metric]
    both = lv.index.intersection(base.index).sort_values()
    res = paired_test(lv.loc[both].to_numpy(), base.loc[both].to_numpy(), confidence)
    touched = gx[matches(gx[factor], level) | matches(gx[factor], baseline)]
    return {
        "n_pairs": res.n, "mean_level": res.mean_a, "mean_baseline": res.mean_b, "diff": res.diff,
        "diff_ci_low": res.diff_ci_low, "diff_ci_high": res.diff_ci_high, "sd_diff": res.sd_diff,
        "t": res.t, "t_p": res.t_p, "wilcoxon": res.wilcoxon, "wilcoxon_p": res.wilcoxon_p,
        "wilcoxon_method": res.wilcoxon_method, "frac_better": res.frac_a_better,
        "frac_tied": res.frac_tied, "p_min": res.p_min, "signed_rank": res.signed_rank,
        "n_nonzero": res.n_nonzero, "n_unpaired": int(len(lv.index.symmetric_difference(base.index))),
        "n_excluded": int(len(touched)), "excluded": describe_exclusions(touched["reason"]),
    }


def _holm(part: list[dict], alpha: float) -> None:
    """Holm-adjusted p and its attainable floor over one group's levels; then the verdict."""
    p = np.array([r["wilcoxon_p"] for r in part], dtype=float)
    p_min = np.array([r["p_min"] for r in part], dtype=float)
    adj = holm(p)
    m = len(part)
    floor = np.minimum(1.0, np.maximum(p_min, m * p_min.min())) if m else p_min
    for r, a, f in zip(part, adj, floor):
        r["p_holm"], r["p_min_holm"] = float(a), float(f)
        if r["n_nonzero"] == 0 and r["n_pairs"] >= 2:
            r["verdict"] = "within_seed_noise"  # identical on every seed: no difference at all
        elif f >= alpha:
            r["verdict"] = "not_resolvable"
        elif math.isfinite(a) and a < alpha:
            r["verdict"] = "a_better" if r["signed_rank"] > 0 else "b_better"
        else:
            r["verdict"] = "within_seed_noise"



def _check_unique(df: pd.DataFrame, key: list[str]) -> None:
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise AnalysisError(
            f"{len(dup)} rows share a ({', '.join(key)}) key, e.g. trial {first['trial_id']!r}; an evaluations table "
            "has one row per trial and setting: drop the repeats (keep the newest) before comparing.")
