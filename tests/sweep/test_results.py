"""The results table: the contract's columns, one row per trial in every state, atomic writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd

from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.execution import Execution
from rsb_sweep.experiment.tables import write_tables
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SeedAxis, SweepSpec
from tests.sweep.helpers import CONTRACT


def _experiment(tmp_path, n=4):
    spec = SweepSpec(name="rt", overrides={"epochs": 2, "max_steps": 1}, seeds=SeedAxis(n=n))
    return Experiment.create(tmp_path / "rt", spec, Execution(), expand(spec))


def test_one_row_per_trial_in_every_state(tmp_path):
    import torch

    from trainer import TrainConfig, train

    exp = _experiment(tmp_path)
    store = exp.store
    done, failed, running, pending = exp.trial_ids
    torch.set_num_threads(1)
    result = train(TrainConfig.from_dict(exp.config(done)), out_dir=store.local_dir(done), log=lambda line: None)
    store.record_run(done, {"resumed_from_epoch": 0})
    store.record_run(failed, {"resumed_from_epoch": 0})
    store.record_error(failed, "loss became NaN at epoch 1, step 2", "DivergenceError")
    store.record_run(running, {"resumed_from_epoch": 0})

    df = write_tables(exp)
    assert list(df.columns) == CONTRACT
    assert list(df["trial_id"]) == exp.trial_ids
    status = dict(zip(df["trial_id"], df["status"]))
    assert status == {done: "TERMINATED", failed: "ERROR", running: "RUNNING", pending: "PENDING"}
    row = df.set_index("trial_id").loc[done]
    assert row["top1"] == result.metrics["top1"] and row["n_val"] == result.metrics["n_val"]
    assert row["epochs_done"] == 2 and row["restarts"] == 0 and row["device"] == "cpu"
    assert df.set_index("trial_id").loc[failed, "error"].startswith("loss became NaN")
    assert df.set_index("trial_id").loc[[failed, running, pending], "top1"].isna().all()

    on_disk = pd.read_parquet(exp.root / "results.parquet")
    pd.testing.assert_frame_equal(on_disk, df)
    csv = pd.read_csv(exp.root / "results.csv")
    assert list(csv.columns) == CONTRACT and len(csv) == 4
    history = pd.read_parquet(exp.root / "history.parquet")
    assert list(history["trial_id"]) == [done, done] and list(history["epoch"]) == [1, 2]
    for col in ("lr", "train_loss", "top1", "top5", "epoch_seconds", "images_per_second"):
        assert col in history.columns


_WRITER = textwrap.dedent("""
    import io, sys, numpy as np, pandas as pd
    from pathlib import Path
    from trainer.files import atomic_write_bytes
    path = Path(sys.argv[1])
    payloads = []
    for value in (1.0, 2.0):  # two complete tables, ~16 MB each (random floats do not compress)
        df = pd.DataFrame({"top1": np.full(2_000_000, value), "noise": np.random.default_rng(0).random(2_000_000)})
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        payloads.append(buf.getvalue())
    print("ready", flush=True)
    i = 0
    while True:  # the primitive every table write goes through
        atomic_write_bytes(path, payloads[i % 2])
        i += 1
""")


def test_a_kill_during_a_write_leaves_a_complete_table(tmp_path):
    """SIGKILL a process that rewrites the table over and over: the table is always whole."""
    path = tmp_path / "results.parquet"
    interrupted = 0
    for attempt in range(8):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.15 + 0.07 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        leftovers = list(tmp_path.glob(".results.parquet.*.tmp"))
        interrupted += bool(leftovers)
        for tmp in leftovers:
            tmp.unlink()
        if path.exists():
            df = pd.read_parquet(path)  # never a torn file: the previous or the new table, complete
            assert len(df) == 2_000_000 and df["top1"].nunique() == 1
    assert interrupted >= 1  # the kills did land in the middle of writes


def test_rows_name_the_papers_architecture_of_each_stand_in(tmp_path):
    from analysis import load_results
    from rsb_sweep.experiment.results import build_results
    from rsb_sweep.spec.sweepfile import load_spec_file

    path = tmp_path / "t3.yaml"
    path.write_text("name: t3\nunits: paper\ngrid:\n  model: [resnet18, resnet50]\nseeds: {n: 1}\n"
                    "digits_models:\n  resnet18: {paper: ResNet-18, model: resnet18, width_mult: 0.125}\n")
    spec, _ = load_spec_file(path)
    exp = Experiment.create(tmp_path / "t3", spec, Execution(), expand(spec))
    df = build_results(exp)
    assert list(df.columns[df.columns.get_loc("model"):][:2]) == ["model", "paper_model"]
    by_model = dict(zip(df["model"], df["paper_model"]))
    assert by_model["resnet18"] == "ResNet-18" and pd.isna(by_model["resnet50"])  # no stand-in: no paper name
    write_tables(exp)
    assert list(load_results(exp.root)["paper_model"].fillna("")) == list(df["paper_model"].fillna(""))
    plain = build_results(_experiment(tmp_path, n=1))
    assert "paper_model" not in plain.columns  # only a sweep that names paper models has the column
