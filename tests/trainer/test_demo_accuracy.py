"""The embedded demo must mean something: A2 on digits reaches >= 90 % top-1, seeds differ."""

import pytest
import torch

from trainer import resolve_config, train


@pytest.mark.slow
def test_a2_digits_preset_reaches_90_percent_with_a_seed_spread():
    torch.set_num_threads(1)
    top1 = [train(resolve_config("a2", seed=s), log=lambda _: None).metrics["top1"] for s in (0, 1)]
    assert min(top1) >= 90.0, top1
    assert top1[0] != top1[1], top1
