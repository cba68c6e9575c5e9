"""Variance components: how much of the seed variance each seed source (init, data order,
augmentation) causes.

Two designs identify the shares:

* **crossed**: every combination of the varying sources was run (e.g. 5 × 5 × 5 trials).
  A main-effects ANOVA (statsmodels ``ols`` + ``anova_lm``) gives mean squares; the random-
  effects method of moments turns them into components, σ²_f = max(0, (MS_f − MS_res) / c_f)
  with c_f the trials per level. The residual pools interactions and non-determinism.
* **one-at-a-time**: for each source, a set of trials varies only that source and pins the
  others at one reference value (DESIGN.md's "vary one source and hold the others"). Each
  source gets the variance of its own set with a chi-square CI. Each includes the runs'
  non-determinism, so the variances overlap: they are never reported as shares of a total
  (``share`` is NaN), which would double-count the non-determinism.

Confidence intervals are generalized confidence intervals (Weerahandi 1993; Burdick & Graybill
1992): under the Gaussian model each mean square is an independent scaled χ², so drawing
R_f = (df_f·MS_f/χ²_{df_f} − df_res·MS_res/χ²_{df_res}) / c_f (truncated at 0) and taking its
percentiles gives intervals with close to nominal coverage, for the components and their shares,
without refitting. (A plain percentile bootstrap of the estimator under-covers: the χ² of a
variance with few degrees of freedom is too skewed.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from ..errors import AnalysisError
from ..text.verdicts import variance_sentence

RESIDUAL = "residual"


@dataclass(frozen=True, kw_only=True)
class VarianceComponents:
    """Result of :func:`variance_components`; ``table`` has one row per component."""

    design: str                 # "crossed", "one-at-a-time" or "one-way"
    metric: str
    n: int                      # usable trials
    table: pd.DataFrame         # component, levels, n, df, mean_square, variance, std, share, CIs
    sentence: str
    notes: tuple[str, ...] = field(default=())
    n_excluded: int = 0
    excluded: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {"design": self.design, "metric": self.metric, "n": self.n,
                "table": self.table.to_dict(orient="records"), "sentence": self.sentence,
                "notes": "; ".join(self.notes), "n_excluded": self.n_excluded,
                "excluded": self.excluded}


def variance_decomposition(
    values: Any,
    sources: Mapping[str, Any],
    metric: str = "top1",
    *,
    confidence: float = 0.95,
    n_boot: int = 10_000,
    random_state: int | None = 0,
) -> VarianceComponents:
    """Share of the variance of ``values`` per seed source, with generalized CIs (module note).

    ``values``: the metric of each trial; ``sources``: each seed source's value per trial, in
    the same order (e.g. ``{"seed_init": [...], "seed_data": [...]}``). Raises AnalysisError
    when the sources are confounded (e.g. every trial has its own value of every source, the
    default ``seed`` sweep): the shares are then not identifiable.
    """
    factors = list(sources)
    usable = pd.DataFrame({f: sources[f] for f in factors})
    usable[metric] = np.asarray(values, dtype=float)
    if len(usable) < 3:
        raise AnalysisError(f"variance_components needs at least 3 usable trials, got {len(usable)}.")
    varying = [f for f in factors if usable[f].nunique() > 1]
    if not varying:
        raise AnalysisError(f"none of {', '.join(factors)} varies: no seed source to attribute "
                            "variance to.")
    rng = np.random.default_rng(random_state)
    alpha = 1 - confidence
    if len(varying) > 1:
        oat = _one_at_a_time_sets(usable, varying)
        if oat is not None:
            return _one_at_a_time(usable, oat, metric, alpha)
    if len(varying) == 1 or _crossed_enough(usable, varying):
        return _crossed(usable, varying, metric, alpha, n_boot, rng)
    combos = len(usable[varying].drop_duplicates())
    raise AnalysisError(
        f"{', '.join(varying)} vary together ({combos} distinct combinations in {len(usable)} "
        "trials, neither crossed nor one source at a time), so their shares are not "
        "identifiable. Run a crossed sweep (every combination) or pin all sources but one."
    )


def _crossed_enough(d: pd.DataFrame, varying: list[str]) -> bool:
    """True when a main-effects model of the sources is identifiable with residual df left.

    The dummy-coded design matrix must have full column rank 1 + Σ(levels − 1) and fewer
    columns than trials: a fully crossed design qualifies, and so does one with a few missing
    cells; sources that vary together (one new value of each per trial) do not.
    """
    cols = 1 + sum(d[f].nunique() - 1 for f in varying)
    if cols >= len(d):
        return False
    X = pd.get_dummies(d[varying].astype(str), drop_first=True).to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(d)), X])
    return int(np.linalg.matrix_rank(X)) == cols


def _crossed(d, varying, metric, alpha, n_boot, rng) -> VarianceComponents:
    names = {f: f"f{i}" for i, f in enumerate(varying)}
    data = pd.DataFrame({"y": d[metric].to_numpy(dtype=float)})
    for f, nm in names.items():
        data[nm] = d[f].astype(str).to_numpy()
    notes: list[str] = []
    N = len(data)
    counts = {f: data[names[f]].value_counts() for f in varying}
    balanced = all(c.nunique() == 1 for c in counts.values())
    if not balanced:
        notes.append("unbalanced design: c_f is the mean number of trials per level, the "
                     "components are approximate")
    if N - 1 - sum(c.size - 1 for c in counts.values()) < 1:  # no residual degrees of freedom
        if len(varying) > 1:
            raise AnalysisError("variance_components: no residual degrees of freedom left; "
                                "the design has too few trials for its factors.")
        # one source, one trial per level: its component is the plain variance of the trials
        return _one_at_a_time(d, {varying[0]: d.index}, metric, alpha, design="one-way")
    ms, dof = _mean_squares(data, names)
    coef = {f: N / counts[f].size for f in varying}
    rows, total = _component_rows(ms, dof, coef, {f: int(counts[f].size) for f in varying}, N, alpha,
                                  n_boot, rng)
    if total == 0:
        notes.append("all values equal: shares undefined")
    notes.append("residual pools the interactions and any non-determinism (main-effects model)")
    tab = pd.DataFrame(rows)
    shape = " × ".join(str(int(counts[f].size)) for f in varying)
    design = "crossed" if len(varying) > 1 else "one-way"
    what = (f"a crossed {shape} design" if len(varying) > 1
            else f"{counts[varying[0]].size} levels of {varying[0]} with replicates")
    sentence = variance_sentence(tab, what, N, metric)
    return VarianceComponents(design=design, metric=metric, n=N, table=tab, sentence=sentence,
                              notes=tuple(notes))


def _mean_squares(data: pd.DataFrame, names: dict[str, str]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean squares and degrees of freedom of each source and of the residual (key
    :data:`RESIDUAL`) of a main-effects ANOVA (statsmodels ``ols`` + ``anova_lm``, type II) of
    ``y`` on the coded sources; below float noise a mean square is 0."""
    formula = "y ~ " + " + ".join(f"C({nm})" for nm in names.values())
    with np.errstate(all="ignore"):
        table = anova_lm(smf.ols(formula, data=data).fit(), typ=2)
    tiny = 1e-20 * max(1.0, float(data["y"].abs().max()) ** 2)  # float noise, not variance
    ms, dof = {}, {}
    for f, term in [*((f, f"C({nm})") for f, nm in names.items()), (RESIDUAL, "Residual")]:
        dof[f] = float(table.loc[term, "df"])
        ms[f] = float(table.loc[term, "sum_sq"]) / dof[f]
        ms[f] = 0.0 if ms[f] < tiny else ms[f]
    return ms, dof


def _component_rows(ms: dict[str, float], dof: dict[str, float], coef: dict[str, float],
                    levels: dict[str, int], n: int, alpha: float, n_boot: int,
                    rng: np.random.Generator) -> tuple[list[dict[str, Any]], float]:
    """Each source's component σ²_f = max(0, (MS_f − MS_res) / c_f) and the residual, with
    generalized CIs of the components and of their shares (one shared draw of the residual
    pivot); returns (table rows, total variance)."""
    sources = list(coef)
    comp = {f: max(0.0, (ms[f] - ms[RESIDUAL]) / coef[f]) for f in sources}
    comp[RESIDUAL] = ms[RESIDUAL]
    draws = {RESIDUAL: _pivot(ms[RESIDUAL], dof[RESIDUAL], n_boot, rng)}
    draws.update({f: np.maximum(0.0, (_pivot(ms[f], dof[f], n_boot, rng) - draws[RESIDUAL]) / coef[f])
                  for f in sources})
    total_star = sum(draws[f] for f in sources) + draws[RESIDUAL]
    total = sum(comp[f] for f in sources) + ms[RESIDUAL]
    rows = []
    for f in sources + [RESIDUAL]:
        var = comp[f]
        share_draws = np.divide(draws[f], total_star, out=np.full(n_boot, np.nan), where=total_star > 0)
        rows.append(dict(
            component=f,
            levels=levels[f] if f != RESIDUAL else np.nan,
            n=n,
            df=dof[f],
            mean_square=ms[f],
            variance=var,
            std=math.sqrt(var),
            share=var / total if total > 0 else np.nan,
            variance_ci_low=float(np.quantile(draws[f], alpha / 2)),
            variance_ci_high=float(np.quantile(draws[f], 1 - alpha / 2)),
            share_ci_low=float(np.nanquantile(share_draws, alpha / 2)) if total > 0 else np.nan,
            share_ci_high=float(np.nanquantile(share_draws, 1 - alpha / 2)) if total > 0 else np.nan,
        ))
    return rows, total


def _pivot(ms: float, dof: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of the generalized pivot dof·ms/χ²_dof of the expected mean square."""
    return dof * ms / rng.chisquare(dof, n)


def _one_at_a_time_sets(d: pd.DataFrame, varying: list[str]) -> dict[str, pd.Index] | None:
    ref = {f: d[f].mode().iloc[0] for f in varying}
    sets: dict[str, pd.Index] = {}
    covered = pd.Series(False, index=d.index)
    for f in varying:
        others = [g for g in varying if g != f]
        mask = np.logical_and.reduce([(d[g] == ref[g]).to_numpy() for g in others])
        sub = d.index[mask]
        if d.loc[sub, f].nunique() < 2:
            return None
        sets[f] = sub
        covered[sub] = True
    return sets if covered.all() else None


def _one_at_a_time(d, sets, metric, alpha, design="one-at-a-time"):
    """Each source's own variance (ddof=1) with a chi-square CI; no shares (see below).

    Why no shares: each set varies one source while the others are pinned, but every trial
    also carries the run's non-determinism, so each set's variance includes it. The variances
    overlap; they are not parts of one whole and do not sum to the total.
    """
    from scipy import stats

    rows = []
    for f, idx in sets.items():
        x = d.loc[idx, metric].to_numpy(dtype=float)
        n = len(x)
        var = float(x.var(ddof=1))
        dof = n - 1
        lo = dof * var / stats.chi2.ppf(1 - alpha / 2, dof)
        hi = dof * var / stats.chi2.ppf(alpha / 2, dof)
        rows.append(dict(component=f, levels=int(d.loc[idx, f].nunique()), n=n, df=float(dof),
                         mean_square=var, variance=var, std=math.sqrt(var), variance_ci_low=lo,
                         variance_ci_high=hi, share=np.nan, share_ci_low=np.nan,
                         share_ci_high=np.nan))
    tab = pd.DataFrame(rows)
    notes = ["each source's variance includes any non-determinism of the runs, so the "
             "variances overlap and are not shares of a total"]
    if design == "one-at-a-time":
        notes.append("the reference trial is shared between the sets")
        what = "one source at a time (" + ", ".join(
            f"{r['n']} trials varying {r['component']}" for r in rows) + ")"
    else:
        what = f"{rows[0]['n']} trials varying only {rows[0]['component']}"
    if (tab["variance"] == 0).all():
        notes.append("all values equal: no variance")
    sentence = variance_sentence(tab, what, len(d), metric, overlapping=design == "one-at-a-time")
    return VarianceComponents(design=design, metric=metric, n=len(d), table=tab, sentence=sentence,
                              notes=tuple(notes))
