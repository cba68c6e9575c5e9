"""Packing trials into Tune trials: complete, disjoint, balanced, longest first."""

from __future__ import annotations

import pytest

from rsb_sweep.driver.packs import auto_pack_size, estimated_cost, make_packs


def _trials(n, epochs=lambda i: 10):
    return [(f"t{i:03d}", {"epochs": epochs(i), "train_res": 32, "max_steps": None}) for i in range(n)]


@pytest.mark.parametrize("n, slots, pack", [(1, 2, None), (7, 2, None), (100, 2, None), (100, 3, None), (33, 4, 5),
                                            (10, 2, 1), (10, 2, 20)])
def test_every_trial_in_exactly_one_pack(n, slots, pack):
    trials = _trials(n)
    packs = make_packs(trials, slots, pack)
    flat = [t for p in packs for t in p]
    assert sorted(flat) == sorted(t for t, _ in trials)
    if pack:
        assert max(len(p) for p in packs) <= pack


@pytest.mark.parametrize("n, slots", [(1000, 2), (5000, 16), (450, 3)])
def test_auto_packing_of_large_sweeps_balances_slots(n, slots):
    packs = make_packs(_trials(n), slots=slots, pack_size=None)
    sizes = [len(p) for p in packs]
    assert len(packs) % slots == 0 and len(packs) >= slots * 4  # every slot gets several packs
    assert max(sizes) - min(sizes) <= 1
    assert max(sizes) > 1  # packed at all: Tune tracks fewer trials
    assert len(packs) <= 200 + slots  # Tune tracks about 200 trials at most


def test_ordinary_sweeps_and_ddp_are_not_packed():
    assert auto_pack_size(100, 2, 1) == 1  # the main job: one trial per Tune trial
    assert auto_pack_size(6, 2, 1) == 1
    assert auto_pack_size(1000, 2, 2) == 1


def test_costly_trials_start_first_and_packs_cost_about_the_same():
    trials = _trials(40, epochs=lambda i: 60 if i % 4 == 0 else 10)
    packs = make_packs(trials, slots=2, pack_size=5)
    cost = {t: estimated_cost(c) for t, c in trials}
    totals = [sum(cost[t] for t in p) for p in packs]
    assert totals == sorted(totals, reverse=True)
    assert max(totals) <= 2 * min(totals)
    singles = make_packs(trials, slots=2, pack_size=1)
    assert cost[singles[0][0]] == max(cost.values())
