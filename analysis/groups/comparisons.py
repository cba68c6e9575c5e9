"""Comparisons over a results table: every configuration against a baseline (:func:`compare_all`)
and the shared engine of a Holm family of A-against-B comparisons (:func:`compare_arms`, also
used by :func:`analysis.compare_within`).

The array statistics behind each row are :mod:`analysis.stats.comparison`'s; with per-image
predictions a row also carries the paired image-bootstrap CI of its difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..contract import MAIN_SET, TERMINATED
from ..errors import AnalysisError, require_columns
from ..load.io import config_columns
from ..stats.arrays import N_RESAMPLES
from ..stats.bootstrap import bootstrap_cis
from ..stats.comparison import comparison, image_bootstrap_ci
from ..stats.rank import batched_tests, holm, smallest_holm, two_sample_tests
from ..text.formatting import label
from ..text.verdicts import not_compared_sentence
from .baseline import resolve_baseline
from .frames import By, StatusSpec, as_list, describe_exclusions, group_keys, grouped, lookup, split_usable

NAN = float("nan")


def compare_all(
    df: pd.DataFrame,
    baseline: Any,
    by: By = None,
    metric: str = "top1",
    *,
    status: StatusSpec = TERMINATED,
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
    predictions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare every group of ``by`` (default: the configuration columns that vary) with ``baseline``.

    One row per non-baseline group with the fields of :class:`~analysis.Comparison` plus
    Holm-adjusted p-values (``bm_p_holm``, ``welch_p_holm``, ``mwu_p_holm``, ``pab_p_holm``,
    statsmodels ``multipletests``). ``verdict``/``significant``/``meaningful`` use the
    Holm-adjusted studentized permutation Brunner-Munzel p (``p_decision``), so the family-wise
    error over all comparisons stays at 1 − ``confidence``; ``not_resolvable`` when even the
    most extreme split could not reach it, or when the smaller arm is too small for its wider
    spread (``spread_refused``). ``predictions`` (the per-image table, :func:`analysis.load_predictions`)
    adds the paired image-bootstrap CI of each difference (``test_diff_ci_low``/``_high``) and
    ``test_set_verdict``. Groups with < 2 seeds get NaN and a ``note``. See
    :func:`resolve_baseline` for the accepted baseline forms.
    """
    bys = as_list(by) or config_columns(df)
    if not bys:
        raise AnalysisError("compare_all: the table has a single configuration; nothing to compare.")
    require_columns(df, bys, "compare_all(by=...)")
    key0 = resolve_baseline(df, bys, baseline)
    usable, excluded = split_usable(df, metric, status)
    ug, eg = grouped(usable, bys), grouped(excluded, bys)
    base_rows = lookup(ug, key0, usable)
    if len(base_rows) < 2:
        raise AnalysisError(
            f"baseline {label(bys, key0)} has {len(base_rows)} usable trial(s); comparisons need "
            "at least 2."
        )
    keys = [k for k in group_keys(df, bys) if k != key0]
    arms = [Arm(a=lookup(ug, k, usable), b=base_rows, name_a=label(bys, k), name_b=label(bys, key0),
                key=dict(zip(bys, k)), excluded=lookup(eg, k, excluded)) for k in keys]
    return compare_arms(arms, bys, metric, gamma=gamma, confidence=confidence,
                        n_resamples=n_resamples, random_state=random_state,
                        predictions=predictions)


@dataclass(frozen=True, kw_only=True)
class Arm:
    """One comparison of a family: rows of A and B, their names, key columns, A's excluded rows."""

    a: pd.DataFrame
    b: pd.DataFrame
    name_a: str
    name_b: str
    key: dict[str, Any]
    excluded: pd.DataFrame


COMPARISON_COLUMNS = (
    "metric", "name_a", "name_b", "n_a", "n_b", "mean_a", "mean_b", "diff", "diff_ci_low",
    "diff_ci_high", "test_diff_ci_low", "test_diff_ci_high", "bm_p", "bm_method",
    "bm_p_holm", "spread_refused", "welch_t", "welch_p", "welch_p_holm",
    "mwu_u", "mwu_p", "mwu_method", "mwu_p_holm", "p_min", "p_min_decision", "p_a_gt_b",
    "pab_ci_low", "pab_ci_high", "pab_p", "pab_p_holm", "cohen_d", "gamma", "confidence",
    "p_decision", "significant", "meaningful", "better", "verdict", "test_set_verdict",
    "sentence", "notes", "n_excluded", "excluded",
)


def compare_arms(
    arms: Sequence[Arm], key_columns: Sequence[str], metric: str = "top1", *,
    gamma: float = 0.75, confidence: float = 0.95, n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0, predictions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One Holm family of comparisons (A against B per :class:`Arm`): one row per arm.

    The shared engine of :func:`compare_all` and :func:`analysis.groups.grid.compare_within`.
    """
    xs = [arm.a[metric].to_numpy(dtype=float) for arm in arms]
    ys = [arm.b[metric].to_numpy(dtype=float) for arm in arms]
    lo, hi, cnotes = np.full(len(arms), NAN), np.full(len(arms), NAN), [""] * len(arms)
    by_base: dict[int, list[int]] = {}
    for i, arm in enumerate(arms):  # arms sharing a B are bootstrapped in one batch
        by_base.setdefault(id(arm.b), []).append(i)
    tests: list[Any] = [None] * len(arms)
    for idx in by_base.values():
        y = ys[idx[0]]
        ok = [i for i in idx if len(xs[i]) >= 2 and len(y) >= 2]
        if not ok:
            continue
        l, h, c = bootstrap_cis([xs[i] for i in ok], y, confidence, n_resamples, random_state)
        pre = batched_tests([xs[i] for i in ok], y)
        for j, i in enumerate(ok):
            lo[i], hi[i], cnotes[i] = l[j], h[j], c[j]
            tests[i] = two_sample_tests(xs[i], y, confidence, pre[j])
    holm_p = {col: holm(np.array([t[0][col] if t else NAN for t in tests]))
              for col in ("bm_p", "welch_p", "mwu_p", "pab_p")}
    p_min = smallest_holm(np.array([t[0]["p_min"] if t else NAN for t in tests]))
    m = sum(t is not None for t in tests)
    noise = _TestSetNoise(predictions, confidence, n_resamples, random_state)
    rows: list[dict[str, Any]] = []
    for i, arm in enumerate(arms):
        x, y = xs[i], ys[i]
        row: dict[str, Any] = dict(arm.key)
        row["metric"] = metric
        if tests[i] is None:
            row.update(n_a=len(x), n_b=len(y), mean_a=x.mean() if len(x) else NAN,
                       mean_b=y.mean() if len(y) else NAN, name_a=arm.name_a,
                       name_b=arm.name_b, significant=False, meaningful=False, better=None,
                       verdict=None, notes=f"n={min(len(x), len(y))}: cannot compare (needs "
                                           "≥ 2 seeds per arm)",
                       sentence=not_compared_sentence(arm.name_a, arm.name_b, len(x), len(y)))
        else:
            n_val = _n_val(arm.a, arm.b)
            r = comparison(x, y, ci=(float(lo[i]), float(hi[i])), ci_note=cnotes[i], name_a=arm.name_a,
                           name_b=arm.name_b, gamma=gamma, confidence=confidence, metric=metric, tests=tests[i],
                           p_decision=holm_p["bm_p"][i], p_min_decision=p_min[i], m=m,
                           test_ci=noise.ci(arm.a, arm.b) if metric == "top1" else (NAN, NAN),
                           n_val=n_val)
            row.update(r.to_dict())
        row["bm_p_holm"] = holm_p["bm_p"][i]
        row["welch_p_holm"] = holm_p["welch_p"][i]
        row["mwu_p_holm"] = holm_p["mwu_p"][i]
        row["pab_p_holm"] = holm_p["pab_p"][i]
        row["n_excluded"] = len(arm.excluded)
        row["excluded"] = (describe_exclusions(arm.excluded["reason"]) if len(arm.excluded)
                           else "")
        rows.append(row)
    return pd.DataFrame(rows, columns=[*key_columns, *COMPARISON_COLUMNS])


def _n_val(a: pd.DataFrame, b: pd.DataFrame) -> float | None:
    if "n_val" not in a.columns or "n_val" not in b.columns:
        return None
    v = pd.to_numeric(pd.concat([a["n_val"], b["n_val"]]), errors="coerce")
    return float(v.mean()) if v.notna().all() and (v > 0).all() else None


class _TestSetNoise:
    """Paired image-bootstrap CIs of differences, from a predictions table (or NaN without one).

    Each trial is scored on its own evaluation (main set ``val``, its own crop_pct/test_res when
    the predictions carry several).
    """

    def __init__(self, predictions, confidence, n_resamples, random_state):
        self.pred = None
        if predictions is not None and len(predictions):
            self.pred = predictions[predictions["eval_set"].astype(str) == MAIN_SET]
        self.kw = dict(confidence=confidence, n_resamples=n_resamples, random_state=random_state)

    def _matrix(self, rows: pd.DataFrame) -> pd.DataFrame | None:
        from ..load.predictions import correctness_matrix

        own = self.pred[self.pred["trial_id"].isin(rows["trial_id"])]
        for col in ("crop_pct", "test_res"):
            if col in rows.columns and own[col].nunique() > 1:
                want = rows.set_index("trial_id")[col]
                own = own[np.isclose(own[col].to_numpy(dtype=float),
                                     own["trial_id"].map(want).to_numpy(dtype=float))]
        if own["trial_id"].nunique() != rows["trial_id"].nunique():
            return None
        return correctness_matrix(own)

    def ci(self, a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
        if self.pred is None or "trial_id" not in a.columns:
            return NAN, NAN
        ma, mb = self._matrix(a), self._matrix(b)
        if ma is None or mb is None:
            return NAN, NAN
        return image_bootstrap_ci(ma, mb, **self.kw)
