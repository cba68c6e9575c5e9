"""Evaluation must not touch training: extra evaluation sets, crop ratio and test resolution
change what is measured, never the weights or the training metrics."""

from __future__ import annotations

from tests.trainer.helpers import assert_same_weights, final_weights, run, tiny_config
from trainer import data as data_mod


def test_training_is_bit_identical_whatever_is_evaluated(tmp_path):
    base = tiny_config(epochs=2, seed=4)  # A2: drop-path on, which draws from the global generator
    plain = run(base, tmp_path / "plain")
    digits = str(data_mod.data_root(base))
    measured = tiny_config(epochs=2, seed=4, eval_sets=(("again", digits), ("third", digits)), crop_pct=1.0,
                           test_res=base.test_res + 8)
    other = run(measured, tmp_path / "other")
    assert [(h["lr"], h["train_loss"]) for h in other.history] == [(h["lr"], h["train_loss"]) for h in plain.history]
    assert_same_weights(final_weights(tmp_path / "other"), final_weights(tmp_path / "plain"))
    assert other.history[-1]["top1_again"] == other.history[-1]["top1"]  # each set scored alike
