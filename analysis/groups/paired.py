"""Paired comparisons of evaluation-only settings (crop ratio, test resolution): Table 9, Figure 4.

A test crop ratio or test resolution changes evaluation only, so each trained model (one per
recipe and seed) is evaluated at every level (``evaluations.parquet``, DESIGN.md). Seed k's
model is then the *same* model at every level: the difference ``level − baseline`` is taken
per trial, and the training noise, which dominates the between-seed spread, cancels out of
it. An unpaired test would compare the two levels' spreads over seeds instead and need far
more seeds (``benchmarks/results/table9_paired.md`` measures how many).

Decided here:

* **Pairs** are trials evaluated at both the level and the baseline, the other
  evaluation-only columns (``eval_set``, and ``test_res`` or ``crop_pct``, whichever is not
  the factor) held fixed: each value of those is its own group, like a ``within`` column.
  A trial evaluated at only one of the two is reported (``n_unpaired``), never silently used
  or dropped; rows that are not TERMINATED or lack the metric are counted in ``excluded``.
* **The decision test is the Wilcoxon signed-rank test** (scipy ``wilcoxon``, two-sided,
  ``zero_method='wilcox'``: a seed on which both settings score the same carries no sign).
  Up to :data:`EXACT_UP_TO` pairs its p-value is exact, by enumerating every
  sign flip of the signed-rank sum (``scipy.stats.permutation_test``, vectorized over the
  flips: the same p as ``wilcoxon`` with ``PermutationMethod``, 40× faster at 16 pairs),
  which is right with tied differences too, common on a small validation set; above,
  scipy's ``auto`` method. The paired t-test and the
  t-interval of the mean difference are reported beside it.
* **Holm** (statsmodels ``multipletests``) over the levels of each group.
* **Not resolvable**: all-same-sign differences give the smallest p a sign-flip test can
  reach, 2 / 2^n for n non-zero differences; when that, after Holm, is not below α the row
  says ``not_resolvable`` with that smallest p and the number of seeds that would reach α,
  never "within seed noise".
* **Verdicts** use the statistics vocabulary (:data:`VERDICTS`), A being the level and B
  the baseline: ``a_better`` means the level scores higher than the baseline.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError, require_columns
from ..present.style import metric_label
from ..text.formatting import MISSING, fmt_fixed, fmt_mean_std, fmt_value
from ..text.verdicts import paired_sentence
from .frames import By, StatusSpec, as_list, describe_exclusions, split_usable
from ..stats.comparison import VERDICTS, holm
from ..present.tables import Table, latex, markdown

#: Columns that change evaluation only; the ones that are not the factor are held fixed.
EVAL_ONLY_COLUMNS = ("eval_set", "crop_pct", "test_res")
#: Up to this many pairs the signed-rank p-value enumerates all 2^n sign flips.
EXACT_UP_TO = 16


@dataclass(frozen=True)
class PairedTest:
    """Result of :func:`paired_test` (A against B on the same trials; ``diff`` = mean of A − B)."""

    n: int                  # pairs
    n_nonzero: int          # pairs whose difference is not 0 (the signed-rank test's n)
    mean_a: float
    mean_b: float
    diff: float             # mean of the per-pair differences a - b
    sd_diff: float          # their standard deviation (ddof=1)
    diff_ci_low: float      # t-interval of the mean difference at ``confidence``
    diff_ci_high: float
    t: float                # scipy.stats.ttest_rel
    t_p: float
    wilcoxon: float         # scipy.stats.wilcoxon statistic (smaller signed-rank sum)
    wilcoxon_p: float
    wilcoxon_method: str    # "exact (all sign flips)" or "scipy auto"
    signed_rank: float      # sum of signed ranks: > 0 when A tends to be higher
    frac_a_better: float    # fraction of pairs with a > b
    frac_tied: float        # fraction of pairs with a == b
    p_min: float            # smallest p the signed-rank test can give with these pairs
    confidence: float

    def to_dict(self) -> dict:
        return asdict(self)


def paired_test(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> PairedTest:
    """Paired t-test, Wilcoxon signed-rank test and t-interval of ``a − b`` (aligned pairs).

    ``a[i]`` and ``b[i]`` are the same trial under two settings. Statistics that need more
    pairs than given are NaN (the t-test needs 2 pairs, the signed-rank test 1 non-zero).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise AnalysisError(f"paired_test needs two equal-length 1-D arrays, got {a.shape} and {b.shape}.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise AnalysisError("paired_test: the values contain NaN or inf; drop those pairs first.")
    d = a - b
    n, nz = d.size, int(np.count_nonzero(d))
    nan = float("nan")
    sd = float(d.std(ddof=1)) if n > 1 else nan
    t = t_p = lo = hi = nan
    if n > 1 and sd > 0:
        res = stats.ttest_rel(a, b)
        ci = res.confidence_interval(confidence)
        t, t_p, lo, hi = float(res.statistic), float(res.pvalue), float(ci.low), float(ci.high)
    elif n > 1:  # every pair differs by the same amount: the interval is that point
        lo = hi = float(d.mean())
    w = w_p = nan
    method = "none (no non-zero difference)"
    signed = 0.0
    if nz == 1:  # one non-zero difference: its two sign flips are equally extreme (scipy needs two)
        w, w_p, method = 0.0, 1.0, "exact (all sign flips)"
        signed = float(np.sign(d[d != 0][0]))
    elif nz:
        ranks = stats.rankdata(np.abs(d[d != 0]))
        signed = float(np.sum(np.sign(d[d != 0]) * ranks))
        exact = n <= EXACT_UP_TO
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided",
                                 method="approx" if exact else "auto")
        w, w_p = float(res.statistic), float(min(1.0, res.pvalue))
        if exact:
            w_p = _sign_flip_p(d[d != 0], ranks)
        method = "exact (all sign flips)" if exact else "scipy auto"
    return PairedTest(
        n=n, n_nonzero=nz, mean_a=float(a.mean()) if n else nan, mean_b=float(b.mean()) if n else nan,
        diff=float(d.mean()) if n else nan, sd_diff=sd, diff_ci_low=lo, diff_ci_high=hi, t=t, t_p=t_p,
        wilcoxon=w, wilcoxon_p=w_p, wilcoxon_method=method, signed_rank=signed,
        frac_a_better=float(np.mean(d > 0)) if n else nan, frac_tied=float(np.mean(d == 0)) if n else nan,
        p_min=min(1.0, 2.0 ** (1 - nz)), confidence=confidence,
    )


def _sign_flip_p(nonzero: np.ndarray, ranks: np.ndarray) -> float:
    """Two-sided p of the signed-rank sum over all 2^n sign flips of ``nonzero`` (exact with ties).

    scipy's ``permutation_test`` flips the signs of a single sample; |x| and so the ranks do
    not change under a flip, which makes the statistic one vectorized sum over the flips.
    """
    def signed_rank_sum(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum(np.sign(x) * ranks, axis=axis)

    res = stats.permutation_test((nonzero,), signed_rank_sum, permutation_type="samples", vectorized=True,
                                 n_resamples=np.inf, alternative="two-sided")
    return float(min(1.0, res.pvalue))


def seeds_to_resolve(m: int, alpha: float) -> int:
    """Fewest non-zero pairs whose all-same-sign outcome reaches ``alpha`` after Holm over ``m``."""
    return int(math.floor(1 + math.log2(max(m, 1) / alpha))) + 1


def compare_paired(
    evaluations: pd.DataFrame,
    factor: str = "crop_pct",
    baseline: float | int | str = 0.95,
    within: By = ("recipe",),
    metric: str = "top1",
    *,
    status: StatusSpec = "TERMINATED",
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
    held = [c for c in EVAL_ONLY_COLUMNS if c != factor and c in evaluations.columns and c not in groups_by]
    by = groups_by + held
    usable, excluded = split_usable(evaluations, metric, status)
    _check_unique(usable, ["trial_id", *by, factor])
    is_base = _matches(evaluations[factor], baseline)
    if not is_base.any():
        values = ", ".join(map(fmt_value, sorted(evaluations[factor].dropna().unique())))
        raise AnalysisError(f"baseline {factor}={fmt_value(baseline)} is not among the evaluated values ({values}); "
                            f"pass one of them as baseline=…, or evaluate that setting too.")
    rows = []
    for key, g in _groups(evaluations, by):
        gu = usable[_mask(usable, by, key)]
        gx = excluded[_mask(excluded, by, key)]
        base = gu[_matches(gu[factor], baseline)].set_index("trial_id")[metric]
        levels = [v for v in _sorted_unique(g[factor]) if not _matches(pd.Series([v]), baseline).iloc[0]]
        part = []
        for level in levels:
            lv = gu[_matches(gu[factor], level)].set_index("trial_id")[metric]
            both = lv.index.intersection(base.index)
            both = both.sort_values()
            res = paired_test(lv.loc[both].to_numpy(), base.loc[both].to_numpy(), confidence)
            part.append({
                **dict(zip(by, key)), "factor": factor, "level": level, "baseline": baseline,
                "n_pairs": res.n, "mean_level": res.mean_a, "mean_baseline": res.mean_b, "diff": res.diff,
                "diff_ci_low": res.diff_ci_low, "diff_ci_high": res.diff_ci_high, "sd_diff": res.sd_diff,
                "t": res.t, "t_p": res.t_p, "wilcoxon": res.wilcoxon, "wilcoxon_p": res.wilcoxon_p,
                "wilcoxon_method": res.wilcoxon_method, "frac_better": res.frac_a_better,
                "frac_tied": res.frac_tied, "p_min": res.p_min, "signed_rank": res.signed_rank,
                "n_nonzero": res.n_nonzero,
                "n_unpaired": int(len(lv.index.symmetric_difference(base.index))),
                "n_excluded": int(len(gx[_matches(gx[factor], level) | _matches(gx[factor], baseline)])),
                "excluded": describe_exclusions(
                    gx[_matches(gx[factor], level) | _matches(gx[factor], baseline)]["reason"]),
            })
        _holm(part, alpha)
        for r in part:
            r["sentence"] = paired_sentence(r, by, metric, confidence, len(part),
                                            seeds_to_resolve(len(part), alpha))
        rows += part
    columns = [*by, "factor", "level", "baseline", "n_pairs", "mean_level", "mean_baseline", "diff",
               "diff_ci_low", "diff_ci_high", "sd_diff", "t", "t_p", "wilcoxon", "wilcoxon_p", "wilcoxon_method",
               "frac_better", "frac_tied", "p_min", "p_holm", "p_min_holm", "verdict", "n_unpaired",
               "n_excluded", "excluded", "sentence"]
    out = pd.DataFrame(rows, columns=[*columns, "signed_rank", "n_nonzero"])[columns]
    out.attrs.update(metric=metric, factor=factor, baseline=baseline, confidence=confidence, groups=by)
    return out


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


# --------------------------------------------------------------------------- Table 9

def format_table9_paired(
    evaluations: pd.DataFrame,
    comparisons: pd.DataFrame | None = None,
    factor: str = "crop_pct",
    baseline: float | int | str = 0.95,
    block: str = "recipe",
    metric: str = "top1",
    *,
    status: StatusSpec = "TERMINATED",
    digits: int = 2,
    caption: str = "",
) -> Table:
    """The RSB paper's Table 9 layout from an evaluations table, with the paired difference.

    One row per (``block``, level of ``factor``): ``mean (std)``, ``max – min`` and ``seed 0``
    of ``metric`` over the seeds, then the paired difference from ``baseline`` with its
    t-interval and the :func:`compare_paired` verdict (pass ``comparisons`` to reuse one).
    The table needs one value of each other evaluation-only column (filter the rest first).
    """
    require_columns(evaluations, ["trial_id", factor, metric, block], "format_table9_paired")
    for col in EVAL_ONLY_COLUMNS:
        if col != factor and col in evaluations.columns and evaluations[col].nunique(dropna=False) > 1:
            values = ", ".join(map(fmt_value, _sorted_unique(evaluations[col])))
            raise AnalysisError(f"format_table9_paired shows one {col} at a time, and the table has {values}; "
                                f"filter it first, e.g. evaluations[evaluations.{col} == …].")
    if comparisons is None:
        comparisons = compare_paired(evaluations, factor, baseline, [block], metric, status=status)
    usable, excluded = split_usable(evaluations, metric, status)
    diff_col = f"Δ vs {fmt_value(baseline)} (paired)"
    rows, rules = [], []
    for key, g in _groups(usable, [block]):
        rules.append(len(rows))
        n = g["trial_id"].nunique()
        for level in _sorted_unique(g[factor]):
            x = g[_matches(g[factor], level)]
            values = x[metric].to_numpy(dtype=float)
            seed0 = x.loc[x["seed"] == 0, metric] if "seed" in x.columns else pd.Series(dtype=float)
            c = comparisons[(comparisons[block] == key[0]) & _matches(comparisons["level"], level)]
            if _matches(pd.Series([level]), baseline).iloc[0]:
                delta, verdict = "(baseline)", ""
            elif len(c):
                r = c.iloc[0]
                delta = f"{r['diff']:+.{digits}f}"
                if math.isfinite(r["diff_ci_low"]):
                    delta += f" [{r['diff_ci_low']:+.{digits}f}, {r['diff_ci_high']:+.{digits}f}]"
                verdict = r["verdict"]
            else:
                delta, verdict = MISSING, ""
            rows.append({
                block: f"{key[0]} (n={n})" if level == _sorted_unique(g[factor])[0] else "",
                factor: fmt_value(level),
                "mean (std)": fmt_mean_std(float(values.mean()), float(values.std(ddof=1)) if len(values) > 1
                                        else float("nan"), digits),
                "max – min": f"{fmt_fixed(float(values.max()), digits)} – {fmt_fixed(float(values.min()), digits)}",
                "seed 0": fmt_fixed(float(seed0.iloc[0]), digits) if len(seed0) == 1 else MISSING,
                diff_col: delta,
                "verdict": verdict,
            })
    frame = pd.DataFrame(rows)
    note = f"; excluded rows: {describe_exclusions(excluded['reason'])}" if len(excluded) else ""
    level_pct = 100 * comparisons.attrs.get("confidence", 0.95)
    name = metric_label(metric)
    cap = caption or (f"{name[:1].upper()}{name[1:]} over seeds per {block} and {factor}: mean (std), max – min, "
                      f"seed 0, and the difference from {factor}={fmt_value(baseline)} paired by trial, with its "
                      f"{level_pct:g} % t-interval and the Wilcoxon signed-rank verdict (Holm){note}.")
    return Table(frame, markdown(frame), latex(frame, rules, cap))


# --------------------------------------------------------------------------- Figure 4


# --------------------------------------------------------------------------- helpers

def _matches(values: pd.Series, target) -> pd.Series:
    """Element-wise equality, tolerant for floats (a crop ratio read back from parquet or csv)."""
    if isinstance(target, (int, float, np.number)) and not isinstance(target, bool):
        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        return pd.Series(np.isclose(num, float(target), rtol=0, atol=1e-9), index=values.index)
    return values == target


def _sorted_unique(values: pd.Series) -> list:
    uniq = list(pd.unique(values.dropna()))
    try:
        return sorted(uniq)
    except TypeError:
        return uniq


def _groups(df: pd.DataFrame, by: list[str]):
    """(key, rows) per distinct value of ``by`` in sorted order (one group when ``by`` is empty)."""
    if not by:
        yield (), df
        return
    keys = df[by].drop_duplicates()
    try:
        keys = keys.sort_values(by)
    except TypeError:
        pass
    for key in keys.itertuples(index=False, name=None):
        yield key, df[_mask(df, by, key)]


def _mask(df: pd.DataFrame, by: list[str], key: tuple) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for col, val in zip(by, key):
        mask &= df[col].isna() if pd.isna(val) else _matches(df[col], val)
    return mask


def _check_unique(df: pd.DataFrame, key: list[str]) -> None:
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise AnalysisError(
            f"{len(dup)} rows share a ({', '.join(key)}) key, e.g. trial {first['trial_id']!r}; an evaluations table "
            "has one row per trial and setting: drop the repeats (keep the newest) before comparing.")
