"""Paired comparisons of evaluation-only settings (Table 9, Figure 4) on synthetic evaluations tables."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from analysis import AnalysisError
from analysis.paired import VERDICTS, compare_paired, format_table9_paired, paired_test, plot_test_res

CROPS = (0.875, 0.9, 0.95, 1.0)


def evaluations(n_seeds=10, effects=(-0.3, -0.1, 0.0, 0.2), between_sd=2.0, pair_sd=0.05, recipes=("a1",),
                test_res=(32,), seed=0) -> pd.DataFrame:
    """One trained model per (recipe, seed) with a large training-noise offset, evaluated at each crop
    (and resolution) with a small evaluation noise: the structure of a real evaluations table."""
    rng = np.random.default_rng(seed)
    rows = []
    for recipe, s in itertools.product(recipes, range(n_seeds)):
        model = rng.normal(80, between_sd)
        for (crop, effect), res in itertools.product(zip(CROPS, effects), test_res):
            rows.append(dict(trial_id=f"{recipe}-{s}", recipe=recipe, seed=s, eval_set="val", crop_pct=crop,
                             test_res=res, train_res=32, status="TERMINATED",
                             top1=model + effect - 0.02 * (res - 32) ** 2 + rng.normal(0, pair_sd)))
    return pd.DataFrame(rows)


def test_paired_test_is_scipys_t_and_an_exact_sign_flip_wilcoxon_with_ties():
    a = np.array([80.1, 79.4, 81.0, 80.0, 78.7, 80.3, 79.9])
    b = a - np.array([0.3, 0.3, -0.1, 0.0, 0.5, 0.3, 0.2])  # tied |d|, one zero
    res = paired_test(a, b)
    d = a - b
    assert res.n == 7 and res.n_nonzero == 6 and res.frac_a_better == pytest.approx(5 / 7)
    assert res.frac_tied == pytest.approx(1 / 7)
    assert res.t_p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    half = stats.t.ppf(0.975, 6) * d.std(ddof=1) / math.sqrt(7)
    assert (res.diff_ci_low, res.diff_ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    # brute force: the signed-rank sum over all 2^6 sign flips of the non-zero differences
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    observed = abs(np.sum(np.sign(nz) * ranks))
    flips = np.array([abs(np.sum(np.array(s) * ranks)) for s in itertools.product((-1, 1), repeat=nz.size)])
    assert res.wilcoxon_p == pytest.approx(np.mean(flips >= observed - 1e-12))
    assert res.wilcoxon_method.startswith("exact") and res.p_min == pytest.approx(2 / 2 ** 6)


def test_pairing_resolves_a_crop_effect_hidden_in_the_training_noise():
    table = evaluations(n_seeds=10, between_sd=2.0, pair_sd=0.05)
    out = compare_paired(table, factor="crop_pct", baseline=0.95, within=["recipe"])
    assert out["level"].tolist() == [0.875, 0.9, 1.0]
    assert out["verdict"].tolist() == ["b_better", "b_better", "a_better"]
    assert set(out["verdict"]) <= set(VERDICTS)
    assert (out["n_pairs"] == 10).all() and (out["n_unpaired"] == 0).all()
    assert out["diff"].to_numpy() == pytest.approx([-0.3, -0.1, 0.2], abs=0.05)
    # Holm over the three levels of the group: all-same-sign at 10 pairs gives 2/1024 raw
    assert out["p_holm"].to_numpy() == pytest.approx(np.minimum(1, 3 * out["wilcoxon_p"].min()) * np.ones(3))
    # the same numbers, unpaired, cannot see the +0.2 of crop 1.0 through a 2-point training noise
    by_crop = {c: g.sort_values("trial_id").top1.to_numpy() for c, g in table.groupby("crop_pct")}
    assert stats.mannwhitneyu(by_crop[1.0], by_crop[0.95]).pvalue > 0.5
    assert "crop_pct=1 scores higher" in out["sentence"].iloc[2] and "higher on 10 of 10 seeds" in out["sentence"].iloc[2]


def test_three_seeds_are_not_resolvable_and_the_row_says_how_many_would_be():
    out = compare_paired(evaluations(n_seeds=3, recipes=("a1", "a2")), within="recipe")
    assert len(out) == 6 and (out["verdict"] == "not_resolvable").all()
    assert out["p_min"].to_numpy() == pytest.approx(0.25) and out["p_min_holm"].to_numpy() == pytest.approx(0.75)
    assert "smallest attainable p is 0.25 (0.75 after Holm over 3), not below α=0.05; 7 non-tied pairs" in \
        out["sentence"].iloc[0]
    # 7 same-sign pairs do reach it: 3 · 2/2^7 < 0.05
    assert compare_paired(evaluations(n_seeds=7, effects=(-1, -1, 0, 1), pair_sd=0.01))["verdict"].tolist() == \
        ["b_better", "b_better", "a_better"]


def test_ties_unpaired_trials_and_failed_rows_are_counted_never_dropped_silently():
    table = evaluations(n_seeds=8, effects=(0.0, 0.0, 0.0, 0.5), pair_sd=0.0)
    # crops 0.875 and 0.9 score exactly like the baseline on every seed
    table.loc[(table.trial_id == "a1-7") & (table.crop_pct == 0.95), ["status", "top1"]] = ["ERROR", np.nan]
    table = table[~((table.trial_id == "a1-6") & (table.crop_pct == 1.0))]
    out = compare_paired(table).set_index("level")
    assert out.loc[0.875, "verdict"] == "within_seed_noise" and out.loc[0.875, "frac_tied"] == 1.0
    assert "identical top-1 on all 7 seeds" in out.loc[0.875, "sentence"]
    assert out.loc[1.0, "n_pairs"] == 6 and out.loc[1.0, "n_unpaired"] == 2  # a1-6 lacks 1.0, a1-7 lacks 0.95
    assert out.loc[1.0, "n_excluded"] == 1 and out.loc[1.0, "excluded"] == "ERROR: 1"
    assert "2 trial(s) evaluated at only one of the two" in out.loc[1.0, "sentence"]
    assert "excluded rows: ERROR: 1" in out.loc[1.0, "sentence"]


def test_other_evaluation_only_columns_are_held_fixed_and_bad_input_names_the_fix():
    table = evaluations(n_seeds=6, test_res=(24, 32))
    out = compare_paired(table)
    assert out[["test_res", "level"]].apply(tuple, axis=1).tolist() == \
        [(24, 0.875), (24, 0.9), (24, 1.0), (32, 0.875), (32, 0.9), (32, 1.0)]
    by_res = compare_paired(table, factor="test_res", baseline=32, within=["recipe", "crop_pct"])
    assert set(by_res["level"]) == {24} and len(by_res) == 4 and (by_res["verdict"] == "b_better").all()
    with pytest.raises(AnalysisError, match=r"baseline crop_pct=0.92 is not among the evaluated values \(0.875, 0.9"):
        compare_paired(table, baseline=0.92)
    with pytest.raises(AnalysisError, match="share a .* key, e.g. trial 'a1-0'"):
        compare_paired(pd.concat([table, table.iloc[:1]]))
    with pytest.raises(AnalysisError, match=r"one test_res at a time.*24, 32; filter it first"):
        format_table9_paired(table)
    with pytest.raises(AnalysisError, match="needs column"):
        compare_paired(table.drop(columns="recipe"))


def test_table9_layout_has_the_seed_statistics_and_the_paired_difference():
    table = evaluations(n_seeds=10, recipes=("a1", "a3"))
    t = format_table9_paired(table)
    frame = t.frame
    assert frame.columns.tolist() == ["recipe", "crop_pct", "mean (std)", "max – min", "seed 0",
                                      "Δ vs 0.95 (paired)", "verdict"]
    assert frame["recipe"].tolist() == ["a1 (n=10)", "", "", "", "a3 (n=10)", "", "", ""]
    a1 = table[(table.recipe == "a1") & (table.crop_pct == 0.875)].top1
    assert frame["mean (std)"].iloc[0] == f"{a1.mean():.2f} ({a1.std(ddof=1):.2f})"
    seed0 = table[(table.recipe == "a3") & (table.crop_pct == 1.0) & (table.seed == 0)].top1.iloc[0]
    assert frame["seed 0"].iloc[7] == f"{seed0:.2f}"
    assert frame["Δ vs 0.95 (paired)"].iloc[2] == "(baseline)" and frame["verdict"].iloc[3] == "a_better"
    assert frame["Δ vs 0.95 (paired)"].iloc[3].startswith("+0.2")
    assert "\\midrule" in t.latex and "| a1 (n=10) | 0.875 |" in t.markdown


def test_figure4_draws_a_line_per_seed_the_mean_and_the_train_resolution():
    table = evaluations(n_seeds=4, recipes=("a2", "a3"), test_res=(24, 32, 40))
    fig = plot_test_res(table[table.crop_pct == 0.95])
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["recipe=a2 (n=4 seeds)", "recipe=a3 (n=4 seeds)"]
    for ax in axes:
        lines = ax.get_lines()
        data = [ln for ln in lines if len(ln.get_xdata()) == 3]
        assert len(data) == 5  # four seeds and the mean
        assert any(list(ln.get_xdata()) == [32, 32] for ln in lines)  # train resolution
    with pytest.raises(AnalysisError, match="one crop_pct at a time"):
        plot_test_res(table)


def test_a_group_without_pairs_or_with_one_pair_is_not_resolvable_and_says_why():
    table = evaluations(n_seeds=4, recipes=("a1", "a2"))
    table = table[~((table.recipe == "a2") & (table.crop_pct == 0.95))]
    out = compare_paired(table)
    a2 = out[out.recipe == "a2"]
    assert (a2["n_pairs"] == 0).all() and (a2["n_unpaired"] == 4).all() and (a2["verdict"] == "not_resolvable").all()
    assert "no trial is evaluated at both; 4 trial(s) evaluated at only one" in a2["sentence"].iloc[0]
    one = compare_paired(evaluations(n_seeds=1)).iloc[0]
    assert (one["n_pairs"], one["wilcoxon_p"], one["verdict"]) == (1, 1.0, "not_resolvable")


def test_one_non_zero_difference_among_several_pairs_has_p_one():
    """Real small validation sets tie often: two seeds, one of which scores the same at both settings."""
    res = paired_test([80.0, 81.0, 79.5], [80.0, 80.5, 79.5])
    assert res.n == 3 and res.n_nonzero == 1 and res.wilcoxon_p == 1.0 and res.p_min == 1.0
    assert res.signed_rank == 1.0 and res.frac_a_better == pytest.approx(1 / 3)
