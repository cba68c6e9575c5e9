"""Anytime-valid A/B comparison: the closed form against its integral definition, statsmodels
and savvi; error rates and seeds spent on short seeded simulations; decisions; the figure."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from analysis import AnalysisError
from analysis.sequential import (
    DECISIONS,
    confidence_sequence,
    cs_radius,
    decide,
    first_decision,
    log_bayes_factor,
    plot_stopping_path,
    resolve_paired,
    sequential_compare,
    verdict_sentence,
)

ALPHA = 0.05


def _gauss_legendre(lo: float, hi: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(k)
    return (lo + hi) / 2 + (hi - lo) / 2 * x, (hi - lo) / 2 * w


def _mixture_log_bf(a, b, theta, phi, paired):
    """log BF by quadrature of its definition: likelihood under γ ~ N(θ, σ²/φ) over the
    likelihood at γ = θ, σ under the right-Haar prior dσ/σ, the control mean (two samples)
    under a flat prior. Independent of the closed form."""
    u, wu = _gauss_legendre(math.log(0.02), math.log(20), 160)   # u = log σ, dσ/σ = du
    s = np.exp(u)
    g, wg = _gauss_legendre(-4, 5, 120)
    prior = np.sqrt(phi / (2 * np.pi)) / s[:, None] * np.exp(-phi * (g - theta) ** 2
                                                             / (2 * s[:, None] ** 2))
    if paired:
        x = np.asarray(a) - np.asarray(b)
        q1 = ((x[None, :] - g[:, None]) ** 2).sum(-1)[None, :]                 # (σ, γ)
        h1 = np.einsum("i,k,ik->", wu, wg, np.exp(-q1 / (2 * s[:, None] ** 2)
                                                  - x.size * u[:, None]) * prior)
        q0 = ((x - theta) ** 2).sum()
        h0 = np.sum(wu * np.exp(-q0 / (2 * s**2) - x.size * u))
        return math.log(h1 / h0)
    a, b = np.asarray(a), np.asarray(b)
    m, wm = _gauss_legendre(-4, 5, 120)
    n = a.size + b.size
    S, M, G = s[:, None, None], m[None, :, None], g[None, None, :]
    q1 = ((a - M[..., None] - G[..., None]) ** 2).sum(-1) + ((b - M[..., None]) ** 2).sum(-1)
    h1 = np.einsum("i,j,k,ijk->", wu, wm, wg,
                   np.exp(-q1 / (2 * S**2) - n * np.log(S)) * prior[:, None, :])
    q0 = ((a - m[:, None] - theta) ** 2).sum(-1) + ((b - m[:, None]) ** 2).sum(-1)
    h0 = np.einsum("i,j,ij->", wu, wm, np.exp(-q0[None, :] / (2 * s[:, None] ** 2)
                                              - n * u[:, None]))
    return math.log(h1 / h0)


# --------------------------------------------------------------------------- the closed form

@pytest.mark.parametrize("paired", [True, False])
@pytest.mark.parametrize("phi", [1.0, 0.3])
def test_closed_form_equals_the_mixture_integral(paired, phi):
    a = np.array([1.0, 1.6, 0.7, 1.3, 0.9])
    b = np.array([0.2, 0.5, -0.3, 0.4, 0.6]) if paired else np.array([0.2, 0.5, -0.3])
    theta = 0.1
    if paired:
        d = a - b
        n = d.size
        nu, n_eff, est, ss = n - 1, n, d.mean(), ((d - d.mean()) ** 2).sum()
    else:
        nu = a.size + b.size - 2
        n_eff = a.size * b.size / (a.size + b.size)
        est = a.mean() - b.mean()
        ss = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
    se = math.sqrt(ss / nu / n_eff)
    closed = float(log_bayes_factor(((est - theta) / se) ** 2, nu, n_eff, phi))
    assert closed == pytest.approx(_mixture_log_bf(a, b, theta, phi, paired), abs=1e-4)


@pytest.mark.parametrize("paired", [True, False])
def test_interval_ends_are_where_the_bayes_factor_reaches_one_over_alpha(paired, rng):
    a, b = rng.normal(0.3, 1, 12), rng.normal(0, 1, 12)
    cs = confidence_sequence(a, b, alpha=ALPHA, paired=paired, looks=[12])
    if paired:
        d = a - b
        nu, n_eff, se = 11, 12, d.std(ddof=1) / math.sqrt(12)
    else:
        nu, n_eff = 22, 6.0
        se = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2 * (2 / 12))
    for end in (cs.low[0], cs.high[0]):
        t2 = ((cs.diff[0] - end) / se) ** 2
        assert float(log_bayes_factor(t2, nu, n_eff)) == pytest.approx(math.log(1 / ALPHA))
    assert cs.low[0] < cs.diff[0] < cs.high[0]


def test_two_sample_statistics_match_statsmodels_ols_with_missing_seeds(rng):
    a, b = rng.normal(79.0, 0.3, 15), rng.normal(78.8, 0.3, 15)
    a[[3, 9]] = np.nan
    b[12] = np.nan
    res = sequential_compare(a, b, paired=False, looks=[15])
    ya, yb = a[np.isfinite(a)], b[np.isfinite(b)]
    y = np.concatenate([ya, yb])
    X = sm.add_constant(np.r_[np.ones(ya.size), np.zeros(yb.size)])
    ols = sm.OLS(y, X).fit()
    se, nu = float(ols.bse[1]), float(ols.df_resid)
    n_eff = float(ols.scale) / se**2
    rad = float(cs_radius(se, nu, n_eff, ALPHA))
    row = res.iloc[-1]
    assert (row["n_a"], row["n_b"]) == (13, 14)
    assert row["diff"] == pytest.approx(float(ols.params[1]))
    # the last look's raw interval; the running intersection can only be narrower
    assert row["cs_low"] >= row["diff"] - rad - 1e-12
    assert row["cs_high"] <= row["diff"] + rad + 1e-12
    one_look = sequential_compare(a, b, paired=False, looks=[15]).iloc[0]
    assert one_look["cs_high"] - one_look["cs_low"] == pytest.approx(2 * rad)


def test_missing_seed_is_not_a_shift():
    rng = np.random.default_rng(5)
    a, b = rng.normal(1, 1, 10), rng.normal(0, 1, 10)
    a_nan = a.copy()
    a_nan[4] = np.nan
    paired = sequential_compare(a_nan, b, paired=True, looks=[10])
    dropped = sequential_compare(np.delete(a, 4), np.delete(b, 4), paired=True, looks=[9])
    pd.testing.assert_frame_equal(paired.drop(columns="n"), dropped.drop(columns="n"))
    assert paired["n"].iloc[0] == 10 and paired["n_a"].iloc[0] == 9
    shifted = sequential_compare(np.r_[np.delete(a, 4), np.nan], b, paired=True, looks=[10])
    assert shifted["diff"].iloc[0] != pytest.approx(paired["diff"].iloc[0])


def test_savvi_oracle_closed_form():
    savvi_lr = pytest.importorskip("savvi.linear_regression")
    rng = np.random.default_rng(11)
    d = rng.normal(0.4, 1.0, 30)
    lr = savvi_lr.LinearRegression(alpha=ALPHA, p=1)
    checked = 0
    for n, v in enumerate(d, start=1):
        lr.update(np.array([v, 1.0]))
        if lr.nu() <= 0:
            continue
        with np.errstate(divide="ignore"):
            lo, hi = lr.calculate_conf_int()[0]
        mine = float(cs_radius(lr.standard_errors()[0], lr.nu(), lr.z2()[0], ALPHA))
        if math.isfinite(hi):
            assert mine == pytest.approx((hi - lo) / 2, rel=1e-9)
            checked += 1
        else:
            assert mine == math.inf
        # savvi keeps one degree of freedom fewer (ν = n − 2 for an intercept): ours is the
        # exact mixture (ν = n − 1) and never wider at the same n
        ours = confidence_sequence(d[:n], np.zeros(n), paired=True, looks=[n])
        assert ours.high[0] - ours.low[0] <= (hi - lo) + 1e-9
    assert checked > 20


# --------------------------------------------------------------------------- simulations

def _simulate(rng, sims, diff, rho=0.0, *, paired, looks, delta=0.0):
    b = rng.standard_normal((sims, 50))
    a = diff + rho * b + math.sqrt(1 - rho**2) * rng.standard_normal((sims, 50))
    cs = confidence_sequence(a, b, paired=paired, looks=looks)
    code = decide(cs.low, cs.high, delta)
    i = first_decision(code)
    rows = np.arange(sims)
    return a, b, code[rows, i], cs.n[rows, i]


@pytest.mark.parametrize("paired", [False, True])
def test_false_decisions_under_no_difference_stay_below_alpha_where_peeking_does_not(paired):
    rng = np.random.default_rng(2026)
    looks = np.arange(2, 51)
    a, b, final, _ = _simulate(rng, 1500, 0.0, paired=paired, looks=looks)
    false_rate = np.mean(final != 0)
    test = stats.ttest_rel if paired else stats.ttest_ind
    peek = np.zeros(len(a), dtype=bool)
    for n in looks:
        peek |= test(a[:, :n], b[:, :n], axis=1).pvalue < ALPHA
    assert false_rate <= ALPHA
    assert peek.mean() > 3 * ALPHA


def test_large_difference_is_decided_within_a_handful_of_seeds():
    rng = np.random.default_rng(7)
    _, _, final, n = _simulate(rng, 1000, 2.0, paired=False, looks=np.arange(2, 51, 2))
    assert np.mean(final == DECISIONS.index("a_better")) > 0.99
    assert np.median(n) <= 10


def test_default_pairing_is_two_samples_and_pairing_pays_only_for_a_shared_model():
    """The decision behind ``paired=None``: arms that train differently (ρ = 0) gain nothing
    from pairing by seed; arms that share the trained weights (ρ = 0.9) decide far sooner."""
    assert resolve_paired(None) is False
    rng = np.random.default_rng(3)
    a, b = rng.normal(1, 1, 20), rng.normal(0, 1, 20)
    pd.testing.assert_frame_equal(sequential_compare(a, b), sequential_compare(a, b, paired=False))
    looks = np.arange(2, 51, 2)
    seeds = {}
    for rho in (0.0, 0.9):
        for paired in (False, True):
            sims = np.random.default_rng(10)  # the same draws for both analyses
            _, _, final, n = _simulate(sims, 800, 1.0, rho, paired=paired, looks=looks)
            seeds[rho, paired] = n.mean()
    assert seeds[0.0, False] <= seeds[0.0, True]
    assert seeds[0.9, True] < 0.5 * seeds[0.9, False]


# --------------------------------------------------------------------------- decisions

def test_rows_stop_at_the_first_decision_and_the_last_carries_the_verdict():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 0.1, 40), rng.normal(1, 0.1, 40)
    res = sequential_compare(a, b, looks=list(range(2, 41, 2)))
    assert list(res.columns) == ["n", "n_a", "n_b", "diff", "cs_low", "cs_high", "p_value",
                                 "decision"]
    assert res["decision"].iloc[-1] == "b_better"
    assert (res["decision"].iloc[:-1] == "continue").all()
    assert res["n"].iloc[-1] < 10
    assert res["cs_high"].iloc[-1] < 0 and res["p_value"].iloc[-1] < ALPHA
    assert (np.diff(res["cs_low"]) >= 0).all() and (np.diff(res["cs_high"]) <= 0).all()
    assert res.attrs["paired"] is False and res.attrs["alpha"] == ALPHA
    loss = sequential_compare(a, b, looks=list(range(2, 41, 2)), higher_is_better=False)
    assert loss["decision"].iloc[-1] == "a_better"


def test_equivalence_within_delta_and_never_with_delta_zero():
    rng = np.random.default_rng(2)
    base = rng.normal(79, 0.5, 40)
    a, b = base + rng.normal(0, 0.02, 40), base + rng.normal(0, 0.02, 40)  # same model
    res = sequential_compare(a, b, paired=True, delta=0.1)
    last = res.iloc[-1]
    assert last["decision"] == "equivalent"
    assert -0.1 < last["cs_low"] and last["cs_high"] < 0.1
    undecided = sequential_compare(a, b, paired=True, delta=0.0)
    assert undecided["decision"].iloc[-1] == "continue" and len(undecided) == 40
    assert verdict_sentence(undecided).startswith("Undecided after 40 seeds (top1 difference")


def test_unbounded_below_five_pairs_then_zero_spread_collapses_to_the_estimate():
    """At α = 0.05, φ = 1 the paired sequence is bounded from 5 pairs on (k > r first at ν = 4);
    identical results (a crop change that flips no prediction) then give the point 0."""
    same = np.full(8, 80.0)
    res = sequential_compare(same, same, paired=True, delta=0.1)
    assert (res["diff"] == 0.0).all()
    assert np.isinf(res["cs_low"].iloc[:4]).all() and np.isinf(res["cs_high"].iloc[:4]).all()
    assert res["n"].iloc[-1] == 5 and res["decision"].iloc[-1] == "equivalent"
    assert res["cs_low"].iloc[-1] == res["cs_high"].iloc[-1] == 0.0
    assert "equivalent within δ = 0.1" in verdict_sentence(res)
    empty = sequential_compare(np.r_[np.nan, 1.0], np.r_[1.0, 1.0], looks=[1])
    assert verdict_sentence(empty) == ("Undecided after 1 seed (no usable result in one of the "
                                       "arms yet; 0 vs 1 seeds).")
    two = sequential_compare(np.r_[same[:4], 81.0], np.r_[same[:4] - 1, 79.0], delta=0.1)
    assert np.isinf(two["cs_low"].iloc[:3]).all() and np.isfinite(two["cs_low"].iloc[3])


@pytest.mark.parametrize("kwargs, match", [
    (dict(looks=[3, 2]), "increase strictly"),
    (dict(looks=[0, 5]), "increase strictly"),
    (dict(looks=[2, 11]), "1..10"),
    (dict(looks=[2.5]), "integers"),
    (dict(alpha=1.5), "alpha"),
    (dict(delta=-1.0), "delta"),
    (dict(paired="yes"), "paired"),
])
def test_bad_arguments_name_the_fix(kwargs, match):
    with pytest.raises(AnalysisError, match=match):
        sequential_compare(np.arange(10.0), np.arange(10.0), **kwargs)


def test_bad_arrays_name_the_fix():
    with pytest.raises(AnalysisError, match="seed order"):
        sequential_compare(np.arange(10.0), np.arange(9.0))
    with pytest.raises(AnalysisError, match="missing seed is NaN"):
        sequential_compare(np.r_[1.0, np.inf], np.r_[1.0, 2.0])


# --------------------------------------------------------------------------- figure

def test_stopping_path_figure_renders_with_delta_zero_and_verdict():
    rng = np.random.default_rng(4)
    res = sequential_compare(rng.normal(80, 0.3, 30), rng.normal(79, 0.3, 30), delta=0.2,
                             looks=list(range(2, 31, 2)))
    fig = plot_stopping_path(res, name_a="A2", name_b="A2 LR/10")
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n" and len(buf.getvalue()) > 10_000
    ax = fig.axes[0]
    hlines = sorted(round(line.get_ydata()[0], 6) for line in ax.get_lines()
                    if len(set(line.get_ydata())) == 1 and len(line.get_ydata()) == 2)
    assert hlines == [-0.2, 0.0, 0.2]
    texts = [t.get_text() for t in ax.texts]
    assert any("A2 is better than A2 LR/10" in t for t in texts)
    assert "A2 − A2 LR/10" in ax.get_ylabel()
    with pytest.raises(AnalysisError, match="sequential_compare"):
        plot_stopping_path(pd.DataFrame({"n": [1]}))
