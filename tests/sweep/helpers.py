"""Helpers for the sweep tests: run the CLI, read an experiment, run the trainer alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd

RAY_BIN = Path(sys.executable).with_name("ray")

#: A trial of a few hundred milliseconds: the tests exercise the driver, not the recipe.
FAST = ["--epochs", "2", "--max-steps", "2"]

#: The results-table contract of DESIGN.md, spelled out independently of rsb_sweep.experiment.results.
CONTRACT = [
    "experiment", "trial_id", "status", "recipe", "model", "dataset", "seed", "seed_init", "seed_data", "seed_aug",
    "lr", "weight_decay", "loss", "aug_repeats", "crop_pct", "smoothing", "drop_path", "mixup", "cutmix", "epochs",
    "batch_size", "train_res", "test_res", "top1", "top5", "eval_loss", "n_val", "epochs_done", "restarts",
    "train_hours", "n_workers", "device", "peak_mem_gb", "error",
]


def cli(*args: str, timeout: float = 300, check: bool = True, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``python -m rsb_sweep ARGS`` in a subprocess (its own Ray, shut down when it exits)."""
    proc = subprocess.run([sys.executable, "-m", "rsb_sweep", *args], capture_output=True, text=True,
                          timeout=timeout, env={**(env or os.environ), "COLUMNS": "200"})
    if check and proc.returncode != 0:
        raise AssertionError(f"rsb-sweep {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def cli_background(*args: str, log: Path, env: Optional[dict[str, str]] = None) -> subprocess.Popen:
    """The CLI in the background, in its own session (so that a test can stop all it started, Ray
    included, after a kill)."""
    fh = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "rsb_sweep", *args], stdout=fh, stderr=subprocess.STDOUT,
                            start_new_session=True, env=dict(env or os.environ))


def manifest(exp: Path) -> dict[str, Any]:
    return json.loads((exp / "sweep.json").read_text())


def trial_dir(exp: Path, trial_id: str) -> Path:
    return (exp / manifest(exp)["trials_root"]) / trial_id


def runs(exp: Path, trial_id: str) -> list[dict[str, Any]]:
    path = trial_dir(exp, trial_id) / "runs.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def history_lines(exp: Path, trial_id: str) -> int:
    path = trial_dir(exp, trial_id) / "history.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def results(exp: Path) -> pd.DataFrame:
    return pd.read_parquet(exp / "results.parquet")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, proc: Optional[subprocess.Popen] = None,
             log: Optional[Path] = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {what}: {log.read_text()[-3000:] if log else ''}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}: {log.read_text()[-3000:] if log else ''}")


def wait_until_first_trial_mid_epoch(exp: Path, proc: subprocess.Popen, log: Path, epochs: int,
                                     timeout: float, what: str) -> str:
    """Wait until the first trial of the sweep ``proc`` runs has finished an epoch and begun the
    next (not its last): the moment to kill a process mid-epoch. Returns that trial's id."""
    wait_for(lambda: (exp / "sweep.json").exists(), 120, "the manifest", proc, log)
    tid = manifest(exp)["trials"][0]["trial_id"]
    wait_for(lambda: history_lines(exp, tid) >= 1, timeout, what, proc, log)
    time.sleep(0.3)  # into the next epoch
    assert history_lines(exp, tid) < epochs
    return tid


_REFERENCE = textwrap.dedent("""
    import json, sys, torch
    torch.set_num_threads(1)  # as the driver does in a one-CPU trial
    from trainer import TrainConfig, train
    out = []
    for cfg in json.loads(sys.stdin.read()):
        r = train(TrainConfig.from_dict(cfg), log=lambda line: None)
        out.append({"metrics": r.metrics, "history": r.history})
    print("REFERENCE" + json.dumps(out))
""")


def reference_runs(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Train each config uninterrupted in a fresh process, outside Ray: the numbers a trial must reproduce."""
    proc = subprocess.run([sys.executable, "-c", _REFERENCE], input=json.dumps(configs), capture_output=True,
                          text=True, timeout=600, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("REFERENCE"))
    return json.loads(line[len("REFERENCE"):])


def history_rows(exp: Path, trial_id: str) -> list[dict[str, Any]]:
    path = trial_dir(exp, trial_id) / "history.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()]


DETERMINISTIC = ("top1", "top5", "eval_loss", "train_loss", "lr", "n_val")


def assert_same_run(history: list[dict[str, Any]], reference: list[dict[str, Any]]) -> None:
    """Epoch by epoch, the computed quantities are identical (timings are not compared)."""
    assert len(history) == len(reference)
    for got, want in zip(history, reference):
        assert {k: got[k] for k in DETERMINISTIC} == {k: want[k] for k in DETERMINISTIC}
