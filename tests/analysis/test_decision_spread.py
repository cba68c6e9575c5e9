"""The decision test when arms differ in spread and seed count (issue 16): short seeded versions of
benchmarks/stats_calibration.py's unequal-spread table, scipy as the oracle, and report.json's
sentences for an unequal-spread baseline, a sweep with per-image predictions and Figure 2."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import analysis as A
from analysis.report.output import write_json
from analysis.sections import build_report
from analysis.stats import calibration_spread as KS
from analysis.stats.permutation import permutation_test, splits, smallest_permutation_p
from analysis.synthetic import synthetic_results
from analysis.text.formatting import fmt_p


def _abs_bm(x, y, axis):
    return np.abs(stats.brunnermunzel(x, y, axis=axis).statistic)


def test_permutation_brunner_munzel_equals_scipy_over_every_split():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 4), np.round(rng.normal(0.5, 2, 7), 1)  # ties in b
    p, how = permutation_test(a, b, "brunner_munzel")
    ref = stats.permutation_test((a, b), _abs_bm, permutation_type="independent", alternative="greater",
                                 vectorized=True, n_resamples=np.inf)
    assert how == "all 330 splits" and p == pytest.approx(ref.pvalue, abs=1e-12)


def test_exact_permutation_test_has_size_at_most_alpha_over_every_ranking():
    # 4 vs 6 exchangeable seeds: every one of the C(10, 4) labellings equally likely; at most 5 % rejected
    x = np.arange(10.0)
    idx, every = splits(4, 6)
    rejected = sum(permutation_test(x[list(s)], np.delete(x, list(s)), "brunner_munzel")[0] < 0.05
                   for s in itertools.combinations(range(10), 4))
    assert every and rejected / math.comb(10, 4) <= 0.05 and rejected > 0
    assert smallest_permutation_p(3, 3) == pytest.approx(0.1) and smallest_permutation_p(3, 4) == pytest.approx(1 / 35)


def test_small_wide_arm_against_many_seeds_holds_alpha_where_mann_whitney_does_not():
    # 5 seeds at 3x the std against 20, P(A>B) = 1/2: Mann-Whitney rejects ~13 %, the rule ~3 %
    r = KS.null_rates(5, 20, 3.0, "gaussian", reps=1500, n_permutations=99, seed=31,
                      which=("bm_rule", "perm_bm", "mwu"))
    assert r["mwu"] > 0.09 and r["bm_rule"] <= 0.055 and r["bm_rule"] < r["perm_bm"]
    assert r["pab_ci_coverage"] >= 0.94


def test_skewed_null_at_10_vs_40_holds_alpha_and_the_interval_covers():
    r = KS.null_rates(10, 40, 3.0, "skewed", reps=800, n_permutations=99, seed=32, which=("bm_rule", "mwu"))
    assert r["bm_rule"] <= 0.07 and r["mwu"] > 0.08 and r["pab_ci_coverage"] >= 0.94


def test_power_at_equal_spreads_is_close_to_mann_whitney():
    r = KS.equal_spread_power(10, 40, 1.0, reps=600, n_permutations=199, seed=33, which=("bm_rule", "mwu"))
    assert r["bm_rule"] >= 0.6 and abs(r["bm_rule"] - r["mwu"]) < 0.1


def _report(df, tmp_path, baseline=None, predictions=None):
    write_json(build_report(df, tmp_path, baseline, predictions), tmp_path / "report.json")
    return json.loads((tmp_path / "report.json").read_text())


def test_unequal_spread_baseline_is_refused_and_equal_spreads_are_decided(tmp_path):
    # a baseline of 20 seeds, a variant of 5 at 3x its std with the same mean: no verdict
    df = synthetic_results(20, [dict(lr=5e-3), dict(lr=3e-3)], seed=2)
    rng = np.random.default_rng(4)
    wide = df[df.lr == 3e-3].index[:5]
    df = df.drop(df[df.lr == 3e-3].index[5:])
    df.loc[wide, "top1"] = 79.8 + 0.6 * np.array([-1.6, -0.4, 0.1, 0.6, 1.3]) + 0.01 * rng.standard_normal(5)
    rep = _report(df, tmp_path, "lr=0.005")
    c = rep["comparisons"][0]
    assert c["verdict"] == "not_resolvable" and c["spread_refused"] and c["n_a"] == 5 and c["n_b"] == 20
    s = rep["conclusions"]["comparisons"][0]
    assert "not resolvable with 5 vs 20 seeds" in s and "std more than 1.5 times" in s
    assert f"P(A>B)={c['p_a_gt_b']:.2f} [{c['pab_ci_low']:.2f}, {c['pab_ci_high']:.2f}]" in s
    # the same design at equal spreads, shifted by 3 std: decided by the permutation test
    df.loc[wide, "top1"] = df.loc[df.lr == 5e-3, "top1"].to_numpy()[:5] + 0.6
    c = _report(df, tmp_path, "lr=0.005")["comparisons"][0]
    assert not c["spread_refused"] and c["p_decision"] == c["bm_p"] < 0.05
    assert c["verdict"] == "a_better" and "permutation Brunner-Munzel p=" in c["sentence"]


def _with_predictions(seeds=6, n_img=300, seed=0):
    """One configuration on ``n_img`` images: 240 always right, 40 always wrong, 20 coin flips a
    trial, and 10% of trials miss a further 12 images (a distribution-level spread)."""
    rng = np.random.default_rng(seed)
    df = synthetic_results(seeds, [dict(lr=5e-3)], seed=seed, n_val=n_img)
    rows, top1 = [], []
    for k, tid in enumerate(df["trial_id"]):
        c = np.r_[np.ones(240, bool), np.zeros(40, bool), rng.random(20) < 0.5]
        if k % 2:
            c[:12] = False
        rows.append(pd.DataFrame({"trial_id": tid, "eval_set": "val", "crop_pct": 0.95, "test_res": 224,
                                  "image": np.arange(n_img), "target": 0, "pred": (~c).astype(int), "correct": c}))
        top1.append(100 * c.mean())
    df["top1"], df["crop_pct"], df["test_res"] = top1, 0.95, 224
    return df, pd.concat(rows, ignore_index=True)


def test_sweep_with_predictions_reports_example_noise_not_the_bound(tmp_path):
    df, pred = _with_predictions()
    rep = _report(df, tmp_path, predictions=pred)
    ex = A.example_noise(pred).iloc[0]
    s = rep["conclusions"]["test_set_noise"]
    assert len(s) == 1 and "binomial" not in s[0]
    assert f"{ex.observed_var:.2f} points²: {ex.independent_example_var:.2f}" in s[0]
    assert f"{ex.distribution_var:.2f} [{ex.distribution_var_ci_low:.2f}, {ex.distribution_var_ci_high:.2f}]" in s[0]
    need = math.ceil(ex.n_images * ex.independent_example_var / (0.1 * ex.distribution_var))
    assert f"about {need:,} test images" in s[0]
    assert rep["test_set_noise_example"][0]["distribution_var"] == pytest.approx(ex.distribution_var)
    # the same table without predictions: the binomial bound, said to be one
    s = _report(df, tmp_path)["conclusions"]["test_set_noise"]
    assert "at most" in s[0] and "an upper bound" in s[0]


def test_figure2_prints_the_p_of_the_normality_sentence(tmp_path):
    df = synthetic_results(40, [dict(lr=5e-3)], seed=5, n_val=360)
    df["top1"] = np.round(df["top1"] * 3.6) / 3.6  # 360 images: top-1 on a 0.278-point lattice
    rep = _report(df, tmp_path)
    note = rep["figures"]["figure2"]["annotations"]["all trials"]
    fit = A.normality(df).iloc[0]
    assert note["test"] == "lattice-calibrated Shapiro" and note["p"] == pytest.approx(fit.shapiro_p_lattice)
    assert f"p={fmt_p(note['p'])}" in rep["conclusions"]["normality"][0]
    fig = A.plot_seed_distribution(df)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()][0]
    assert f"lattice-calibrated Shapiro p={fmt_p(note['p'])}" in legend


def test_expected_max_figure_draws_the_numbers_its_sentence_quotes(tmp_path):
    df = synthetic_results(12, [dict(lr=5e-3), dict(lr=3e-3, shift=0.3)], seed=6)
    rep = _report(df, tmp_path)
    notes = rep["figures"]["expected_max"]["annotations"]
    em = A.expected_max_table(df, by="lr")
    fig = A.plot_expected_max(df, by="lr", table=em)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == set(notes) == {"lr=0.005", "lr=0.003"}
    for name, note in notes.items():
        line = lines[name]
        assert (line.get_ydata()[0], line.get_ydata()[-1]) == pytest.approx(
            (note["expected_best_of_1"], note["expected_best_of_n"]))
        assert f"to {note['expected_best_of_n']:.2f}" in " ".join(rep["conclusions"]["expected_max"])


def test_from_100_seeds_the_decision_is_the_asymptotic_brunner_munzel_test():
    rng = np.random.default_rng(7)
    a, b = rng.normal(0.3, 2, 100), rng.normal(0, 1, 120)
    c = A.compare(a, b, n_resamples=199)
    assert c.bm_method.startswith("asymptotic") and c.p_min == 0
    assert c.bm_p == pytest.approx(stats.brunnermunzel(a, b).pvalue, abs=1e-12) == c.p_decision
    assert not A.compare(a[:99], b, n_resamples=199).bm_method.startswith("asymptotic")


def test_a_distribution_part_whose_ci_includes_zero_names_no_test_set_size():
    from analysis.present.conclusions import describe_example_noise

    row = {"n_trials": 4, "n_images": 360, "observed_var": 5.16, "independent_example_var": 2.90,
           "distribution_var": 2.26, "distribution_var_ci_low": -1.25, "distribution_var_ci_high": 69.07, "note": ""}
    (s,) = describe_example_noise(pd.DataFrame([row]), [])
    assert "2.26 [-1.25, 69.07] is distribution-level" in s and "CI includes 0" in s
    assert "no test-set size can be named" in s and "test images would" not in s
    (s,) = describe_example_noise(pd.DataFrame([{**row, "distribution_var_ci_low": 0.5}]), [])
    assert "CI includes 0" not in s and "test images would bring the per-image part" in s
