"""Short seeded versions of benchmarks/stats_calibration.py: the decisions keep their promises."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from analysis.stats import calibration as K
from analysis import seeds_needed_for_p
from analysis.stats.rank import rank_test, smallest_p


@pytest.mark.parametrize("dist", K.DISTRIBUTIONS)
@pytest.mark.parametrize("p_true", [0.5, 0.8])
def test_pab_ci_covers_at_10_vs_10_and_stays_in_01(dist, p_true):
    r = K.pab_ci_coverage(10, p_true, dist, reps=300, seed=11)
    assert r["coverage"] >= 0.93 and r["outside_01"] == 0


def test_exact_rank_test_has_size_at_most_alpha_over_every_ranking():
    # below 10 seeds per arm the p-value is exact: over all C(10, 5) equally likely rankings
    # under the null, the share rejected at α = 0.05 is at most 0.05 (here 8 of 252: U ≤ 2)
    ranks = np.arange(10.0)
    rejected = 0
    for idx in itertools.combinations(range(10), 5):
        mask = np.isin(np.arange(10), idx)
        rejected += rank_test(ranks[mask], ranks[~mask])[1] < 0.05
    assert rejected / math.comb(10, 5) <= 0.05 and rejected == 8


def test_rank_test_size_at_most_alpha():
    kw = dict(brunner_munzel=False)
    assert K.rank_test_size(10, 10, reps=800, seed=12, **kw)["rank_test"] <= 0.055
    # 3 vs 3 can never reject: its smallest p is 2 / C(6, 3) = 0.1
    assert smallest_p(3, 3) == pytest.approx(0.1)
    assert K.rank_test_size(3, 3, reps=200, seed=14, **kw)["rank_test"] == 0


def test_planner_n_gives_the_promised_power():
    r = K.procedure_power(seeds_needed_for_p(), 0.75, 1, reps=300, seed=15)
    assert r["significant"] >= 0.93
    # "meaningful" needs the estimate to reach γ, which happens about half the time at truth γ
    assert 0.35 <= r["meaningful"] <= 0.65


def test_t_interval_covers_at_five_seeds():
    assert K.mean_ci_coverage(5, "gaussian", reps=2000, seed=16, bca=False)["t"] >= 0.94


def test_outlier_rule_rarely_flags_clean_groups():
    r = K.outlier_false_flags(10, reps=500, seed=17)
    assert r["rule"] <= 0.07 and r["rule"] < r["robust_z_only"]
    assert K.outlier_false_flags(5, reps=100, seed=18)["rule"] == 0


def test_lattice_calibration_restores_the_size():
    r = K.lattice_shapiro_size(100, 0.5, reps=20, seed=19, n_resamples=199)
    assert r["plain"] >= 0.5 and r["calibrated"] <= 0.2
