"""Long end-to-end runs (marked slow, run in CI): kills and resumes, DDP trials, joining a
cluster, remote-style storage. Real local Ray, real training on the embedded digits."""

from __future__ import annotations

import os
import re
import signal
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.sweep.conftest import stop_session
from tests.sweep.helpers import (FAST, assert_same_run, cli, cli_background, history_lines, history_rows, manifest,
                                 reference_runs, results, runs, trial_dir, wait_for, wait_until_first_trial_mid_epoch)

pytestmark = pytest.mark.slow


@pytest.mark.timeout(480)
def test_killed_trial_process_restarts_from_its_checkpoint_bit_exactly(tmp_path):
    exp, log = tmp_path / "exp", tmp_path / "driver.log"
    proc = cli_background("seeds", "--n", "2", "--epochs", "4", "--max-steps", "10", "--pack", "1", "--num-cpus", "2",
                          "--max-failures", "2", "--out", str(exp), "--no-live", log=log)
    try:
        tid = wait_until_first_trial_mid_epoch(exp, proc, log, 4, 240, "the first epoch of the first trial")
        os.kill(runs(exp, tid)[-1]["pid"], signal.SIGKILL)  # the trial's process, mid-epoch
        assert proc.wait(timeout=400) == 0, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)

    df = results(exp).set_index("trial_id")
    assert len(df) == 2 and set(df["status"]) == {"TERMINATED"}
    assert df.loc[tid, "restarts"] == 1
    assert df.drop(index=tid)["restarts"].eq(0).all()
    attempts = runs(exp, tid)
    assert len(attempts) == 2 and attempts[1]["resumed_from_epoch"] >= 1
    assert history_lines(exp, tid) == 4  # no epoch repeated or lost in history.jsonl
    victim = manifest(exp)["trials"][0]  # the trial that was killed
    (ref,) = reference_runs([victim["config"]])
    assert_same_run(history_rows(exp, tid), ref["history"])
    assert df.loc[tid, "top1"] == ref["metrics"]["top1"] and df.loc[tid, "eval_loss"] == ref["metrics"]["eval_loss"]


EPOCHS = 10


@pytest.mark.timeout(600)
def test_killed_driver_then_resume_finishes_without_retraining(tmp_path):
    exp, log = tmp_path / "exp", tmp_path / "driver.log"
    # 10 short epochs: the half-done trial must still be half done when its worker is stopped after the
    # driver's kill (with 3, on a quiet machine, it once finished in between: clean-clone CI 2026-12-07)
    proc = cli_background("seeds", "--n", "4", "--epochs", str(EPOCHS), "--max-steps", "6", "--pack", "1",
                          "--num-cpus", "2", "--out", str(exp), "--no-live", log=log)

    def state():
        ids = [t["trial_id"] for t in manifest(exp)["trials"]]
        done = [t for t in ids if (trial_dir(exp, t) / "metrics.json").exists()]
        partial = [t for t in ids if t not in done and 1 <= history_lines(exp, t) <= EPOCHS // 2]
        return done, partial

    try:
        wait_for(lambda: (exp / "sweep.json").exists(), 120, "the manifest", proc, log)
        wait_for(lambda: state()[0] and state()[1], 300, "one finished and one half-done trial", proc, log)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only
        proc.wait(timeout=30)
    finally:
        stop_session(proc.pid)  # what Ray left behind of the killed driver's local instance
    done, partial = state()
    assert done and len(done) < 4
    stamps = {t: (trial_dir(exp, t) / "metrics.json").stat().st_mtime_ns for t in done}

    status = cli("status", str(exp)).stdout
    assert "rsb-sweep resume" in status
    cli("results", str(exp))
    mid = results(exp)
    assert len(mid) == 4 and set(mid["status"]) <= {"TERMINATED", "RUNNING", "PENDING"}

    cli("resume", str(exp), "--num-cpus", "2", "--no-live", timeout=480)
    df = results(exp).set_index("trial_id")
    assert len(df) == 4 and set(df["status"]) == {"TERMINATED"}
    for t in done:  # finished before the kill: not run again
        assert len(runs(exp, t)) == 1
        assert (trial_dir(exp, t) / "metrics.json").stat().st_mtime_ns == stamps[t]
        assert df.loc[t, "restarts"] == 0
    resumed = [t for t in partial if runs(exp, t)[-1]["resumed_from_epoch"] >= 1]
    assert resumed, "a trial that was half done must continue from its checkpoint"
    for t in resumed:
        assert df.loc[t, "restarts"] >= 1 and history_lines(exp, t) == EPOCHS
    config = next(t["config"] for t in manifest(exp)["trials"] if t["trial_id"] == resumed[0])
    (ref,) = reference_runs([config])
    assert_same_run(history_rows(exp, resumed[0]), ref["history"])

    report = cli("report", str(exp), timeout=600)
    assert (exp / "report.html").is_file() and (exp / "report.ipynb").is_file(), report.stdout


@pytest.mark.timeout(480)
def test_two_worker_ddp_trial_with_dashboard(tmp_path):
    exp, log = tmp_path / "exp", tmp_path / "driver.log"
    proc = cli_background("seeds", "--n", "1", *FAST, "--workers-per-trial", "2", "--num-cpus", "2", "--dashboard",
                          "--out", str(exp), "--no-live", log=log)
    try:
        wait_for(lambda: "Ray dashboard: http" in log.read_text(), 180, "the dashboard URL", proc, log)
        url = re.search(r"Ray dashboard: (\S+)", log.read_text()).group(1)
        assert url.startswith("http://127.0.0.1:")  # loopback only
        try:
            code = urllib.request.urlopen(url, timeout=20).status
        except urllib.error.HTTPError as exc:  # token authentication answers 401 without the token
            code = exc.code
        assert code in (200, 401)
        assert proc.wait(timeout=400) == 0, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)
    df = results(exp)
    assert list(df["status"]) == ["TERMINATED"] and list(df["n_workers"]) == [2]
    assert history_lines(exp, df["trial_id"][0]) == 2


@pytest.mark.timeout(480)
def test_sweep_joins_an_existing_cluster_with_address(tmp_path, ray_head):
    address, head_temp = ray_head
    exp = tmp_path / "exp"
    env = {**os.environ, "RAY_AUTH_MODE": "token"}  # Ray's documented way to reach a token-auth cluster
    # with --address the data is checked where the trials run, by a Ray task, before any trial starts
    bad = cli("seeds", "--n", "1", "--data", "nope", "--epochs", "2", "--warmup-epochs", "0", "--address", address,
              "--out", str(tmp_path / "bad"), "--no-live", env=env, check=False)
    assert bad.returncode == 2 and "checked on the Ray cluster" in bad.stderr, bad.stderr[-3000:]
    assert f"data folder {Path.cwd() / 'nope'} does not exist" in bad.stderr  # made absolute where it was typed
    assert not list((tmp_path / "bad").glob("trials/*/runs.jsonl"))
    out = cli("seeds", "--n", "2", *FAST, "--address", address, "--out", str(exp), "--no-live", env=env)
    df = results(exp)
    assert len(df) == 2 and set(df["status"]) == {"TERMINATED"}, out.stdout
    logs = list(Path(head_temp).glob("session_*/logs/worker-*"))
    assert logs, "the trials ran in the joined cluster's workers"
    evaluated = cli("evaluate", str(exp), "--crop-pct", "0.9", "--address", address, env=env)
    ev = pd.read_parquet(exp / "evaluations.parquet")
    assert len(ev) == 4 and set(ev["status"]) == {"TERMINATED"}, evaluated.stdout  # no retraining, on the cluster
    assert "2 computed now" in evaluated.stdout


@pytest.mark.timeout(480)
def test_uri_storage_keeps_trial_folders_there(tmp_path):
    store = tmp_path / "store"
    exp = tmp_path / "exp"
    cli("seeds", "--n", "2", *FAST, "--num-cpus", "2", "--storage", f"file://{store}", "--name", "uri", "--out",
        str(exp), "--no-live")
    df = results(exp)
    assert set(df["status"]) == {"TERMINATED"}
    assert not (exp / "trials").exists()
    for tid in df["trial_id"]:
        folder = store / "uri" / "trials" / tid
        assert (folder / "metrics.json").is_file() and (folder / "history.jsonl").is_file()
        assert [p.name for p in (folder / "checkpoints").iterdir()] == ["epoch_0002"]
    scratch = Path(tempfile.gettempdir()) / "rsb-sweep-scratch"
    assert not [p for tid in df["trial_id"] for p in scratch.glob(f"*/{tid}")]  # local copies dropped once pushed
    cli("evaluate", str(exp), "--crop-pct", "0.9", "--num-cpus", "2")  # checkpoints fetched from the store
    ev = pd.read_parquet(exp / "evaluations.parquet")
    assert len(ev) == 4 and set(ev["status"]) == {"TERMINATED"}
    for tid in df["trial_id"]:
        assert (store / "uri" / "trials" / tid / "evaluations" / "val-crop0.9-res24.json").is_file()
    assert not [p for tid in df["trial_id"] for p in scratch.glob(f"*/{tid}")]
    assert (exp / "predictions.parquet" / f"{df['trial_id'][0]}.val-crop0.9-res24.parquet").is_file()
