"""The embedded demo must mean something for every recipe (issue #19): on digits, at one thread as
sweep trials run, A1, A2 and A3 each reach a mean >= 88 % top-1, in the paper's order A1 >= A2 >= A3,
with A3 within 4 points of A2, and the seeds give a visible spread. Four seeds a recipe, two
processes: the calibration itself (8 seeds, benchmarks/results/preset_calibration.jsonl) is larger."""

import statistics
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

SEEDS = range(4)


def _top1(recipe: str, seed: int) -> float:
    import torch

    from trainer import resolve_config, train

    torch.set_num_threads(1)
    return train(resolve_config(recipe, seed=seed, threads=1), log=lambda _: None).metrics["top1"]


@pytest.mark.slow
def test_every_recipe_reaches_88_percent_in_the_papers_order_with_a_seed_spread():
    jobs = [(r, s) for r in ("a1", "a2", "a3") for s in SEEDS]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        values = list(pool.map(_top1, *zip(*jobs)))
    top1 = {r: [v for (rr, _), v in zip(jobs, values) if rr == r] for r in ("a1", "a2", "a3")}
    mean = {r: statistics.mean(v) for r, v in top1.items()}
    assert all(m >= 88.0 for m in mean.values()), top1
    assert mean["a1"] >= mean["a2"] >= mean["a3"] >= mean["a2"] - 4.0, mean
    for values in top1.values():
        assert statistics.stdev(values) > 0 and len(set(values)) >= 3, top1
