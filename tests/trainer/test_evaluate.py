"""Re-evaluating a finished run's checkpoint (train once, evaluate many): real tiny digits runs."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

import analysis
from analysis.load.predictions import validate_predictions
from analysis.paired import compare_paired
from tests.trainer.helpers import run, tiny_config
from trainer.checkpoint import list_checkpoints
from trainer.errors import ConfigError
from trainer.evaluate import evaluate_run, main
from trainer.checkpoint import PREDICTIONS_FILE


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate") / "trial_e"
    config = tiny_config(epochs=2, seed=5)
    run(config, out)
    return config, out


def _global_streams():
    return random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone()


def test_own_setting_reproduces_the_final_metrics_and_predictions_and_draws_no_randomness(trained):
    config, out = trained
    metrics = json.loads((out / "metrics.json").read_text())
    before = _global_streams()
    own, other = evaluate_run(out, crop_pct=[config.crop_pct, 1.0], test_res=config.test_res)
    after = _global_streams()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and torch.equal(before[2], after[2])

    assert (own.eval_set, own.crop_pct, own.test_res) == ("val", config.crop_pct, config.test_res)
    assert (own.top1, own.top5, own.eval_loss, own.n_val) == (
        metrics["top1"], metrics["top5"], metrics["eval_loss"], metrics["n_val"])
    trained_preds = pd.read_parquet(out / PREDICTIONS_FILE)
    np.testing.assert_array_equal(own.preds, trained_preds["pred"].to_numpy())
    np.testing.assert_array_equal(own.targets, trained_preds["target"].to_numpy())

    assert (other.crop_pct, other.test_res, other.n_val) == (1.0, config.test_res, metrics["n_val"])
    np.testing.assert_array_equal(other.targets, own.targets)  # the same images, in the same order
    assert other.top1 == pytest.approx(100 * np.mean(other.preds == other.targets), abs=1e-9)

    # a real (one-trial) evaluations table goes straight into the paired analysis
    table = pd.DataFrame([{**e.row(), "trial_id": out.name, "recipe": config.recipe, "status": "TERMINATED"}
                          for e in (own, other)])
    paired = compare_paired(table, baseline=config.crop_pct).iloc[0]
    assert (paired["n_pairs"], paired["diff"], paired["verdict"]) == (1, other.top1 - own.top1, "not_resolvable")


def test_command_line_prints_one_json_row_per_evaluation_and_writes_the_contract(trained, tmp_path, capsys):
    config, out = trained
    preds_file = tmp_path / "p.parquet"
    assert main([str(out), "--test-res", f"{config.test_res - 8}", "--predictions", str(preds_file)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["eval_set"], r["crop_pct"], r["test_res"]) for r in rows] == [("val", config.crop_pct, config.test_res - 8)]
    preds = validate_predictions(pd.read_parquet(preds_file))
    assert set(preds.trial_id) == {"trial_e"} and len(preds) == rows[0]["n_val"]
    assert 100 * preds.correct.mean() == pytest.approx(rows[0]["top1"], abs=1e-9)


def test_unfinished_runs_and_bad_settings_are_refused_before_any_work(trained, tmp_path, capsys):
    config, out = trained
    with pytest.raises(ConfigError, match=r"crop_pct=1\.5 is out of range"):
        evaluate_run(out, crop_pct=[0.9, 1.5])
    assert main([str(out), "--test-res", "31.5"]) == 2
    assert "whole numbers of pixels" in capsys.readouterr().err

    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    shutil.rmtree(list_checkpoints(partial / "checkpoints")[-1])  # as if stopped after epoch 1
    with pytest.raises(ConfigError, match="stopped after epoch 1 of 2; finish it"):
        evaluate_run(partial)
    with pytest.raises(ConfigError, match="no config.json"):
        evaluate_run(tmp_path)
