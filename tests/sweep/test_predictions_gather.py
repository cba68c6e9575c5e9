"""The driver gathers each finished trial's per-image predictions into one parquet dataset."""

from __future__ import annotations

import pytest

import analysis
from rsb_sweep.spec.execution import Execution
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.tables import write_tables
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SeedAxis, SweepSpec


def test_finished_trials_are_gathered_once(tmp_path):
    import torch

    from trainer import TrainConfig, train

    spec = SweepSpec(name="pg", overrides={"epochs": 1, "warmup_epochs": 0, "max_steps": 1}, seeds=SeedAxis(n=3))
    exp = Experiment.create(tmp_path / "pg", spec, Execution(), expand(spec))
    done = exp.trial_ids[:2]
    torch.set_num_threads(1)
    for tid in done:
        train(TrainConfig.from_dict(exp.config(tid)), out_dir=exp.store.local_dir(tid), log=lambda line: None)
    (exp.store.local_dir(exp.trial_ids[2])).mkdir(parents=True, exist_ok=True)  # a trial not run yet

    results = write_tables(exp)
    folder = exp.root / "predictions.parquet"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.parquet" for t in done)
    preds = analysis.load_predictions(exp.root)
    assert sorted(preds.trial_id.unique()) == sorted(done)
    top1 = analysis.per_trial_top1(preds).set_index("trial_id")["top1"]
    for tid in done:  # the per-image rows give exactly the results table's top-1
        assert top1[tid] == pytest.approx(results.set_index("trial_id").loc[tid, "top1"], abs=1e-9)

    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    write_tables(exp)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps  # nothing rewritten
    noise = analysis.example_noise(preds, results, by="recipe", n_resamples=99)
    assert noise.n_trials.tolist() == [2] and noise.n_images.tolist() == [360]
