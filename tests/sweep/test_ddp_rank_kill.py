"""kill -9 of one rank of a 2-worker DDP trial (slow: real Ray Train, real gloo DDP on the digits).

Ray Train sees the dead worker, restarts the worker group, and the pack resumes the trial
from its newest checkpoint; the trial must end exactly as an uninterrupted 2-rank run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
import torch

from tests.sweep.conftest import stop_session
from tests.sweep.helpers import assert_same_run, cli_background, history_lines, history_rows, manifest, results, runs, \
    trial_dir, wait_until_first_trial_mid_epoch
from trainer.checkpoint import find_checkpoint, load_checkpoint

pytestmark = pytest.mark.slow

_DDP_REFERENCE = textwrap.dedent("""
    import json, sys, torch
    torch.set_num_threads(1)  # as the driver does for a one-CPU worker
    from trainer import TrainConfig, train
    train(TrainConfig.from_dict(json.loads(open(sys.argv[1]).read())), out_dir=sys.argv[2], log=lambda line: None)
""")


def reference_ddp_run(config: dict, folder: Path, workers: int = 2) -> Path:
    """Train ``config`` uninterrupted under torchrun (gloo, ``workers`` ranks), outside Ray; returns its run folder."""
    folder.mkdir(parents=True)
    (folder / "ref.py").write_text(_DDP_REFERENCE)
    (folder / "config.json").write_text(json.dumps(config))
    out = folder / "run"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={workers}",
                           str(folder / "ref.py"), str(folder / "config.json"), str(out)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def history_rows_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def train_workers(driver_pid: int) -> list[psutil.Process]:
    """The Ray Train worker processes under this test's driver (other Rays on the machine are not ours)."""
    found = []
    for p in psutil.Process(driver_pid).children(recursive=True):
        try:
            if "RayTrainWorker" in " ".join(p.cmdline()):
                found.append(p)
        except psutil.Error:
            pass
    return found


@pytest.mark.timeout(900)
def test_killed_rank_of_a_ddp_trial_restarts_from_its_checkpoint_bit_exactly(tmp_path):
    exp, log = tmp_path / "exp", tmp_path / "driver.log"
    proc = cli_background("seeds", "--n", "1", "--epochs", "4", "--max-steps", "10", "--workers-per-trial", "2",
                          "--num-cpus", "2", "--max-failures", "2", "--out", str(exp), "--no-live", log=log)
    try:
        tid = wait_until_first_trial_mid_epoch(exp, proc, log, 4, 400, "the first epoch of the DDP trial")
        rank0 = runs(exp, tid)[-1]["pid"]
        others = [p for p in train_workers(proc.pid) if p.pid != rank0]
        assert len(others) == 1, [p.pid for p in others]
        os.kill(others[0].pid, signal.SIGKILL)  # rank 1 only, mid-epoch
        assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)

    df = results(exp).set_index("trial_id")
    assert list(df["status"]) == ["TERMINATED"] and df.loc[tid, "n_workers"] == 2
    assert df.loc[tid, "restarts"] == 1
    attempts = runs(exp, tid)
    assert len(attempts) == 2 and attempts[1]["resumed_from_epoch"] >= 1
    assert history_lines(exp, tid) == 4  # no epoch repeated or lost

    trial = manifest(exp)["trials"][0]  # the DDP trial whose rank was killed
    ref = reference_ddp_run(trial["config"], tmp_path / "reference")
    assert_same_run(history_rows(exp, tid), history_rows_of(ref))
    got = load_checkpoint(find_checkpoint(trial_dir(exp, tid)))["model"]
    want = load_checkpoint(find_checkpoint(ref))["model"]
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got)
