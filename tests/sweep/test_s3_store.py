"""An S3 store through a real endpoint on 127.0.0.1 (moto's server mode), with every tracker on (slow):
a sweep with --storage s3://…, the driver killed mid-sweep, resume, evaluate, report. Nothing is lost, the
tables equal uninterrupted runs, and each trial's TensorBoard, MLflow and W&B run holds every epoch once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.sweep.conftest import stop_session
from tests.sweep.helpers import assert_same_run, cli, cli_background, manifest, reference_runs, results, wait_for

BUCKET = "rsb-bucket"
EPOCHS = 3


@pytest.fixture
def s3_endpoint(tmp_path):
    """``moto_server`` on a free loopback port, in its own session; yields the environment a boto3 or
    pyarrow user sets (AWS_ENDPOINT_URL and credentials) with the bucket made."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    log = open(tmp_path / "moto.log", "w")
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "WANDB_MODE": "offline"}
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
                              aws_secret_access_key="testing", region_name="us-east-1")
        deadline = time.time() + 60
        while True:
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        yield env, client
    finally:
        stop_session(proc.pid)
        log.close()


def _tb_steps(exp: Path, tid: str) -> list[int]:
    from rsb_sweep.driver.tb_events import read_scalars

    return sorted(s for s, tag, _ in read_scalars(exp / "tensorboard" / tid) if tag == "top1")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_s3_store_killed_driver_resume_evaluate_report_and_trackers(tmp_path, s3_endpoint):
    env, client = s3_endpoint
    exp, log = tmp_path / "exp", tmp_path / "sweep.log"
    lab = f"lab-{uuid.uuid4().hex[:8]}"  # the local scratch copies are keyed by the store's URI: a fresh one
    args = ["seeds", "--n", "2", "--epochs", str(EPOCHS), "--max-steps", "6", "--num-cpus", "2",
            "--storage", f"s3://{BUCKET}/{lab}", "--name", "s3kill", "--out", str(exp), "--no-live",
            "--log", "mlflow", "--log", "wandb"]
    started = time.time()
    proc = cli_background(*args, log=log, env=env)
    try:
        wait_for(lambda: (exp / "sweep.json").exists(), 120, "the manifest", proc, log)
        first = manifest(exp)["trials"][0]["trial_id"]
        wait_for(lambda: (exp / "tensorboard" / first).is_dir() and len(_tb_steps(exp, first)) >= 1, 240,
                 "the first trial's first epoch in TensorBoard", proc, log)
        os.kill(proc.pid, signal.SIGKILL)  # the driver dies mid-sweep; its Ray goes with its session
    finally:
        stop_session(proc.pid)
    killed = json.loads(client.get_object(Bucket=BUCKET, Key=f"{lab}/s3kill/trials/{first}/history.jsonl")["Body"]
                        .read().decode().splitlines()[-1])
    assert killed["epoch"] < EPOCHS, "killed mid-trial"
    logged_before = _tb_steps(exp, first)
    assert 1 <= len(logged_before) < EPOCHS  # the first driver wrote part of the run
    assert not (tmp_path / "exp" / "trials").exists()  # the trial folders live in the bucket
    took = {"until the kill": time.time() - started}
    for name, command in (("resume", ["resume", str(exp), "--num-cpus", "2", "--no-live"]),
                          ("evaluate", ["evaluate", str(exp), "--crop-pct", "0.9", "--num-cpus", "2"]),
                          ("report", ["report", str(exp)])):
        mark = time.time()
        cli(*command, env=env)
        took[name] = time.time() - mark

    df = results(exp)
    assert set(df["status"]) == {"TERMINATED"} and df.set_index("trial_id").loc[first, "restarts"] >= 1
    history = pd.read_parquet(exp / "history.parquet")
    trials = manifest(exp)["trials"]
    for trial, want in zip(trials, reference_runs([t["config"] for t in trials])):  # = a local, uninterrupted run
        rows = history[history["trial_id"] == trial["trial_id"]].sort_values("epoch").to_dict("records")
        assert_same_run(rows, want["history"])
    ev = pd.read_parquet(exp / "evaluations.parquet")
    assert len(ev) == 4 and set(ev["status"]) == {"TERMINATED"}
    assert (exp / "report.html").is_file() and (exp / "report.json").is_file()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{lab}/s3kill/trials/")["Contents"]]
    assert f"{lab}/s3kill/trials/{first}/evaluations/val-crop0.9-res24.json" in keys

    top1 = {t["trial_id"]: [r["top1"] for r in history[history["trial_id"] == t["trial_id"]]
                            .sort_values("epoch").to_dict("records")] for t in trials}
    steps = list(range(1, EPOCHS + 1))
    for tid in top1:  # TensorBoard: two drivers wrote the killed trial's run; every epoch once
        assert _tb_steps(exp, tid) == steps, tid
    from mlflow.tracking import MlflowClient

    mlflow = MlflowClient(f"sqlite:///{exp / 'mlflow.db'}")
    experiment = mlflow.get_experiment_by_name("s3kill")
    found = {r.info.run_name: r for r in mlflow.search_runs([experiment.experiment_id])}
    assert sorted(found) == sorted(top1)
    for tid, run in found.items():
        metric = sorted((m.step, m.value) for m in mlflow.get_metric_history(run.info.run_id, "top1"))
        assert metric == list(zip(steps, top1[tid])), tid  # no duplicate step, no gap
        assert run.info.status == "FINISHED" and run.data.tags["rsb_trial_id"] == tid
        assert run.data.tags["seed_init"] == str(manifest(exp)["trials"][list(top1).index(tid)]["config"]["seed_init"])
    assert json.loads((exp / "wandb" / "rsb-steps.json").read_text()) == {tid: EPOCHS for tid in top1}
    offline = sorted(p.name for p in (exp / "wandb").glob("offline-run-*"))
    assert all(any(p.endswith(f"-s3kill-{tid}") for p in offline) for tid in top1)  # run id = sweep + trial id
    print(f"\nS3 kill/resume: killed at epoch {killed['epoch']}; TensorBoard runs "
          f"{sorted(p.name for p in (exp / 'tensorboard').iterdir())}; MLflow runs "
          f"{ {k: r.info.status for k, r in found.items()} }; seconds: { {k: round(v) for k, v in took.items()} }")
