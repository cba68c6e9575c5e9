"""Anytime-valid A/B comparison of two arms, seed by seed, for adding seeds until decided.

Peeking at a t-test after every seed and stopping at p < α inflates the false-positive rate
several-fold. A *confidence sequence* holds its coverage uniformly over all seed counts, so it
may be looked at after every wave and the collection stopped as soon as it decides.

Construction: the anytime-valid t-test of the linear model (Lindon, Ham, Tingley & Bojinov
2022, "Anytime-valid linear models and regression adjusted causal inference in randomized
experiments", arXiv:2210.08589, the sequential t-test and its confidence sequence), the
scale-invariant normal-mixture (Lai 1976; Robbins) Bayes factor with a right-Haar prior on σ,
which is a test martingale at every n with unknown variance (Pérez-Ortiz, Lardy, de Heide &
Grünwald 2022, "E-statistics, group invariance and anytime-valid testing"). For the effect γ
(the mean of the paired differences, or the A − B coefficient of y = β₀ + γ·[arm A] + ε) with
OLS estimate γ̂, standard error se, residual degrees of freedom ν and
n_eff = s²/se² (n pairs; n_a·n_b/(n_a+n_b) for two samples), the prior γ − θ ~ N(0, σ²/φ)
gives, with t = (γ̂ − θ)/se and r = φ/(φ + n_eff),

    BF(θ) = √r · [(1 + t²/ν) / (1 + r·t²/ν)]^((ν+1)/2).

Ville's inequality bounds P(sup_n BF_n(γ) ≥ 1/α) ≤ α, so {θ : BF(θ) < 1/α} is a (1−α)
confidence sequence, in closed form

    γ̂ ± se·√(ν·(1 − k)/(k − r)),  k = (r·α²)^(1/(ν+1)),  unbounded while k ≤ r,

the expression savvi's ``LinearRegression`` implements (its ν is one lower: one df more
conservative). It is exact for normal seed results at every n ≥ 2 pairs (3 results for two
samples); small-n validity is where plug-in asymptotic sequences fail (28 % false decisions in
the issue's test). The running intersection over the looks is also a confidence sequence
(Howard et al. 2021) and is what is reported; the anytime-valid p-value is min(1, 1/max BF(0)).

φ = 1 (a prior effect of about one residual σ; savvi's default) makes the sequence narrowest near
n_eff ≈ 8 (Howard et al. 2021's rule for the normal mixture, ρ ≈ m / (2 log(1/α) +
log(1 + 2 log(1/α))): 8 pairs, or 16 seeds per arm for two samples), the range in which a seed
study wants its decision. ``benchmarks/sequential_sim.py`` measures the error rates
and the seeds spent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError

#: Decisions of one look; the last row of :func:`sequential_compare` carries the verdict.
DECISIONS = ("continue", "a_better", "b_better", "equivalent")

#: Prior precision φ of the mixture, in units of the residual variance (see module docstring).
DEFAULT_PHI = 1.0


@dataclass(frozen=True, kw_only=True)
class ConfidenceSequence:
    """Arrays over (..., looks) from :func:`confidence_sequence`.

    ``low``/``high`` are the running intersection over the looks so far (±inf while the data
    cannot bound the difference); ``p_value`` is the anytime-valid p-value of "no difference".
    """

    n: np.ndarray          # seed count at each look
    n_a: np.ndarray        # usable results of A at each look (complete pairs when paired)
    n_b: np.ndarray
    diff: np.ndarray       # estimate of mean(A) − mean(B)
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    alpha: float
    paired: bool
    phi: float


def _shift(x: np.ndarray) -> np.ndarray:
    """First finite value of each row (0 where none): subtracting it keeps sums of squares exact."""
    ok = np.isfinite(x)
    first = np.take_along_axis(x, np.argmax(ok, axis=-1)[..., None], axis=-1)
    return np.where(ok.any(axis=-1, keepdims=True), first, 0.0)


def _cumulative(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Running count, mean and centred sum of squares of the finite values of ``x``."""
    ok = np.isfinite(x)
    y = np.where(ok, x - c, 0.0)
    n = np.cumsum(ok, axis=-1)
    s1 = np.cumsum(y, axis=-1)
    s2 = np.cumsum(y * y, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        ss = np.clip(s2 - s1 * mean, 0.0, None)
    return n, mean + c, np.where(n > 0, ss, 0.0)


def log_bayes_factor(t2: np.ndarray, nu: np.ndarray, n_eff: np.ndarray,
                     phi: float = DEFAULT_PHI) -> np.ndarray:
    """log BF of the scale-invariant normal mixture against γ = θ, from t² = ((γ̂ − θ)/se)².

    t² = inf (zero residual spread, γ̂ ≠ θ) gives the limit −(ν/2)·log r.
    """
    t2, nu, n_eff = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t2, nu, n_eff)))
    r = phi / (phi + n_eff)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = np.where(np.isinf(t2), 1.0 / r, (nu + t2) / (nu + r * t2))
        return 0.5 * np.log(r) + 0.5 * (nu + 1.0) * np.log(ratio)


def cs_radius(se: np.ndarray, nu: np.ndarray, n_eff: np.ndarray, alpha: float,
              phi: float = DEFAULT_PHI) -> np.ndarray:
    """Half-width of {θ : BF(θ) < 1/α}: se·√(ν(1−k)/(k−r)), k = (rα²)^(1/(ν+1)); inf if k ≤ r."""
    se, nu, n_eff = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (se, nu, n_eff)))
    r = phi / (phi + n_eff)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        k = (r * alpha**2) ** (1.0 / (nu + 1.0))
        bounded = (nu >= 1) & (k > r)
        u = np.where(bounded, (1.0 - k) / np.where(bounded, k - r, 1.0), np.inf)
        rad = np.where(se == 0, 0.0, se * np.sqrt(nu * u))
    return np.where(bounded & np.isfinite(se), rad, np.inf)


def check_looks(looks: Any, n_seeds: int) -> np.ndarray:
    """``looks`` (seed counts at which results were looked at) as an int array; every look by default.

    One rule for every sequential statistic (``confidence_sequence`` and the race): integers that
    increase strictly within 1..``n_seeds``.
    """
    if looks is None:
        return np.arange(1, n_seeds + 1)
    lk = np.atleast_1d(np.asarray(looks))
    if lk.ndim != 1 or lk.size == 0 or not np.issubdtype(lk.dtype, np.integer):
        raise AnalysisError(f"looks must be a list of seed counts (integers), got {looks!r}.")
    if (np.diff(lk) <= 0).any() or lk[0] < 1 or lk[-1] > n_seeds:
        raise AnalysisError(
            f"looks must increase strictly and lie in 1..{n_seeds} (the number of seeds given), "
            f"got {lk.tolist()}; pass the seed counts at which the results were looked at."
        )
    return lk.astype(int)


def confidence_sequence(a: Any, b: Any, *, alpha: float = 0.05, paired: bool = False,
                        looks: Sequence[int] | None = None,
                        phi: float = DEFAULT_PHI) -> ConfidenceSequence:
    """The (1−α) confidence sequence for mean(A) − mean(B) at each look, vectorised.

    ``a`` and ``b`` have shape (..., n_seeds) in seed order, NaN for a missing seed; leading axes
    are independent sequences (the simulation benchmark passes thousands at once). ``paired``
    uses the per-seed differences (a seed missing in either arm drops the pair); otherwise two
    independent samples with a common variance.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim == 0 or a.shape[-1] == 0:
        raise AnalysisError(
            f"a and b must be arrays of the same shape in seed order (element i = seed i, NaN "
            f"for a missing seed); got shapes {a.shape} and {b.shape}."
        )
    if np.isinf(a).any() or np.isinf(b).any():
        raise AnalysisError("a and b contain inf; a missing seed is NaN, a result is finite.")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must lie in (0, 1), got {alpha!r}.")
    if not (math.isfinite(phi) and phi > 0):
        raise AnalysisError(f"phi must be a positive number, got {phi!r}.")
    idx = check_looks(looks, a.shape[-1]) - 1

    if paired:
        d = a - b
        n, diff, ss = _cumulative(d, _shift(d))
        n_a = n_b = n
        nu = n - 1.0
        n_eff = n.astype(float)
    else:
        c = _shift(np.concatenate([a, b], axis=-1))
        n_a, mean_a, ss_a = _cumulative(a, c)
        n_b, mean_b, ss_b = _cumulative(b, c)
        diff = mean_a - mean_b
        ss = ss_a + ss_b
        nu = n_a + n_b - 2.0
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = n_a * n_b / np.maximum(n_a + n_b, 1)
    n_a, n_b, diff, ss, nu, n_eff = (v[..., idx] for v in (n_a, n_b, diff, ss, nu, n_eff))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(ss / nu / n_eff)
        se = np.where((nu >= 1) & (n_eff > 0), se, np.nan)
        rad = cs_radius(se, nu, n_eff, alpha, phi)
        low = np.maximum.accumulate(np.where(np.isfinite(rad), diff - rad, -np.inf), axis=-1)
        high = np.minimum.accumulate(np.where(np.isfinite(rad), diff + rad, np.inf), axis=-1)
        t2 = np.where(diff == 0, 0.0, (diff / se) ** 2)
        lbf = np.where(np.isfinite(se), log_bayes_factor(t2, nu, n_eff, phi), 0.0)
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-lbf)), axis=-1)
    n_look = np.broadcast_to(idx + 1, diff.shape)
    return ConfidenceSequence(n=n_look, n_a=n_a, n_b=n_b, diff=diff, low=low, high=high,
                              p_value=p, alpha=float(alpha), paired=bool(paired), phi=float(phi))


def decide(low: np.ndarray, high: np.ndarray, delta: float = 0.0, *,
           higher_is_better: bool = True) -> np.ndarray:
    """Decision codes (indices into :data:`DECISIONS`) of each look's interval.

    Excluding 0 decides first ("A is better/worse"); otherwise an interval inside (−δ, δ) is
    "equivalent within δ". ``higher_is_better=False`` is for losses.
    """
    low, high = np.asarray(low), np.asarray(high)
    pos = low > 0
    neg = high < 0
    up, down = (1, 2) if higher_is_better else (2, 1)
    code = np.zeros(np.broadcast(low, high).shape, dtype=np.int8)
    if delta > 0:
        code = np.where((low > -delta) & (high < delta), 3, code)
    code = np.where(neg, down, code)
    return np.where(pos, up, code).astype(np.int8)


def first_decision(code: np.ndarray) -> np.ndarray:
    """Index of the first look with a decision in each sequence (last look where none)."""
    decided = code != 0
    return np.where(decided.any(axis=-1), np.argmax(decided, axis=-1), code.shape[-1] - 1)


def resolve_paired(paired: bool | None) -> bool:
    """The pairing used when the caller does not say: two independent samples.

    The same seed correlates the arms only when they share the trained model: arms that differ
    in evaluation-only fields (crop ratio, test resolution) evaluate the same weights, and their
    per-seed differences cancel the seed noise. Arms that train differently decorrelate however
    the seeds match (Summers & Dinneen 2021), and pairing then only costs degrees of freedom.
    The arrays do not say which case holds, so the caller that knows (``rsb-sweep ab``) passes
    ``paired=True`` for evaluation-only differences; ``benchmarks/sequential_sim.py`` measures
    both choices in both cases.
    """
    if paired is None:
        return False
    if not isinstance(paired, (bool, np.bool_)):
        raise AnalysisError(f"paired must be True, False or None, got {paired!r}.")
    return bool(paired)


def sequential_compare(
    a: Any,
    b: Any,
    *,
    alpha: float = 0.05,
    delta: float = 0.0,
    paired: bool | None = None,
    looks: Sequence[int] | None = None,
    phi: float = DEFAULT_PHI,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Anytime-valid comparison of A and B, one row per look, stopping at the first decision.

    ``a``, ``b``: results in seed order (element i of each is seed i; NaN for a missing seed,
    never a shift). ``delta``: equivalence margin in the metric's units (0: never
    "equivalent"). ``paired``: per-seed differences or two independent samples, fixed for the
    whole sequence; None means independent (see :func:`resolve_paired`). ``looks``: the seed
    counts at which the results were looked at (default every seed; ``ab`` passes its waves).

    Returns columns ``n`` (seeds at the look), ``n_a``, ``n_b`` (usable results), ``diff``
    (mean A − mean B), ``cs_low``, ``cs_high`` (the (1−α) confidence sequence, running
    intersection; ±inf while unbounded), ``p_value`` (anytime-valid, of no difference) and
    ``decision`` (``continue``, ``a_better``, ``b_better``, ``equivalent``). Rows end at the
    first decided look; the last row's decision is the verdict (``continue``: undecided so far).
    ``attrs`` carry alpha, delta, paired, phi and the method.
    """
    try:
        delta_ok = math.isfinite(float(delta)) and float(delta) >= 0
    except (TypeError, ValueError):
        delta_ok = False
    if not delta_ok:
        raise AnalysisError(f"delta must be a number ≥ 0 in the metric's units, got {delta!r}.")
    delta = float(delta)
    pair = resolve_paired(paired)
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.ndim != 1 or y.ndim != 1 or x.size != y.size:
        raise AnalysisError(
            f"a and b must be 1-D and of equal length, one entry per seed in seed order (NaN for "
            f"a missing seed); got shapes {x.shape} and {y.shape}."
        )
    cs = confidence_sequence(x, y, alpha=alpha, paired=pair, looks=looks, phi=phi)
    code = decide(cs.low, cs.high, delta, higher_is_better=higher_is_better)
    stop = int(first_decision(code)) + 1
    out = pd.DataFrame({
        "n": cs.n[:stop].astype(int), "n_a": cs.n_a[:stop].astype(int),
        "n_b": cs.n_b[:stop].astype(int), "diff": cs.diff[:stop], "cs_low": cs.low[:stop],
        "cs_high": cs.high[:stop], "p_value": cs.p_value[:stop],
        "decision": [DECISIONS[c] for c in code[:stop]],
    })
    out.attrs.update(alpha=float(alpha), delta=float(delta), paired=pair, phi=float(phi),
                     higher_is_better=bool(higher_is_better),
                     method="anytime-valid t-test confidence sequence (Lindon et al. 2022)")
    return out
