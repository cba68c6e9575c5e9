"""The ``deterministic`` field: recorded in config.json, applied where a run starts, compared on
resume, and on CPU the same results as without it (CPU runs are bit-exact either way)."""

from __future__ import annotations

import json
import os

import pytest
import torch

from tests.trainer.helpers import assert_same_weights, final_weights, run, tiny_config
from trainer import ConfigError, TrainConfig


@pytest.fixture(autouse=True)
def _restore_torch_flags():
    """These are process-wide: put them back so that no other test runs in deterministic mode."""
    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
    yield
    torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2], saved[3]
    if saved[4] is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    else:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = saved[4]


def test_deterministic_is_recorded_applied_and_changes_nothing_on_cpu(tmp_path):
    plain = run(tiny_config(seed=4), tmp_path / "plain")
    assert json.loads((tmp_path / "plain" / "config.json").read_text())["deterministic"] is False
    assert not torch.are_deterministic_algorithms_enabled()

    det = run(tiny_config(seed=4, deterministic=True), tmp_path / "det")
    assert json.loads((tmp_path / "det" / "config.json").read_text())["deterministic"] is True
    assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert det.metrics["top1"] == plain.metrics["top1"] and det.metrics["eval_loss"] == plain.metrics["eval_loss"]
    assert [r["train_loss"] for r in det.history] == [r["train_loss"] for r in plain.history]
    assert_same_weights(final_weights(tmp_path / "det"), final_weights(tmp_path / "plain"))

    # the next run in the same process (a reused Ray actor) runs as its own config says
    run(tiny_config(seed=4, epochs=2), tmp_path / "after")
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic


def test_resume_compares_deterministic_and_old_checkpoints_count_as_off(tmp_path):
    config = tiny_config(seed=1)
    run(config, tmp_path, stop_after=1)
    with pytest.raises(ConfigError, match="deterministic: checkpoint False, given True"):
        run(tiny_config(seed=1, deterministic=True), tmp_path, resume_from=tmp_path)
    old = {k: v for k, v in config.to_dict().items() if k != "deterministic"}
    assert TrainConfig.from_dict(old).deterministic is False
