"""The nested variance split of a transfer study: fine-tuning seeds within each pretrained model.

A target's fine-tuned top-1 is y_mj = μ_r + b_m + e_mj: pretrained model m (of pretraining recipe
r, a fixed effect when several recipes are pooled), fine-tuning seed j. The components are the
between-pretrained-model variance σ²_b = Var(b_m) and the within (fine-tuning seed) variance
σ²_w = Var(e_mj).

Estimator: the classical one-way random-effects ANOVA (method of moments, Henderson's method I),
models nested within recipes. With M models in R recipes and N fine-tunings,
MS_B = Σ n_m (ȳ_m − ȳ_r)² / (M − R), MS_W = Σ (y − ȳ_m)² / (N − M) and
E[MS_B] = σ²_w + n₀ σ²_b with n₀ = (N − Σ_r Σ_m n_m² / N_r) / (M − R) (= n per model when
balanced), so σ̂²_b = (MS_B − MS_W) / n₀ is unbiased in balanced and unbalanced designs alike.
It is negative whenever the model means differ less than the fine-tuning seeds alone make them
differ: ``between_raw`` keeps that value, ``between`` is max(0, ·) and a note says so.

Intervals: σ²_w's is the exact chi-square interval (N − M degrees of freedom). σ²_b's, and the
share σ²_b / (σ²_b + σ²_w), are generalized confidence intervals (Weerahandi 1993; Burdick &
Graybill 1992, ch. 5-6), as :mod:`analysis.stats.variance` uses for crossed seed sources: the
pivot (M−R)·S²_ū/χ²_{M−R} − (N−M)·MS_W/χ²_{N−M}/ñ, truncated at 0, where S²_ū is the variance of
the unweighted model means around their recipe's and ñ the harmonic mean of the n_m (Thomas &
Hultquist 1978's unweighted-means approximation for unbalanced designs; balanced, it is the
exact pivot of MS_B). Why not REML (statsmodels MixedLM): with the 3 pretrained models a recipe
usually has, REML often stops on the boundary σ²_b = 0 with a convergence warning and its Wald
interval is symmetric around a skewed quantity; the generalized interval keeps close to nominal
coverage from 3 groups (tests/analysis/test_transfer_stats.py simulates it) and needs no refits.

Test-set noise (:func:`nested_example_noise`): Jordan (2023)'s split of the seed variance on a
fixed test set, applied to each component. The mean squares of top-1 are quadratic forms of the
(fine-tunings × images) correctness matrix, so each component is exactly the sum over image pairs
of the same estimator applied to the pair's cross products; its diagonal (each image's own
between-model or within-model variance, summed and divided by n²) is the part independent
per-image errors make, what a larger test set would average away.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .image_noise import Interval, as_correctness

NAN = float("nan")
#: Top-1 in percent: the noise parts are in points².
_PCT = 100.0
METHOD = "one-way random-effects ANOVA (method of moments), generalized CIs"


@dataclass(frozen=True, kw_only=True)
class NestedVariance:
    """Result of :func:`nested_variance` (variances in the metric's units squared)."""

    n: int                      # fine-tunings
    n_models: int               # pretrained models
    n_recipes: int              # strata (pretraining recipes), each its own mean
    balanced: bool
    n0: float                   # effective fine-tunings per model in E[MS_B]
    df_between: int
    df_within: int
    ms_between: float
    ms_within: float
    between_raw: float          # (MS_B − MS_W) / n₀: unbiased, negative by chance
    between: float              # max(0, between_raw)
    within: float
    between_ci: Interval
    within_ci: Interval
    share_between: float        # between / (between + within)
    share_between_ci: Interval
    confidence_level: float
    method: str = METHOD
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Flat dict (intervals as ``_ci_low``/``_ci_high``, notes joined)."""
        d = asdict(self)
        for name in ("between_ci", "within_ci", "share_between_ci"):
            low, high = d.pop(name)
            d[f"{name}_low"], d[f"{name}_high"] = low, high
        d["notes"] = "; ".join(self.notes)
        return d


@dataclass(frozen=True, kw_only=True)
class _Design:
    """Codes of the models and recipes, counts, and the coefficients of the mean squares."""

    model: np.ndarray
    recipe_of_model: np.ndarray
    counts: np.ndarray
    n_recipes: int
    n0: float
    harmonic: float
    df_between: int
    df_within: int


def _design(model: Any, recipe: Any | None, n: int) -> _Design:
    models = pd.Series(np.asarray(model, dtype=object)).astype(str)
    recipes = pd.Series(np.asarray(recipe, dtype=object) if recipe is not None else ["all"] * n).astype(str)
    if len(models) != n or len(recipes) != n:
        raise AnalysisError(f"nested_variance: {n} values but {len(models)} model labels and {len(recipes)} recipes.")
    pairs = pd.DataFrame({"m": models, "r": recipes}).drop_duplicates()
    if pairs["m"].duplicated().any():
        bad = sorted(pairs.loc[pairs["m"].duplicated(), "m"])[:3]
        raise AnalysisError(f"pretrained model(s) {', '.join(bad)} appear under two pretraining recipes; "
                            "a model is nested in one recipe.")
    m_codes, m_names = pd.factorize(models, sort=True)
    counts = np.bincount(m_codes).astype(float)
    r_of_m = pd.factorize(pairs.set_index("m").loc[list(m_names), "r"], sort=True)[0]
    n_models, n_recipes = len(m_names), int(r_of_m.max()) + 1
    df_between, df_within = n_models - n_recipes, n - n_models
    if df_between < 1:
        raise AnalysisError(f"nested_variance needs at least 2 pretrained models in one recipe (got {n_models} "
                            f"models in {n_recipes} recipes): with one, nothing separates models from recipes.")
    if df_within < 1:
        raise AnalysisError("nested_variance needs at least one pretrained model with 2 fine-tunings: with one "
                            "fine-tuning per model the two seeds' variances are confounded.")
    n_r = np.bincount(r_of_m, weights=counts)
    sq_r = np.bincount(r_of_m, weights=counts**2)
    n0 = float((n - np.sum(sq_r / n_r)) / df_between)
    return _Design(model=m_codes, recipe_of_model=r_of_m, counts=counts, n_recipes=n_recipes, n0=n0,
                   harmonic=float(len(counts) / np.sum(1.0 / counts)), df_between=df_between,
                   df_within=df_within)


def _mean_squares(y: np.ndarray, d: _Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MS_B, MS_W and the variance of the unweighted model means around their recipe's (S²_ū), for
    each column of ``y`` (fine-tunings × columns)."""
    sums = np.zeros((len(d.counts), y.shape[1]))
    np.add.at(sums, d.model, y)
    means = sums / d.counts[:, None]
    r = d.recipe_of_model
    n_r = np.bincount(r, weights=d.counts)
    recipe_mean = np.stack([np.bincount(r, weights=d.counts * means[:, j]) for j in range(y.shape[1])], 1) / n_r[:, None]
    ms_b = np.sum(d.counts[:, None] * (means - recipe_mean[r]) ** 2, axis=0) / d.df_between
    ms_w = np.sum((y - means[d.model]) ** 2, axis=0) / d.df_within
    k_r = np.bincount(r).astype(float)
    unweighted = np.stack([np.bincount(r, weights=means[:, j]) for j in range(y.shape[1])], 1) / k_r[:, None]
    s2u = np.sum((means - unweighted[r]) ** 2, axis=0) / d.df_between
    return ms_b, ms_w, s2u


def nested_variance(
    values: Any,
    model: Any,
    recipe: Any | None = None,
    *,
    confidence: float = 0.95,
    n_draws: int = 10_000,
    random_state: int | None = 0,
) -> NestedVariance:
    """Between-pretrained-model and within (fine-tuning seed) variance of ``values``, with CIs.

    ``values``: one metric per fine-tuning; ``model``: its pretrained model (e.g. ``pretrain_trial``);
    ``recipe``: its pretraining recipe when several are pooled (each keeps its own mean), else
    None. Unbalanced designs are allowed (see the module note). Raises AnalysisError for fewer than
    2 models in every recipe, no model fine-tuned twice, a model under two recipes, or NaN values.
    """
    y = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(y)):
        raise AnalysisError("nested_variance: values hold NaN/inf; pass the usable fine-tunings only.")
    d = _design(model, recipe, len(y))
    ms_b, ms_w, s2u = (float(v[0]) for v in _mean_squares(y[:, None], d))
    tiny = 1e-20 * max(1.0, float(np.abs(y).max()) ** 2)  # float noise, not variance
    ms_b, ms_w, s2u = (0.0 if v < tiny else v for v in (ms_b, ms_w, s2u))
    raw = (ms_b - ms_w) / d.n0
    between = max(0.0, raw)
    rng = np.random.default_rng(random_state)
    w_star = d.df_within * ms_w / rng.chisquare(d.df_within, n_draws)
    b_star = np.maximum(0.0, d.df_between * s2u / rng.chisquare(d.df_between, n_draws) - w_star / d.harmonic)
    total = b_star + w_star
    share_star = np.divide(b_star, total, out=np.full(n_draws, NAN), where=total > 0)
    q = [(1 - confidence) / 2, (1 + confidence) / 2]
    chi = stats.chi2.ppf(q[::-1], d.df_within)
    notes = _notes(d, raw, ms_b, ms_w)
    return NestedVariance(
        n=len(y), n_models=len(d.counts), n_recipes=d.n_recipes, balanced=bool(np.ptp(d.counts) == 0),
        n0=d.n0, df_between=d.df_between, df_within=d.df_within, ms_between=ms_b, ms_within=ms_w,
        between_raw=raw, between=between, within=ms_w,
        between_ci=Interval(*(float(v) for v in np.quantile(b_star, q))),
        within_ci=Interval(*(float(v) for v in d.df_within * ms_w / chi)),
        share_between=between / (between + ms_w) if between + ms_w > 0 else NAN,
        share_between_ci=(Interval(*(float(v) for v in np.nanquantile(share_star, q)))
                          if np.isfinite(share_star).any() else Interval(NAN, NAN)),
        confidence_level=confidence, notes=notes)


def _notes(d: _Design, raw: float, ms_b: float, ms_w: float) -> tuple[str, ...]:
    notes = []
    if np.ptp(d.counts) > 0:
        notes.append(f"unbalanced ({int(d.counts.min())} to {int(d.counts.max())} fine-tunings per model): "
                     f"n₀ = {d.n0:.2f}; the between-model interval uses the unweighted model means "
                     "(Thomas & Hultquist 1978), approximate")
    if raw < 0:
        notes.append("the between-model estimate is negative (MS_B < MS_W: the models' means differ less "
                     "than their fine-tuning seeds alone make them differ); reported as 0, its interval "
                     "still bounds it")
    if ms_b == 0 and ms_w == 0:
        notes.append("all values equal: no variance, share undefined")
    return tuple(notes)


@dataclass(frozen=True, kw_only=True)
class NestedNoise:
    """Result of :func:`nested_example_noise`: each component (points²) and the part of it that
    independent per-image errors make on this fixed test set (points²; its share of the component)."""

    n_images: int
    n: int
    between: float              # the between-model component of top-1, unfloored (between_raw)
    within: float
    between_example: float      # its independent-example part
    within_example: float
    between_example_share: float
    within_example_share: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Flat dict."""
        return asdict(self)


def nested_example_noise(correct: Any, model: Any, recipe: Any | None = None) -> NestedNoise:
    """How much of each component of :func:`nested_variance` on top-1 is test-set noise.

    ``correct``: (fine-tunings × images) correctness on one evaluation, rows in the order of
    ``model`` (and ``recipe``). The within part equals the df-pooled ``independent_example_var``
    of :func:`analysis.example_noise` run on each pretrained model's fine-tunings; the between
    part is the same estimator on the per-image model means (module note). Shares are of the
    unfloored components; NaN with a note when a component is not positive.
    """
    c = as_correctness(correct, "correct").astype(float)
    d = _design(model, recipe, c.shape[0])
    n_img = c.shape[1]
    top1 = _PCT * c.mean(axis=1)
    ms_b, ms_w, _ = (float(v[0]) for v in _mean_squares(top1[:, None], d))
    ib, iw, _ = _mean_squares(c, d)
    within_ex = _PCT**2 * float(iw.sum()) / n_img**2
    between_ex = _PCT**2 * float(((ib - iw) / d.n0).sum()) / n_img**2
    between, within = (ms_b - ms_w) / d.n0, ms_w
    notes = [f"{name} component is not positive: its share is undefined"
             for name, v in (("between-model", between), ("within-model", within)) if not v > 0]
    return NestedNoise(n_images=n_img, n=c.shape[0], between=between, within=within,
                       between_example=between_ex, within_example=within_ex,
                       between_example_share=between_ex / between if between > 0 else NAN,
                       within_example_share=within_ex / within if within > 0 else NAN,
                       note="; ".join(notes))


def component_std(v: float) -> float:
    """√max(0, v): the std of a variance component (NaN stays NaN)."""
    return math.sqrt(v) if v > 0 else (0.0 if v == v else NAN)
