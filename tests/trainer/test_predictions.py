"""Per-image final predictions: written by real tiny digits runs, in image order, resume-safe."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

import analysis
from analysis.load.predictions import validate_predictions
from tests.trainer.helpers import run, tiny_config
from tests.trainer.test_cli_and_ddp import TINY_ARGS, cli
from trainer import data as data_mod
from trainer.checkpoint import find_checkpoint, load_checkpoint
from trainer.config import TrainConfig
from trainer.checkpoint import PREDICTIONS_FILE
from trainer.predictions import PREDICTION_SCHEMA, prediction_table
from trainer.run import init_model


def test_trainer_schema_is_the_analysis_contract():
    """One home for the columns: analysis' contract; the trainer writes exactly those, typed alike."""
    contract = pd.DataFrame({c: pd.Series(dtype=t) for c, t in analysis.PREDICTION_SCHEMA.items()})
    expected = pa.Schema.from_pandas(contract, preserve_index=False).remove_metadata()
    def same_text(t):  # pandas' "string" maps to arrow's large_string, the trainer writes string
        return pa.string() if t == pa.large_string() else t

    assert PREDICTION_SCHEMA.names == list(analysis.PREDICTION_COLUMNS)
    assert [same_text(f.type) for f in PREDICTION_SCHEMA] == [same_text(f.type) for f in expected]
    empty = prediction_table("t", []).to_pandas()
    assert len(validate_predictions(empty)) == 0


def _targets(config, name_or_val="val"):
    splits = data_mod.build_datasets(config)
    ds = splits.val if name_or_val == "val" else dict(splits.extra)[name_or_val]
    return np.array([ds.reader[i][1] for i in range(len(ds))])


def test_tiny_run_writes_every_image_of_every_set(tmp_path):
    digits = str(data_mod.data_root(tiny_config()))
    config = tiny_config(epochs=1, warmup_epochs=0, seed=1, eval_sets=(("again", digits),))
    result = run(config, tmp_path / "trial_a")
    preds = analysis.load_predictions(tmp_path / "trial_a")
    assert set(preds.trial_id) == {"trial_a"}  # the run folder's name
    for name, top1 in (("val", result.metrics["top1"]), ("again", result.metrics["top1_again"])):
        rows = preds[preds.eval_set == name]
        assert rows.image.tolist() == list(range(360))
        assert 100 * rows.correct.mean() == pytest.approx(top1, abs=1e-9)
        np.testing.assert_array_equal(rows.target.to_numpy(), _targets(config, name))
    assert set(preds.crop_pct) == {config.crop_pct} and set(preds.test_res) == {config.test_res}


def test_resumed_runs_write_identical_predictions(tmp_path):
    config = tiny_config(epochs=2, seed=2)
    # kept whole, as a run killed before it kept its weights alone leaves its final checkpoint
    run(dataclasses.replace(config, final_checkpoint="full"), tmp_path / "full")
    part = run(config, tmp_path / "part", stop_after=1)
    assert not part.completed and not (tmp_path / "part" / PREDICTIONS_FILE).exists()
    run(config, tmp_path / "part", resume_from=tmp_path / "part")
    full = (tmp_path / "full" / PREDICTIONS_FILE).read_bytes()
    resumed = pd.read_parquet(tmp_path / "part" / PREDICTIONS_FILE)
    pd.testing.assert_frame_equal(resumed.drop(columns="trial_id"),
                                  pd.read_parquet(tmp_path / "full" / PREDICTIONS_FILE).drop(columns="trial_id"))
    # a finished run resumed again (e.g. killed after its last checkpoint) rewrites the same bytes
    (tmp_path / "full" / PREDICTIONS_FILE).unlink()
    again = run(config, tmp_path / "full", resume_from=tmp_path / "full")
    assert again.completed and (tmp_path / "full" / PREDICTIONS_FILE).read_bytes() == full


@pytest.mark.slow
def test_two_rank_predictions_are_in_image_order(tmp_path):
    """Under torchrun (2 ranks, strided shares) the file puts each rank's predictions at their images."""
    out = cli(*TINY_ARGS, "--seed", "3", "--out", str(tmp_path / "ddp"), torchrun=2)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    preds = analysis.load_predictions(tmp_path / "ddp")
    assert preds.image.tolist() == list(range(360))
    assert 100 * preds.correct.mean() == pytest.approx(metrics["top1"], abs=1e-9)
    state = load_checkpoint(find_checkpoint(tmp_path / "ddp"))
    config = TrainConfig.from_dict(state["config"])
    splits = data_mod.build_datasets(config)
    model = init_model(config, splits.num_classes)
    model.load_state_dict(state["model"])
    model.eval()
    expected = np.empty(360, dtype=np.int64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the torchrun workers (OMP_NUM_THREADS=1): same kernels, same near-ties
    try:
        with torch.no_grad():  # each rank's strided share, scored alone with the same batches as under DDP
            for rank in (0, 1):
                loader = data_mod.eval_loader(config, splits.val, 2, rank)
                expected[rank::2] = torch.cat([model(x).topk(1).indices[:, 0] for x, _ in loader]).numpy()
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(preds.target.to_numpy(), _targets(config))  # image order
    # Rank 0 holds the checkpointed weights, BN statistics included: its images match exactly.
    np.testing.assert_array_equal(preds.pred.to_numpy()[0::2], expected[0::2])
    # Rank 1 evaluated with its own BN running statistics (DDP broadcasts rank 0's before each
    # training forward, then each rank updates its own); the DDP-BN change (distribute_bn
    # before evaluation) makes them equal, and this line can become exact.
    assert np.mean(preds.pred.to_numpy()[1::2] == expected[1::2]) >= 0.95
    shutil.rmtree(tmp_path / "ddp", ignore_errors=True)


@pytest.mark.parametrize("names", [("val",), ("v2", "v2"), ("real",)])
def test_eval_set_names_must_not_collide(names):
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError, match="reserved"):
        tiny_config(eval_sets=tuple((n, "/tmp") for n in names))
