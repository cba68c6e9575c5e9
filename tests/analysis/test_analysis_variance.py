"""Variance components: hand-computed ANOVA, statsmodels directly, MixedLM REML, known truth."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

import analysis as A
from analysis import AnalysisError
from analysis.synthetic import synthetic_crossed, synthetic_results

TOL = 1e-9


def _table(vc):
    return vc.table.set_index("component")


def test_hand_computed_two_by_two():
    # y = [[1, 2], [3, 4]] (rows: seed_init, columns: seed_data). Grand mean 2.5.
    # MS_init = 2·((1.5−2.5)² + (3.5−2.5)²) / 1 = 4, MS_data = 2·(0.25 + 0.25) = 1, MS_res = 0.
    # σ²_init = (4 − 0)/2 = 2, σ²_data = (1 − 0)/2 = 0.5, shares 0.8 / 0.2 / 0.
    df = pd.DataFrame({"seed_init": [0, 0, 1, 1], "seed_data": [0, 1, 0, 1],
                       "seed_aug": 0, "top1": [1.0, 2.0, 3.0, 4.0], "status": "TERMINATED"})
    vc = A.variance_components(df)
    t = _table(vc)
    assert vc.design == "crossed"
    assert t.loc["seed_init", "mean_square"] == pytest.approx(4.0)
    assert t.loc["seed_data", "mean_square"] == pytest.approx(1.0)
    assert t.loc["seed_init", "variance"] == pytest.approx(2.0)
    assert t.loc["seed_data", "variance"] == pytest.approx(0.5)
    assert t.loc["residual", "variance"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["seed_init", "share"] == pytest.approx(0.8)
    assert "seed_aug" not in t.index  # pinned: not a component


def test_mean_squares_equal_anova_lm_called_directly():
    df = synthetic_crossed((4, 3, 5), seed=2)
    vc = A.variance_components(df)
    ref = anova_lm(smf.ols("top1 ~ C(seed_init) + C(seed_data) + C(seed_aug)", data=df).fit(), typ=2)
    ms = ref["sum_sq"] / ref["df"]
    t = _table(vc)
    for f in ("seed_init", "seed_data", "seed_aug"):
        assert t.loc[f, "mean_square"] == pytest.approx(ms[f"C({f})"], abs=TOL)
        assert t.loc[f, "df"] == ref.loc[f"C({f})", "df"]
    assert t.loc["residual", "mean_square"] == pytest.approx(ms["Residual"], abs=TOL)


def test_balanced_anova_estimates_equal_mixedlm_reml():
    # For balanced crossed data with positive estimates, REML equals the ANOVA estimator.
    df = synthetic_crossed((6, 6), {"seed_init": 0.3, "seed_data": 0.2}, residual_sd=0.1, seed=5)
    df["seed_aug"] = 0
    vc = _table(A.variance_components(df))
    assert (vc["variance"] > 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sm.MixedLM.from_formula(
            "top1 ~ 1", groups=np.ones(len(df)), re_formula="0", data=df,
            vc_formula={"seed_init": "0 + C(seed_init)", "seed_data": "0 + C(seed_data)"},
        ).fit(reml=True)
    vcomp = dict(zip(m.model.exog_vc.names, m.vcomp))
    assert vc.loc["seed_init", "variance"] == pytest.approx(vcomp["seed_init"], rel=1e-3)
    assert vc.loc["seed_data", "variance"] == pytest.approx(vcomp["seed_data"], rel=1e-3)
    assert vc.loc["residual", "variance"] == pytest.approx(m.scale, rel=1e-3)


def test_recovers_known_components_and_ci_covers_them():
    truth = {"seed_init": 0.3**2, "seed_data": 0.15**2, "seed_aug": 0.0, "residual": 0.1**2}
    covered = {k: 0 for k in truth}
    est = {k: [] for k in truth}
    for seed in range(20):
        df = synthetic_crossed((8, 8, 8), {"seed_init": 0.3, "seed_data": 0.15, "seed_aug": 0.0},
                               residual_sd=0.1, seed=seed)
        t = _table(A.variance_components(df, n_boot=2000, random_state=seed))
        for k, v in truth.items():
            est[k].append(t.loc[k, "variance"])
            covered[k] += t.loc[k, "variance_ci_low"] - 1e-12 <= v <= t.loc[k, "variance_ci_high"] + 1e-12
    assert np.mean(est["residual"]) == pytest.approx(truth["residual"], rel=0.05)
    assert np.mean(est["seed_init"]) == pytest.approx(truth["seed_init"], rel=0.35)
    assert np.mean(est["seed_aug"]) < 0.002
    assert covered["residual"] >= 17 and covered["seed_init"] >= 16 and covered["seed_data"] >= 16


def test_shares_sum_to_one_and_sentence():
    vc = A.variance_components(synthetic_crossed(seed=1))
    t = vc.table
    assert t["share"].sum() == pytest.approx(1.0)
    assert (t["share_ci_low"] <= t["share"] + 1e-12).all() and (t["share"] <= t["share_ci_high"] + 1e-12).all()
    assert vc.sentence.startswith("Over a crossed 4 × 4 × 4 design (64 trials)")
    assert "seed_init" in vc.sentence and "%" in vc.sentence


def test_one_at_a_time_design():
    rng = np.random.default_rng(0)
    rows = []
    sd = {"seed_init": 0.3, "seed_data": 0.1, "seed_aug": 0.05}
    for f in sd:
        for s in range(1, 31):
            r = {"seed_init": 0, "seed_data": 0, "seed_aug": 0, f: s}
            r["top1"] = 80 + sd[f] * rng.standard_normal()
            rows.append(r)
    rows.append({"seed_init": 0, "seed_data": 0, "seed_aug": 0, "top1": 80.0})
    df = pd.DataFrame(rows).assign(status="TERMINATED")
    vc = A.variance_components(df)
    assert vc.design == "one-at-a-time"
    t = _table(vc)
    sub = df[(df.seed_data == 0) & (df.seed_aug == 0)]["top1"]
    assert t.loc["seed_init", "n"] == 31
    assert t.loc["seed_init", "variance"] == pytest.approx(sub.var(ddof=1), abs=TOL)
    lo = 30 * sub.var(ddof=1) / stats.chi2.ppf(0.975, 30)
    assert t.loc["seed_init", "variance_ci_low"] == pytest.approx(lo, abs=TOL)
    assert t.loc["seed_init", "std"] > t.loc["seed_data", "std"] > t.loc["seed_aug", "std"]
    # each set's variance includes the non-determinism: overlapping, never shares of 100 %
    assert t["share"].isna().all() and "%" not in vc.sentence
    assert "overlap" in vc.sentence and "not shares" in vc.sentence
    assert f"seed_init {t.loc['seed_init', 'std']:.3f}" in vc.sentence


def test_one_source_without_replicates():
    df = pd.DataFrame({"seed_init": range(10), "seed_data": 0, "seed_aug": 0,
                       "top1": np.linspace(79, 80, 10), "status": "TERMINATED"})
    vc = A.variance_components(df)
    assert vc.design == "one-way"
    r = vc.table.iloc[0]
    assert r.variance == pytest.approx(np.var(np.linspace(79, 80, 10), ddof=1))
    assert "std due to seed_init" in vc.sentence


def test_confounded_sources_are_refused_with_advice():
    df = synthetic_results(20)  # seed_init = seed_data = seed_aug = seed
    with pytest.raises(AnalysisError, match="vary together.*crossed sweep"):
        A.variance_components(df)
    with pytest.raises(AnalysisError, match="none of"):
        A.variance_components(df.assign(seed_init=0, seed_data=0, seed_aug=0))
    with pytest.raises(AnalysisError, match="at least 3"):
        A.variance_components(df.head(2))
    with pytest.raises(AnalysisError, match="seed_aug"):
        A.variance_components(df.drop(columns="seed_aug"))


def test_excluded_rows_are_counted():
    df = synthetic_crossed((3, 3, 3), seed=4)
    df.loc[0, "status"] = "ERROR"
    df.loc[1, "top1"] = np.nan
    vc = A.variance_components(df)
    assert vc.n == 25 and vc.n_excluded == 2
    assert vc.excluded == "ERROR: 1, top1 missing: 1"
    assert any("unbalanced" in n for n in vc.notes)


def test_all_equal_values_explained():
    df = synthetic_crossed((3, 3), {"seed_init": 0.0, "seed_data": 0.0}, residual_sd=0.0)
    df["seed_aug"] = 0
    vc = A.variance_components(df)
    assert vc.table["share"].isna().all() and any("all values equal" in n for n in vc.notes)
    assert "no variance" in vc.sentence
    assert math.isfinite(vc.table["variance"].sum())
