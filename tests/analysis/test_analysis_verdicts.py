"""report.json's verdicts for the designs a study runs: every sentence true for the data given.

Each scenario builds a results table, computes the report's sections (the functions the report
notebook calls), writes report.json with the report's own writer and reads it back.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import analysis as A
from analysis.report.output import write_json
from analysis.sections import build_report
from analysis.synthetic import synthetic_results


def _report(df, tmp_path, baseline=None):
    write_json(build_report(df, tmp_path, baseline), tmp_path / "report.json")
    return json.loads((tmp_path / "report.json").read_text())


def _two_arms(a, b, column="lr", levels=(5e-3, 3e-3)):
    """A results table with the given top-1 values for two levels of ``column``."""
    df = synthetic_results(len(a), [{column: levels[0]}, {column: levels[1]}], seed=0)
    df["top1"] = np.concatenate([a, b]).astype(float)
    return df


def _verdicts(rep):
    return [c["verdict"] for c in rep["comparisons"]]


def test_three_vs_three_separated_is_not_resolvable(tmp_path):
    # d ≈ 3: clearly separated, yet no permutation test on 3 vs 3 seeds can reach p < 0.1 (2 of 20 splits)
    rep = _report(_two_arms([80.0, 80.1, 80.2], [79.5, 79.6, 79.7]), tmp_path, "lr=0.005")
    assert _verdicts(rep) == ["not_resolvable"]
    s = rep["conclusions"]["comparisons"][0]
    assert "not resolvable with 3 vs 3 seeds" in s and "smallest attainable p is 0.10" in s
    assert "within seed noise" not in s
    c = rep["comparisons"][0]
    assert c["p_min"] == pytest.approx(0.1) and 0 <= c["pab_ci_low"] <= c["pab_ci_high"] <= 1
    # the CI of each mean is a t-interval, wider than the data range at 3 seeds
    for r in rep["summary"]:
        if r["metric"] == "top1":
            assert r["ci_method"] == "t" and r["ci_low"] < r["min"] and r["ci_high"] > r["max"]


def test_five_vs_five_separated_and_noise(tmp_path):
    hi, lo = [80.0, 80.1, 80.2, 80.15, 80.05], [79.5, 79.6, 79.7, 79.65, 79.55]
    sep = _report(_two_arms(hi, lo), tmp_path, "lr=0.003")  # A = lr 5e-3 (hi) vs B = 3e-3 (lo)
    c = sep["comparisons"][0]
    assert (c["name_a"], c["verdict"]) == ("lr=0.005", "a_better")
    assert c["mwu_method"] == "exact" and c["mwu_p"] == pytest.approx(2 / 252)
    assert c["bm_method"] == "all 252 splits" and c["p_decision"] == pytest.approx(2 / 252)
    assert c["pab_ci_high"] == 1.0 and "beyond seed noise" in c["sentence"]
    rng = np.random.default_rng(3)
    noise = _report(_two_arms(80 + 0.2 * rng.standard_normal(5), 80 + 0.2 * rng.standard_normal(5)),
                    tmp_path, "lr=0.005")
    assert _verdicts(noise) == ["within_seed_noise"]
    assert "within seed noise" in noise["conclusions"]["comparisons"][0]


def test_hundred_seeds(tmp_path):
    df = synthetic_results(100, [dict(lr=5e-3), dict(lr=3e-3, shift=0.15), dict(lr=8e-3)], seed=4)
    rep = _report(df, tmp_path, "lr=0.005")
    got = {c["lr"]: c for c in rep["comparisons"]}
    assert got[0.003]["verdict"] == "a_better" and got[0.003]["mwu_method"] == "asymptotic"
    assert got[0.008]["verdict"] == "within_seed_noise"
    assert all(r["ci_method"] == "BCa" for r in rep["summary"])
    # n_val is known but there are no per-image predictions: the sentence says what is missing
    assert "needs per-image predictions" in got[0.003]["sentence"]
    assert got[0.003]["test_set_verdict"] is None


def test_one_at_a_time_design(tmp_path):
    rng = np.random.default_rng(5)
    rows = []
    for f, sd in (("seed_init", 0.3), ("seed_data", 0.1), ("seed_aug", 0.05)):
        for s in range(1, 11):
            rows.append({"seed_init": 0, "seed_data": 0, "seed_aug": 0, f: s,
                         "top1": 80 + sd * rng.standard_normal()})
    rows.append({"seed_init": 0, "seed_data": 0, "seed_aug": 0, "top1": 80.0})
    seeds = pd.DataFrame(rows)
    df = synthetic_results(len(seeds), seed=5)
    for c in seeds.columns:
        df[c] = seeds[c].to_numpy()
    rep = _report(df, tmp_path)
    (vc,) = rep["variance_components"]
    assert vc["design"] == "one-at-a-time"
    assert all(r["share"] is None for r in vc["table"])  # never shares of 100 %
    s = rep["conclusions"]["variance_components"][0]
    assert "overlap" in s and "%" not in s
    assert rep["conclusions"]["comparisons"] == [
        "A single configuration was run: there is nothing to compare."]


def test_lr_by_wd_grid_compares_within_slices(tmp_path):
    grid = [dict(lr=lr, weight_decay=wd, shift=0.4 if lr == 3e-3 else 0.0)
            for lr in (3e-3, 5e-3) for wd in (0.01, 0.02)]
    df = synthetic_results(8, grid, seed=6)
    rep = _report(df, tmp_path, "lr=0.005,weight_decay=0.02")
    assert rep["design"] == "within"
    by = {(c["factor"], c["within"]): c for c in rep["comparisons"]}
    assert set(by) == {("lr", "wd 0.01"), ("lr", "wd 0.02"), ("weight_decay", "lr 3e-3"),
                       ("weight_decay", "lr 5e-3")}
    for wd in ("wd 0.01", "wd 0.02"):  # each LR comparison is at equal WD, short labels
        c = by[("lr", wd)]
        assert c["verdict"] == "a_better" and c["name_a"] == f"lr 3e-3 {wd}"
        assert c["name_b"] == f"lr 5e-3 {wd}"
    for lr in ("lr 3e-3", "lr 5e-3"):
        assert by[("weight_decay", lr)]["verdict"] == "within_seed_noise"
    # Holm within each factor's family of 2
    lr_rows = [c for c in rep["comparisons"] if c["factor"] == "lr"]
    p = np.array([c["bm_p"] for c in lr_rows])
    from statsmodels.stats.multitest import multipletests
    np.testing.assert_allclose([c["p_decision"] for c in lr_rows],
                               multipletests(p, method="holm")[1])
    assert "table6" in rep


def test_evaluation_only_factor_is_not_compared_here(tmp_path):
    df = synthetic_results(10, [dict(crop_pct=0.875), dict(crop_pct=1.0, shift=-0.5)], seed=7)
    rep = _report(df, tmp_path)
    s = rep["conclusions"]["comparisons"]
    assert "crop_pct" in s[0] and "does not compare" in s[0] and "rsb-sweep evaluate" in s[0]
    assert "comparisons" not in rep
    # a recipe × crop grid: recipes are compared at equal crop, crop itself is not compared
    df = synthetic_results(10, [dict(recipe=r, crop_pct=c) for r in ("a1", "a2")
                                for c in (0.875, 1.0)], seed=8)
    rep = _report(df, tmp_path)
    assert {c["factor"] for c in rep["comparisons"]} == {"recipe"}
    assert {c["within"] for c in rep["comparisons"]} == {"crop 0.875", "crop 1"}
    assert A.VERDICTS == ("a_better", "b_better", "within_seed_noise", "not_resolvable")
