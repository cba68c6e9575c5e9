"""The embedded demo must mean something: A2 on digits reaches a mean >= 90 % top-1 over
8 seeds, and the seeds give a visible spread (distinct values, std > 0)."""

import statistics

import pytest
import torch

from trainer import resolve_config, train


@pytest.mark.slow
def test_a2_digits_preset_reaches_90_percent_on_average_with_a_seed_spread():
    torch.set_num_threads(1)
    top1 = [train(resolve_config("a2", seed=s), log=lambda _: None).metrics["top1"] for s in range(8)]
    assert statistics.mean(top1) >= 90.0, top1
    assert statistics.stdev(top1) > 0 and len(set(top1)) >= 4, top1
