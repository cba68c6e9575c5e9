"""A sweep trial run again from its own folder (issue 18): ``python -m trainer --config
<trial>/config.json`` reproduces the trial's metrics.json exactly, in a process whose
OMP_NUM_THREADS differs from the Ray worker's, and so does a run stopped there and resumed in a
third process with yet another OMP_NUM_THREADS: the trial's recorded thread count is pinned. A
typed ``--threads`` gives other numbers and says so (the count matters, so the test can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sweep.helpers import cli, manifest, trial_dir

#: metrics.json keys that a reproduction must equal (cost and restarts are not results).
RESULTS = ("top1", "top5", "eval_loss", "train_loss", "n_val", "epochs_done")


def trainer(*args: str, omp: int) -> subprocess.CompletedProcess:
    """``python -m trainer ARGS`` in a fresh process with ``OMP_NUM_THREADS=omp``."""
    proc = subprocess.run([sys.executable, "-m", "trainer", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, OMP_NUM_THREADS=str(omp)))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def results_of(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    return {k: metrics[k] for k in RESULTS}


def recorded_threads(run: Path) -> tuple[int, int]:
    config = json.loads((run / "config.json").read_text())
    return config["threads"], config["interop_threads"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sweep_trial_runs_again_from_its_config_json_to_the_same_metrics(tmp_path):
    exp = tmp_path / "exp"
    cli("seeds", "--n", "1", "--recipe", "a2", "--epochs", "2", "--max-steps", "3", "--num-cpus", "2",
        "--out", str(exp), "--no-live")
    trial = trial_dir(exp, manifest(exp)["trials"][0]["trial_id"])
    assert recorded_threads(trial)[0] == 1  # Ray gives the trial's worker one CPU: one intra-op thread
    want = results_of(trial)

    again = trainer("--config", trial / "config.json", "--out", tmp_path / "again", omp=2)
    assert "results will differ" not in again.stdout
    assert recorded_threads(tmp_path / "again")[0] == 1 and results_of(tmp_path / "again") == want

    trainer("--config", trial, "--out", tmp_path / "part", "--stop-after", "1", "--interop-threads", "3", omp=2)
    assert recorded_threads(tmp_path / "part") == (1, 3)  # a fresh process takes the inter-op count
    resumed = trainer("--resume", tmp_path / "part", omp=3)
    assert "resumed from" in resumed.stdout
    assert recorded_threads(tmp_path / "part") == (1, 3) and results_of(tmp_path / "part") == want

    other = trainer("--config", trial, "--out", tmp_path / "other", "--threads", "2", omp=1)
    assert "was run with 1 intra-op thread(s), this run uses 2: results will differ" in other.stdout
    assert recorded_threads(tmp_path / "other")[0] == 2 and results_of(tmp_path / "other") != want
