"""The race statistics (analysis.stats.race): drop rule, stop rule, the α split over pairs, and the
family-wise guarantee in a quick simulation (the full one is benchmarks/race_sim.py)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import AnalysisError
from analysis.stats.race import RACE_VERDICTS, race
from analysis.stats.sequential import sequential_compare

LOOKS = [2, 4, 6, 8, 10, 12]


def _grid(mu, sigma=0.15, n=12, seed=0, sims=None):
    rng = np.random.default_rng(seed)
    mu = np.asarray(mu, dtype=float)
    shape = (mu.size, n) if sims is None else (sims, mu.size, n)
    return mu[:, None] + sigma * rng.standard_normal(shape)


def test_a_configuration_is_dropped_at_the_first_look_where_a_pairwise_sequence_at_alpha_over_pairs_says_so():
    x = _grid([80.0, 79.9, 78.0])
    r = race(x, looks=LOOKS, alpha=0.05, delta=0.1)
    assert r.alpha_pair == pytest.approx(0.05 / 3)
    # the worst against the best, alone, with the pair's share of α: the same looks, the same bounds
    path = sequential_compare(x[0], x[2], alpha=0.05 / 3, looks=LOOKS)
    first = int(np.argmax(path["cs_low"].to_numpy() > 0.1))
    assert path["cs_low"].iloc[first] > 0.1 and (path["cs_low"].iloc[:first] <= 0.1).all()
    assert r.dropped_at[2] == first and r.dropped_by[2] == 0 and r.n[2] == LOOKS[first]
    assert r.low[0, 2] == pytest.approx(path["cs_low"].iloc[first])  # frozen at the drop
    assert r.high[2, 0] == pytest.approx(-path["cs_low"].iloc[first])
    assert r.alive.tolist() == [True, True, False] and r.n[:2].tolist() == [12, 12]
    assert RACE_VERDICTS[r.verdict] == "running"  # no cap given, the two close ones undecided
    assert r.mean[2] == pytest.approx(x[2, :LOOKS[first]].mean()) and r.trainings == 24 + LOOKS[first]


def test_stop_rules_one_survivor_equivalent_undecided_and_never_equivalent_at_delta_0():
    far = _grid([80.0, 77.0, 76.0], n=30)
    looks = list(range(2, 31, 2))
    one = race(far, looks=looks, delta=0.1, max_seeds=30)
    assert RACE_VERDICTS[one.verdict] == "one_survivor" and one.alive.tolist() == [True, False, False]
    assert one.stopped_at == max(one.dropped_at) and one.n[0] == looks[one.stopped_at]
    same = _grid([80.0, 80.0, 80.0], n=30)
    eq = race(same, looks=looks, delta=2.0, max_seeds=30)
    assert RACE_VERDICTS[eq.verdict] == "equivalent" and eq.alive.all()
    inside = ~np.eye(3, dtype=bool)
    assert (eq.low[inside] > -2.0).all() and (eq.high[inside] < 2.0).all()
    assert eq.n.max() < 30  # it stopped before the cap
    never = race(same, looks=looks, delta=0.0, max_seeds=30)
    assert RACE_VERDICTS[never.verdict] == "undecided" and never.n.tolist() == [30, 30, 30]


def test_a_dropped_configurations_later_seeds_are_ignored_and_a_replay_matches_its_prefix():
    x = _grid([80.0, 79.9, 78.0])
    r = race(x, looks=LOOKS, delta=0.1)
    y = x.copy()
    y[2, r.n[2]:] = np.nan  # never run, as in the driver
    s = race(y, looks=LOOKS, delta=0.1)
    for field in ("n", "dropped_at", "dropped_by", "alive", "verdict"):
        assert np.array_equal(getattr(r, field), getattr(s, field)), field
    assert np.allclose(r.mean, s.mean) and np.array_equal(np.isinf(r.low), np.isinf(s.low))
    early = race(x[:, :6], looks=LOOKS[:3], delta=0.1)  # the race after its third wave
    assert np.array_equal(early.dropped_at, np.where(r.dropped_at < 3, r.dropped_at, -1))


def test_lower_is_better_mirrors_and_leading_axes_are_independent_races():
    x = _grid([80.0, 79.9, 78.0])
    up = race(x, looks=LOOKS, delta=0.1)
    down = race(-x, looks=LOOKS, delta=0.1, higher_is_better=False)
    assert np.array_equal(up.dropped_at, down.dropped_at) and np.allclose(up.mean, -down.mean)
    off = ~np.eye(3, dtype=bool)
    assert np.allclose(up.low[off], -down.high[off])
    many = _grid([80.0, 79.9, 78.0], sims=5, seed=3)
    batch = race(many, looks=LOOKS, delta=0.1)
    alone = race(many[4], looks=LOOKS, delta=0.1)
    assert np.array_equal(batch.dropped_at[4], alone.dropped_at) and batch.verdict.shape == (5,)


def test_the_family_wise_error_of_an_all_equal_grid_stays_below_alpha():
    """Every drop is an error in an all-equal grid; 400 races of 6 configurations, looked at every
    wave: the bound says ≤ 5 %. Without the α split (α per pair) the same races err more often."""
    x = _grid(np.full(6, 79.0), sims=400, n=20, seed=7)
    looks = list(range(2, 21, 2))
    split = race(x, looks=looks, alpha=0.05, delta=0.0, max_seeds=20)
    fwer = (~split.alive).any(axis=-1).mean()
    unsplit = race(x, looks=looks, alpha=0.05 * 15, delta=0.0, max_seeds=20)  # α/P = 0.05 for each pair
    assert fwer <= 0.05 and (~unsplit.alive).any(axis=-1).mean() > fwer


@pytest.mark.parametrize("kwargs, says", [
    ({"values": np.zeros((1, 4))}, "configurations ≥ 2"),
    ({"looks": [4, 2]}, "increase strictly"),
    ({"looks": [2, 40]}, "increase strictly"),
    ({"alpha": 1.5}, "alpha"),
    ({"delta": -1.0}, "delta"),
    ({"values": np.array([[1.0, np.inf], [1.0, 2.0]])}, "inf"),
])
def test_bad_input_names_the_fix(kwargs, says):
    args = {"values": np.zeros((3, 4)), "looks": [2, 4], **kwargs}
    with pytest.raises(AnalysisError, match=says):
        race(args.pop("values"), **args)
