"""Statistics against scipy / statsmodels called directly, hand-computed cases, degenerate input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.nonparametric import rank_compare_2indep

import analysis as A
from analysis import AnalysisError
from analysis.synthetic import synthetic_results

TOL = 1e-9
B = 999  # resamples in the tests: same code path as the default, faster


def _boot_mean(x, n_resamples=B, rng=0, confidence=0.95):
    ci = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, rng=rng,
                         confidence_level=confidence).confidence_interval
    return ci.low, ci.high


def _boot_diff(x, y, n_resamples=B, rng=0):
    ci = stats.bootstrap((x, y), lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis),
                         n_resamples=n_resamples, rng=rng).confidence_interval
    return ci.low, ci.high


# ----------------------------------------------------------------------------- summarize

def test_summarize_matches_numpy_and_scipy(crop_table):
    s = A.summarize(crop_table, by="crop_pct", n_resamples=B)
    assert list(s["crop_pct"]) == [0.875, 0.95, 1.0]
    for _, row in s.iterrows():
        g = crop_table[(crop_table.crop_pct == row.crop_pct) & (crop_table.status == "TERMINATED")]
        x = g["top1"].to_numpy()
        assert row.n == len(x) == 37
        assert row["mean"] == pytest.approx(np.mean(x), abs=TOL)
        assert row["std"] == pytest.approx(np.std(x, ddof=1), abs=TOL)
        assert row["sem"] == pytest.approx(stats.sem(x), abs=TOL)
        assert row["median"] == pytest.approx(np.median(x), abs=TOL)
        assert (row["min"], row["max"]) == (x.min(), x.max())
        assert row["range"] == pytest.approx(np.ptp(x), abs=TOL)
        assert row["seed0"] == g.loc[g.seed == 0, "top1"].item()
        lo, hi = _boot_mean(x)
        assert row.ci_low == pytest.approx(lo, abs=TOL)
        assert row.ci_high == pytest.approx(hi, abs=TOL)
        assert row.n_excluded == 3
        assert row.excluded == "ERROR: 2, RUNNING: 1"


def test_summarize_batched_bootstrap_equals_per_group_call(rng):
    # equal-size groups are bootstrapped in one scipy call: each must equal its own call
    df = pd.DataFrame({"g": np.repeat(["a", "b", "c", "d"], 30), "top1": rng.normal(80, 0.3, 120),
                       "status": "TERMINATED", "seed": np.tile(np.arange(30), 4)})
    s = A.summarize(df, by="g", n_resamples=B, random_state=11)
    for _, row in s.iterrows():
        lo, hi = _boot_mean(df.loc[df.g == row.g, "top1"].to_numpy(), rng=11)
        assert (row.ci_low, row.ci_high) == (pytest.approx(lo, abs=TOL), pytest.approx(hi, abs=TOL))


def test_summarize_several_metrics_and_no_by(crop_table):
    s = A.summarize(crop_table, metric=["top1", "top1_real"], n_resamples=B)
    assert list(s["metric"]) == ["top1", "top1_real"]
    assert (s["n"] == 111).all() and (s["n_excluded"] == 9).all()


def test_summarize_hand_computed():
    df = pd.DataFrame({"top1": [1.0, 2.0, 3.0, 6.0], "status": "TERMINATED", "seed": [3, 0, 1, 2]})
    r = A.summarize(df, n_resamples=B).iloc[0]
    assert r["mean"] == 3.0
    assert r["std"] == pytest.approx(math.sqrt(((4 + 1 + 0 + 9) / 3)))
    # below 30 seeds the CI of the mean is Student's t: mean ± t_{0.975, 3} · sem
    half = stats.t.ppf(0.975, 3) * r["std"] / 2
    assert r["ci_method"] == "t"
    assert (r.ci_low, r.ci_high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert r["median"] == 2.5 and r["range"] == 5.0 and r["seed0"] == 2.0


def test_summarize_degenerate_groups_are_explained_not_dropped():
    df = pd.DataFrame({
        "cfg": ["one", "equal", "equal", "equal", "dead", "dead", "nan", "nan", "nan"],
        "status": ["TERMINATED"] * 4 + ["ERROR", "PENDING"] + ["TERMINATED"] * 3,
        "seed": [0, 0, 1, 2, 0, 1, 0, 1, 2],
        "top1": [80.0, 79.0, 79.0, 79.0, np.nan, np.nan, 78.0, np.nan, 78.5],
    })
    s = A.summarize(df, by="cfg", n_resamples=B).set_index("cfg")
    assert s.loc["one", "n"] == 1 and math.isnan(s.loc["one", "std"])
    assert "n=1" in s.loc["one", "note"]
    assert s.loc["equal", "std"] == 0 and s.loc["equal", "ci_low"] == s.loc["equal", "ci_high"] == 79
    assert "all values equal" in s.loc["equal", "note"]
    assert s.loc["dead", "n"] == 0 and s.loc["dead", "excluded"] == "ERROR: 1, PENDING: 1"
    assert "no usable rows" in s.loc["dead", "note"]
    assert s.loc["nan", "n"] == 2 and s.loc["nan", "excluded"] == "top1 missing: 1"
    # every NaN statistic has a reason
    for cfg, row in s.iterrows():
        if row[["std", "ci_low", "seed0"]].isna().any():
            assert row["note"], cfg


def test_summarize_falls_back_to_percentile_when_bca_is_nan(monkeypatch, rng):
    real = stats.bootstrap

    def nan_bca(*args, **kw):
        res = real(*args, **kw)
        if kw.get("method") == "BCa":
            ci = res.confidence_interval
            res.confidence_interval = type(ci)(ci.low * np.nan, ci.high * np.nan)
        return res

    x = rng.normal(size=30)
    monkeypatch.setattr("analysis.stats.bootstrap.stats.bootstrap", nan_bca)
    r = A.summarize(pd.DataFrame({"top1": x, "status": "TERMINATED", "seed": range(30)}),
                    n_resamples=B).iloc[0]
    ci = real((x,), np.mean, n_resamples=B, rng=0, method="percentile").confidence_interval
    assert (r.ci_low, r.ci_high) == (pytest.approx(ci.low, abs=TOL), pytest.approx(ci.high, abs=TOL))
    assert "percentile CI" in r.note


def test_summarize_status_none_uses_every_row():
    df = pd.DataFrame({"top1": [1.0, 2.0, 4.0], "status": ["TERMINATED", "ERROR", "RUNNING"],
                       "seed": [0, 1, 2]})
    assert A.summarize(df, n_resamples=B).iloc[0].n == 1
    assert A.summarize(df, status=None, n_resamples=B).iloc[0].n == 3
    assert A.summarize(df, status=["TERMINATED", "RUNNING"], n_resamples=B).iloc[0].n == 2


def test_summarize_missing_column_is_named():
    df = pd.DataFrame({"top1": [1.0, 2.0], "status": "TERMINATED"})
    with pytest.raises(AnalysisError, match="crop_pct"):
        A.summarize(df, by="crop_pct")
    with pytest.raises(AnalysisError, match="top5"):
        A.summarize(df, metric="top5")


def test_pooled_std_hand_computed():
    s = pd.DataFrame({"n": [3, 5, 1], "std": [1.0, 2.0, np.nan]})
    std, dof = A.pooled_std(s)
    assert dof == 6 and std == pytest.approx(math.sqrt((2 * 1 + 4 * 4) / 6))
    assert math.isnan(A.pooled_std(s.iloc[2:])[0])


# ----------------------------------------------------------------------------- fit_gaussian

def test_fit_gaussian_matches_scipy(rng):
    x = rng.normal(79.8, 0.2, 100)
    f = A.fit_gaussian(x)
    assert f.n == 100 and f.mean == pytest.approx(x.mean(), abs=TOL)
    assert f.std == pytest.approx(x.std(ddof=1), abs=TOL)
    loc, scale = stats.norm.fit(x)
    assert f.std_mle == pytest.approx(scale, abs=TOL) and f.mean == pytest.approx(loc, abs=TOL)
    w, p = stats.shapiro(x)
    assert (f.shapiro_w, f.shapiro_p) == (pytest.approx(w, abs=TOL), pytest.approx(p, abs=TOL))
    k2, kp = stats.normaltest(x)
    assert (f.normaltest_k2, f.normaltest_p) == (pytest.approx(k2, abs=TOL), pytest.approx(kp, abs=TOL))
    ks = stats.kstest(x, stats.norm(loc, scale).cdf)
    assert (f.ks_d, f.ks_p) == (pytest.approx(ks.statistic, abs=TOL), pytest.approx(ks.pvalue, abs=TOL))
    assert f.skewness == pytest.approx(stats.skew(x), abs=TOL)
    assert f.excess_kurtosis == pytest.approx(stats.kurtosis(x, fisher=True), abs=TOL)
    assert f.verdict.startswith("consistent with a Gaussian")


def test_fit_gaussian_rejects_a_skewed_sample(rng):
    f = A.fit_gaussian(80 - rng.exponential(0.3, 200))
    assert f.shapiro_p < 1e-4
    assert f.verdict.startswith("not Gaussian") and "left-skewed" in f.verdict


@pytest.mark.parametrize("values,needle", [
    ([80.0], "too few"), ([80.0, 80.5], "too few"), ([79.0] * 6, "all 6 values are equal"),
])
def test_fit_gaussian_degenerate(values, needle):
    f = A.fit_gaussian(values)
    assert needle in f.verdict
    assert math.isnan(f.shapiro_p) and f.notes  # NaN with a reason


def test_fit_gaussian_small_sample_skips_k2_with_reason(rng):
    f = A.fit_gaussian(rng.normal(size=5))
    assert math.isfinite(f.shapiro_p) and math.isnan(f.normaltest_p)
    assert any("n ≥ 8" in n for n in f.notes)


def test_fit_gaussian_nan_policy():
    with pytest.raises(AnalysisError, match="NaN"):
        A.fit_gaussian([1.0, np.nan, 2.0, 3.0])
    assert A.fit_gaussian([1.0, np.nan, 2.0, 3.0], nan_policy="omit").n == 3
    with pytest.raises(AnalysisError, match="at least one"):
        A.fit_gaussian([])


def test_lattice_step_is_said_and_calibrated(rng):
    # top-1 on 360 images moves in steps of 0.278 points; Gaussian seeds rounded to that lattice
    step = 100 / 360
    x = np.round(rng.normal(92.13, 1.68, 100) / step) * step
    df = pd.DataFrame({"top1": x, "n_val": 360, "status": "TERMINATED", "seed": range(100)})
    f = A.normality(df).iloc[0]
    assert f.step == pytest.approx(step) and f.step_ratio == pytest.approx(step / x.std(ddof=1))
    assert 0 < f.shapiro_p_lattice <= 1 and "lattice-calibrated Shapiro-Wilk" in f.verdict
    assert "steps of 0.278 points" in f.verdict
    # on 50 000 images the lattice is negligible: plain Shapiro-Wilk, nothing said
    fine = A.normality(df.assign(n_val=50_000)).iloc[0]
    assert math.isnan(fine.shapiro_p_lattice) and "lattice" not in fine.verdict


def test_normality_table_per_group(crop_table):
    fits = A.normality(crop_table, by="crop_pct")
    assert len(fits) == 3 and (fits["n"] == 37).all()
    x = crop_table.query("crop_pct == 0.95 and status == 'TERMINATED'")["top1"]
    assert fits.loc[fits.crop_pct == 0.95, "shapiro_p"].item() == pytest.approx(
        stats.shapiro(x).pvalue, abs=TOL)


# ----------------------------------------------------------------------------- compare

def test_compare_matches_scipy_and_statsmodels(rng):
    a, b = rng.normal(80.0, 0.2, 30), rng.normal(79.9, 0.25, 40)
    c = A.compare(a, b, n_resamples=B)
    assert c.diff == pytest.approx(a.mean() - b.mean(), abs=TOL)
    lo, hi = _boot_diff(a, b)
    assert (c.diff_ci_low, c.diff_ci_high) == (pytest.approx(lo, abs=TOL), pytest.approx(hi, abs=TOL))
    t = stats.ttest_ind(a, b, equal_var=False)
    assert (c.welch_t, c.welch_p) == (pytest.approx(t.statistic, abs=TOL), pytest.approx(t.pvalue, abs=TOL))
    u = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert (c.mwu_u, c.mwu_p) == (pytest.approx(u.statistic, abs=TOL), pytest.approx(u.pvalue, abs=TOL))
    rc = rank_compare_2indep(a, b)
    assert c.p_a_gt_b == pytest.approx(rc.prob1, abs=TOL)
    # the CI is Brunner-Munzel's variance on the logit scale (inside [0, 1]), t on its df
    se = math.sqrt(rc.var / rc.nobs) / (rc.prob1 * (1 - rc.prob1))
    z = stats.t.ppf(0.975, rc.df)
    logit = math.log(rc.prob1 / (1 - rc.prob1))
    assert c.pab_ci_low == pytest.approx(1 / (1 + math.exp(-(logit - z * se))), abs=TOL)
    assert c.pab_ci_high == pytest.approx(1 / (1 + math.exp(-(logit + z * se))), abs=TOL)
    assert c.mwu_method == "asymptotic" and c.verdict in A.VERDICTS
    # the Brunner-Munzel p-value, from scipy independently of statsmodels
    assert c.pab_p == pytest.approx(stats.brunnermunzel(a, b).pvalue, abs=1e-9)
    # the decision: scipy's permutation_test of |Brunner-Munzel| over the same 9,999 random
    # splits is not reproducible split by split, so compare within Monte-Carlo error (±0.015)
    ref = stats.permutation_test((a, b), lambda x, y, axis: np.abs(stats.brunnermunzel(x, y, axis=axis).statistic),
                                 permutation_type="independent", alternative="greater", vectorized=True,
                                 n_resamples=9_999, rng=1)
    assert c.bm_method == "9,999 random splits" and abs(c.bm_p - ref.pvalue) < 0.015
    assert c.p_decision == c.bm_p and not c.spread_refused
    # P(A>B) by brute force over all pairs
    pairs = (a[:, None] > b[None, :]).mean() + 0.5 * (a[:, None] == b[None, :]).mean()
    assert c.p_a_gt_b == pytest.approx(pairs, abs=TOL)


def test_compare_hand_computed():
    c = A.compare([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], n_resamples=B)
    assert c.diff == -1.0
    assert c.cohen_d == pytest.approx(-1.0)  # both variances 1, pooled sd 1
    # pairs: (1,2)<,(1,3)<,(1,4)<,(2,2)=,(2,3)<,(2,4)<,(3,2)>,(3,3)=,(3,4)< → (1 + 2·0.5)/9
    assert c.p_a_gt_b == pytest.approx(2 / 9)
    c2 = A.compare([1.0, 2.0], [1.0, 3.0], n_resamples=B)
    assert c2.p_a_gt_b == pytest.approx(1.5 / 4)


def test_compare_meaningful_logic(rng):
    big = A.compare(rng.normal(1, 1, 60), rng.normal(0, 1, 60), n_resamples=B)
    assert big.meaningful and big.significant and big.better == "A"
    assert "beats" in big.sentence and "meaningful" in big.sentence
    worse = A.compare(rng.normal(0, 1, 60), rng.normal(1, 1, 60), n_resamples=B)
    assert worse.meaningful and worse.better == "B" and "worse than" in worse.sentence
    noise = A.compare(rng.normal(0, 1, 20), rng.normal(0, 1, 20), n_resamples=B)
    assert not noise.significant and not noise.meaningful
    assert "within seed noise" in noise.sentence
    # a tiny shift with many seeds: significant, P(A>B) far from 0.75: not meaningful
    small = A.compare(rng.normal(0.2, 1, 4000), rng.normal(0, 1, 4000), n_resamples=B)
    assert small.significant and not small.meaningful and "not meaningful" in small.sentence
    lax = A.compare(rng.normal(0.2, 1, 4000), rng.normal(0, 1, 4000), gamma=0.55, n_resamples=B)
    assert lax.meaningful


def test_compare_sentence_quotes_the_numbers():
    c = A.compare([79.9, 80.0, 80.1, 80.05], [79.95, 80.0, 79.9, 80.02], name_a="crop 0.95",
                  name_b="crop 0.875", n_resamples=B)
    assert c.sentence.startswith(f"The {abs(c.diff):.2f}-point gain of crop 0.95 over crop 0.875")
    assert f"P(A>B)={c.p_a_gt_b:.2f} [{c.pab_ci_low:.2f}, {c.pab_ci_high:.2f}]" in c.sentence


def test_compare_complete_separation_and_all_equal():
    sep = A.compare([1.0, 2, 3, 4, 5], [6.0, 7, 8, 9, 10], n_resamples=B)
    # separated 5 vs 5: CI from 5 disjoint pairs, exact p = 2 / C(10, 5) (both tests)
    assert sep.p_a_gt_b == 0.0 and sep.pab_ci_low == 0.0
    assert sep.pab_ci_high == pytest.approx(1 - 0.025 ** (1 / 5))
    assert any("complete separation" in n for n in sep.notes)
    assert sep.mwu_p == pytest.approx(2 / math.comb(10, 5)) and sep.mwu_method == "exact"
    assert sep.bm_p == pytest.approx(2 / math.comb(10, 5)) == sep.p_min
    assert sep.bm_method == "all 252 splits"
    assert sep.significant and sep.meaningful and sep.better == "B" and sep.verdict == "b_better"
    same = A.compare([1.0, 1, 1], [1.0, 1, 1], n_resamples=B)
    assert same.p_a_gt_b == 0.5 and not same.significant and same.diff == 0
    assert same.diff_ci_low == same.diff_ci_high == 0
    assert any("all values equal" in n for n in same.notes)
    assert math.isnan(same.cohen_d) and any("Cohen" in n for n in same.notes)


def test_compare_needs_two_seeds_and_no_nan():
    with pytest.raises(AnalysisError, match="at least 2 seeds"):
        A.compare([1.0], [1.0, 2.0])
    with pytest.raises(AnalysisError, match="NaN"):
        A.compare([1.0, np.nan, 2.0], [1.0, 2.0])
    assert A.compare([1.0, np.nan, 2.0, 3], [1.0, 2.0], nan_policy="omit", n_resamples=B).n_a == 3


# ----------------------------------------------------------------------------- compare_all

def test_compare_all_equals_pairwise_compare_and_holm(crop_table):
    c = A.compare_all(crop_table, baseline=0.875, by="crop_pct", n_resamples=B)
    assert list(c["crop_pct"]) == [0.95, 1.0]
    ok = crop_table[crop_table.status == "TERMINATED"]
    base = ok.loc[ok.crop_pct == 0.875, "top1"].to_numpy()
    for _, row in c.iterrows():
        x = ok.loc[ok.crop_pct == row.crop_pct, "top1"].to_numpy()
        one = A.compare(x, base, n_resamples=B)
        for f in ("diff", "diff_ci_low", "diff_ci_high", "welch_t", "welch_p", "mwu_u", "mwu_p",
                  "p_a_gt_b", "pab_ci_low", "pab_ci_high", "pab_p", "cohen_d"):
            assert row[f] == pytest.approx(getattr(one, f), abs=TOL), f
        assert row.n_excluded == 3
    for col in ("welch_p", "mwu_p", "pab_p"):
        expect = multipletests(c[col].to_numpy(), method="holm")[1]
        np.testing.assert_allclose(c[f"{col}_holm"], expect, atol=TOL)
    assert c.set_index("crop_pct").loc[1.0, "meaningful"]
    assert c.set_index("crop_pct").loc[1.0, "better"] == "crop_pct=0.875"


def test_compare_all_decides_with_holm_adjusted_p(rng):
    # 2 arms with a borderline effect: raw p < 0.05 but Holm over 6 comparisons is not
    parts = [pd.DataFrame({"cfg": "base", "top1": rng.normal(0, 1, 30)})]
    for k in range(6):
        parts.append(pd.DataFrame({"cfg": f"c{k}", "top1": rng.normal(0, 1, 30)}))
    df = pd.concat(parts, ignore_index=True).assign(status="TERMINATED", seed=0)
    c = A.compare_all(df, baseline="base", by="cfg", gamma=0.5 + 1e-9, n_resamples=B)
    assert (c["significant"] == (c["mwu_p_holm"] < 0.05)).all()
    assert (c["mwu_p_holm"] >= c["mwu_p"]).all() and (c["p_decision"] == c["mwu_p_holm"]).all()


def test_compare_all_baseline_forms(crop_table):
    kw = dict(by="crop_pct", n_resamples=B)
    ref = A.compare_all(crop_table, 0.875, **kw)
    for spec in ({"crop_pct": 0.875}, "crop_pct=0.875", (0.875,)):
        pd.testing.assert_frame_equal(A.compare_all(crop_table, spec, **kw), ref)
    with pytest.raises(AnalysisError, match="crop_pct=0.95"):  # lists the groups
        A.compare_all(crop_table, 0.9, **kw)
    with pytest.raises(AnalysisError, match="not among"):
        A.compare_all(crop_table, {"lr": 1}, **kw)


def test_compare_all_default_by_and_single_config(crop_table, seed_table):
    c = A.compare_all(crop_table, 0.95, n_resamples=B)  # by = the varying config columns
    assert "crop_pct" in c.columns and len(c) == 2
    with pytest.raises(AnalysisError, match="single configuration"):
        A.compare_all(seed_table, "x")


def test_compare_all_group_with_one_seed_and_bad_baseline():
    df = pd.DataFrame({"cfg": ["a"] * 5 + ["b"] + ["c"] * 5,
                       "top1": [0, 1, 2, 3, 4, 5, 1.5, 2.5, 3.5, 4.5, 5.5],
                       "status": "TERMINATED", "seed": 0})
    c = A.compare_all(df, "a", by="cfg", n_resamples=B).set_index("cfg")
    assert math.isnan(c.loc["b", "diff_ci_low"]) and "cannot compare" in c.loc["b", "notes"]
    assert not c.loc["b", "meaningful"] and "1 usable seed" in c.loc["b", "sentence"]
    assert math.isfinite(c.loc["c", "pab_p_holm"])
    with pytest.raises(AnalysisError, match="needs at least 2|comparisons need at least 2"):
        A.compare_all(df, "b", by="cfg")


def _all_split_p(x, y):
    """Two-sided permutation p of |U − n_x n_y/2| over every relabelling (brute force)."""
    both = np.concatenate([x, y])
    def dist(a, b):
        return abs((a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()
                   - len(a) * len(b) / 2)
    obs = dist(x, y)
    hits = total = 0
    for idx in itertools.combinations(range(len(both)), len(x)):
        mask = np.zeros(len(both), bool)
        mask[list(idx)] = True
        hits += dist(both[mask], both[~mask]) >= obs - 1e-12
        total += 1
    return hits / total


def test_compare_all_small_groups_use_exact_per_pair_tests():
    # < 10 seeds per arm: exact p (scipy's exact distribution; with ties, every relabelling)
    df = pd.DataFrame({"cfg": ["base"] * 6 + ["tie"] * 6 + ["free"] * 6,
                       "top1": [1, 2, 3, 4, 5, 6, 2, 2, 3, 5, 7, 8, 1.5, 2.5, 3.5, 6.5, 7.5, 8.5],
                       "status": "TERMINATED", "seed": 0})
    c = A.compare_all(df, "base", by="cfg", n_resamples=B).set_index("cfg")
    base = np.arange(1.0, 7.0)
    for cfg in ("tie", "free"):
        x = df.loc[df.cfg == cfg, "top1"].to_numpy(dtype=float)
        if cfg == "free":
            assert c.loc[cfg, "mwu_method"] == "exact"
            assert c.loc[cfg, "mwu_p"] == pytest.approx(
                stats.mannwhitneyu(x, base, method="exact").pvalue, abs=TOL)
        else:
            assert c.loc[cfg, "mwu_method"] == "permutation (all 924)"
            assert c.loc[cfg, "mwu_p"] == pytest.approx(_all_split_p(x, base), abs=TOL)


# ----------------------------------------------------------------------------- sample sizes

def _power(n, d, alpha=0.05):
    """Two-sided two-sample t power from scipy's noncentral t (independent of statsmodels)."""
    df = 2 * n - 2
    nc = d * math.sqrt(n / 2)
    tc = stats.t.ppf(1 - alpha / 2, df)
    return stats.nct.sf(tc, df, nc) + stats.nct.cdf(-tc, df, nc)


def test_seeds_needed_textbook_and_minimal():
    assert A.seeds_needed(0.2, 0.1) == 64  # d = 0.5: Cohen's classic 64 per group
    for std, delta, power in [(0.2, 0.1, 0.8), (0.15, 0.2, 0.9), (0.3, 0.05, 0.8), (1.0, 3.0, 0.8)]:
        n = A.seeds_needed(std, delta, power=power)
        d = delta / std
        assert _power(n, d) >= power
        assert n == 2 or _power(n - 1, d) < power


def test_seeds_needed_bad_input():
    for std, delta in [(0, 0.1), (-1, 0.1), (np.nan, 0.1), (0.2, 0), (0.2, np.inf)]:
        with pytest.raises(AnalysisError):
            A.seeds_needed(std, delta)


def test_seeds_needed_for_p_sized_for_the_two_sided_holm_test():
    # Noether: (z_{1-α'} + z_power)² / (6 (γ − ½)²); one-sided single test: Bouthillier's 29
    assert A.seeds_needed_for_p(alternative="one-sided") == 29
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.95)
    assert A.seeds_needed_for_p() == math.ceil(z**2 / (6 * 0.25**2)) == 35
    z3 = stats.norm.ppf(1 - 0.05 / 6) + stats.norm.ppf(0.95)
    assert A.seeds_needed_for_p(comparisons=3) == math.ceil(z3**2 / (6 * 0.25**2))
    assert A.seeds_needed_for_p(gamma=0.9) < 29 < A.seeds_needed_for_p(gamma=0.7)
    with pytest.raises(AnalysisError):
        A.seeds_needed_for_p(gamma=0.5)


def test_seeds_needed_table():
    t = A.seeds_needed_table(0.2, (0.1, 0.2, 0.5))
    assert list(t["seeds_per_arm"]) == [A.seeds_needed(0.2, d) for d in (0.1, 0.2, 0.5)]
    assert t["seeds_per_arm"].is_monotonic_decreasing


# ----------------------------------------------------------------------------- outliers

def test_outlier_seeds_flags_planted_outlier(seed_table):
    df = seed_table.copy()
    df.loc[df.seed == 17, "top1"] = 70.0  # a diverged run
    out = A.outlier_seeds(df)
    top = out.iloc[0]
    assert top.seed == 17 and top.outlier and out["outlier"].sum() == 1
    x = df["top1"].to_numpy()
    med = np.median(x)
    mad = np.median(np.abs(x - med)) * 1.482602218505602
    assert top.robust_z == pytest.approx((70.0 - med) / mad, abs=TOL)
    # externally studentized residual: the seed against the other 99, t with n − 2 df
    rest = np.delete(x, np.flatnonzero(df.seed.to_numpy() == 17))
    r = (70.0 - rest.mean()) / (rest.std(ddof=1) * math.sqrt(1 + 1 / 99))
    p = 2 * stats.t.sf(abs(r), 98)
    assert top.p_gaussian == pytest.approx(p, rel=1e-6)
    assert top.expected_count == pytest.approx(100 * p, rel=1e-6)
    # ... which is statsmodels' outlier test of an intercept-only regression
    import statsmodels.api as sm
    ref = np.asarray(sm.OLS(x, np.ones(len(x))).fit().outlier_test())[:, 1]
    got = A.outlier_seeds(df).sort_values("seed")["p_gaussian"].to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_outliers_need_ten_seeds_and_the_gaussian_tail():
    # the example: 3 seeds, robust z = -4.4, yet its own Gaussian expects 0.65 such seeds
    df = pd.DataFrame({"top1": [79.77, 79.90, 79.92], "status": "TERMINATED", "seed": range(3)})
    out = A.outlier_seeds(df)
    assert abs(out.robust_z.iloc[0]) > 3.5 and not out["outlier"].any()
    assert "from 10 seeds" in out["note"].iloc[0]
    # 12 seeds, half tied at the median: robust z of 80.3 is 4.0, but a Gaussian fitted to the
    # other seeds expects about one such seed among 12
    x = np.array([80.0] * 6 + [79.9, 80.1, 79.8, 80.2, 80.3, 79.7])
    out = A.outlier_seeds(pd.DataFrame({"top1": x, "status": "TERMINATED", "seed": range(12)}))
    top = out.iloc[0]
    assert abs(top.robust_z) > 3.5 and top.expected_count >= 0.05 and not top.outlier


def test_outlier_seeds_degenerate():
    df = pd.DataFrame({"top1": [1.0, 1.0, 1.0, 1.0, 2.0], "status": "TERMINATED",
                       "seed": range(5), "trial_id": list("abcde")})
    out = A.outlier_seeds(df)
    assert "MAD is 0" in out["note"].iloc[0] and np.isfinite(out["robust_z"]).all()
    small = A.outlier_seeds(df.head(2))
    assert small["robust_z"].isna().all() and "n ≥ 3" in small["note"].iloc[0]
    eq = A.outlier_seeds(df.head(4))
    assert (eq["robust_z"] == 0).all() and not eq["outlier"].any()


# ----------------------------------------------------------------------------- test-set noise

def test_test_set_noise_hand_computed():
    df = pd.DataFrame({"top1": [80.0, 80.2, 79.8], "n_val": 10_000, "status": "TERMINATED"})
    r = A.test_set_noise(df).iloc[0]
    assert r.binomial_std == pytest.approx(100 * math.sqrt(0.8 * 0.2 / 10_000))  # 0.4
    assert r.observed_std == pytest.approx(0.2)
    assert r.share_of_variance == pytest.approx(0.16 / 0.04)
    lo = math.sqrt(2 * 0.04 / stats.chi2.ppf(0.975, 2))
    hi = math.sqrt(2 * 0.04 / stats.chi2.ppf(0.025, 2))
    assert (r.observed_std_ci_low, r.observed_std_ci_high) == (pytest.approx(lo), pytest.approx(hi))


def test_test_set_noise_needs_n_val_and_explains_nan():
    df = pd.DataFrame({"top1": [80.0, 80.2], "status": "TERMINATED"})
    with pytest.raises(AnalysisError, match="n_val"):
        A.test_set_noise(df)
    one = A.test_set_noise(df.head(1).assign(n_val=100)).iloc[0]
    assert math.isnan(one.observed_std) and "n=1" in one.note


def test_test_set_noise_is_worded_as_an_upper_bound():
    from analysis.conclusions import describe_noise

    # 360 images, seed std 2.2 points: the binomial bound (1.42) is below the seed std's CI
    rng = np.random.default_rng(1)
    coarse = pd.DataFrame({"top1": 92 + 2.2 * rng.standard_normal(100), "n_val": 360,
                           "status": "TERMINATED"})
    (s,) = describe_noise(A.test_set_noise(coarse), [])
    assert "at most" in s and "distribution-level" in s and "by chance" not in s
    # 50 000 images, seed std 0.1: the bound (0.18) exceeds it, as expected, not a share
    fine = coarse.assign(top1=79.8 + 0.1 * rng.standard_normal(100), n_val=50_000)
    (s,) = describe_noise(A.test_set_noise(fine), [])
    assert "an upper bound, not a share" in s


def test_test_set_noise_synthetic_is_consistent(seed_table):
    r = A.test_set_noise(seed_table).iloc[0]
    assert r.binomial_std == pytest.approx(0.18, abs=0.01)  # 50 000 images at 79.8 %
    assert r.observed_std_ci_low < 0.2 < r.observed_std_ci_high


# ----------------------------------------------------------------------------- expected max

def test_expected_max_equals_brute_force_enumeration():
    v = np.array([3.0, 1.0, 4.0, 1.5, 2.5])
    e = A.expected_max(v, [1, 2, 3], replace=True)
    for n, row in zip([1, 2, 3], e.itertuples()):
        maxima = np.array([max(t) for t in itertools.product(v, repeat=n)])
        assert row.expected_max == pytest.approx(maxima.mean(), abs=TOL)
        assert row.std == pytest.approx(maxima.std(), abs=TOL)
        assert row.method == "with replacement"
    e = A.expected_max(v)  # default: distinct seeds, every subset of size n equally likely
    for n, row in zip(range(1, 6), e.itertuples()):
        maxima = np.array([max(t) for t in itertools.combinations(v, n)])
        assert row.expected_max == pytest.approx(maxima.mean(), abs=TOL)
        assert row.std == pytest.approx(maxima.std(), abs=TOL)
        assert row.method == "without replacement"
    assert e["expected_max"].iloc[-1] == v.max()  # best of all N is the observed best
    with pytest.raises(AnalysisError, match="replace=True"):
        A.expected_max(v, 6)


def test_expected_max_properties(rng):
    v = rng.normal(80, 0.2, 50)
    e = A.expected_max(v, replace=True)
    assert list(e["n"]) == list(range(1, 51))
    assert e["expected_max"].iloc[0] == pytest.approx(v.mean(), abs=TOL)
    assert e["expected_max"].is_monotonic_increasing and e["expected_max"].iloc[-1] < v.max()
    assert A.expected_max([5.0], 3, replace=True)["expected_max"].item() == 5.0
    with pytest.raises(AnalysisError):
        A.expected_max([])
    with pytest.raises(AnalysisError, match="NaN"):
        A.expected_max([1.0, np.nan])


def test_expected_max_table_groups(crop_table):
    t = A.expected_max_table(crop_table, by="crop_pct", n=[1, 5])
    assert len(t) == 6 and list(t.columns) == ["crop_pct", "n", "expected_max", "std", "method"]


def test_synthetic_results_columns_match_the_contract():
    df = synthetic_results(3, n_error=1)
    missing = [c for c in A.CONTRACT_COLUMNS if c not in df.columns]
    assert not missing
    assert df["status"].value_counts().to_dict() == {"TERMINATED": 2, "ERROR": 1}
