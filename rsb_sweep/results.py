"""The results table (DESIGN.md's contract) and the history table, built from trial folders.

One row per trial of the manifest, always, whatever its state: a trial that failed keeps its
row with status ERROR and the error text; one not yet run is PENDING. Both tables are
written atomically (temporary file, then rename), so a reader, or a kill during a write,
sees the previous complete table or the new one.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping, Optional

import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from rsb_sweep.experiment import Experiment, atomic_write_bytes
from rsb_sweep.store import ERROR_STATUS, TERMINATED, TrialFiles

RESULTS_PARQUET, RESULTS_CSV, HISTORY_PARQUET = "results.parquet", "results.csv", "history.parquet"

IDENTITY = ("experiment", "trial_id", "status", "recipe", "model", "dataset")
SEEDS = ("seed", "seed_init", "seed_data", "seed_aug")
HYPER = ("lr", "weight_decay", "loss", "aug_repeats", "crop_pct", "smoothing", "drop_path", "mixup", "cutmix",
         "epochs", "batch_size", "train_res", "test_res")
METRICS = ("top1", "top5", "eval_loss")
AFTER_METRICS = ("n_val", "epochs_done", "restarts", "train_hours", "n_workers", "device", "peak_mem_gb", "error")

#: The contract's columns, in order; ``top1_<set>`` columns go right after ``eval_loss``.
RESULT_COLUMNS = IDENTITY + SEEDS + HYPER + METRICS + AFTER_METRICS

HISTORY_COLUMNS = ("experiment", "trial_id", "epoch", "lr", "train_loss", "top1", "top5", "eval_loss",
                   "epoch_seconds", "images_per_second")

_FLOAT = ("lr", "weight_decay", "crop_pct", "smoothing", "drop_path", "mixup", "cutmix", "top1", "top5", "eval_loss",
          "train_hours", "peak_mem_gb")
_INT = ("seed", "seed_init", "seed_data", "seed_aug", "aug_repeats", "epochs", "batch_size", "train_res", "test_res",
        "epochs_done", "restarts")
_NULLABLE_INT = ("n_val", "n_workers")
_TEXT = ("experiment", "trial_id", "status", "recipe", "model", "dataset", "loss", "device", "error")


def trial_row(experiment: str, trial_id: str, config: Mapping[str, Any], files: TrialFiles,
              fallback_error: Optional[str] = None) -> dict[str, Any]:
    """One results row: the config's identity and hyper-parameters, then what the trial folder says."""
    row: dict[str, Any] = {"experiment": experiment, "trial_id": trial_id, "status": files.status}
    for key in IDENTITY[3:] + SEEDS + HYPER:
        row[key] = config.get(key)
    metrics = files.metrics or {}
    done = files.status == TERMINATED
    for key in METRICS:
        row[key] = metrics.get(key) if done else math.nan
    for key, value in metrics.items():
        if key.startswith("top1_") and done:
            row[key] = value
    history_seconds = sum(float(r.get("epoch_seconds", 0.0)) for r in files.history)
    last_history = files.history[-1] if files.history else {}
    row.update(
        n_val=metrics.get("n_val", last_history.get("n_val")),
        epochs_done=files.epochs_done,
        restarts=int(metrics.get("restarts", _restarts_from_runs(files))),
        train_hours=metrics.get("train_hours", history_seconds / 3600.0 if files.history else math.nan),
        n_workers=metrics.get("n_workers", _last_run(files).get("n_workers")),
        device=metrics.get("device", _last_run(files).get("device")),
        peak_mem_gb=metrics.get("peak_mem_gb", math.nan),
        error=(files.error or {}).get("error") if files.status == ERROR_STATUS else None,
    )
    if row["error"] is None and fallback_error and files.status != TERMINATED:
        row["error"] = fallback_error
    return row


def _restarts_from_runs(files: TrialFiles) -> int:
    """Restorations so far: runs that started from a checkpoint."""
    return sum(1 for r in files.runs if r.get("resumed_from_epoch"))


def _last_run(files: TrialFiles) -> dict[str, Any]:
    return files.runs[-1] if files.runs else {}


def build_results(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """The results table of ``exp``: one row per manifest trial, contract columns and dtypes."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    rows = [trial_row(exp.name, t["trial_id"], t["config"], files[t["trial_id"]]) for t in exp.trials]
    return results_frame(rows)


def results_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows to a frame with the contract's columns in order and stable dtypes (also when empty)."""
    extra = sorted({k for r in rows for k in r if k.startswith("top1_")})
    at = RESULT_COLUMNS.index("eval_loss") + 1
    columns = list(RESULT_COLUMNS[:at]) + extra + list(RESULT_COLUMNS[at:])
    df = pd.DataFrame(rows, columns=columns)
    for col in _FLOAT + tuple(extra):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in _INT:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in _NULLABLE_INT:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in _TEXT:
        df[col] = df[col].astype("string")
    return df


def build_history(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """One row per (trial, epoch) from each trial's history.jsonl."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    rows = []
    for trial_id in exp.trial_ids:
        for r in files[trial_id].history:
            rows.append({"experiment": exp.name, "trial_id": trial_id, **r})
    extra = sorted({k for r in rows for k in r if k.startswith("top1_")})
    df = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS) + extra + ["n_val"])
    df["epoch"] = pd.to_numeric(df["epoch"]).astype("Int64")
    df["n_val"] = pd.to_numeric(df["n_val"]).astype("Int64")
    for col in HISTORY_COLUMNS[3:] + tuple(extra):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("experiment", "trial_id"):
        df[col] = df[col].astype("string")
    return df


def write_tables(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """(Re)write results.parquet, results.csv and history.parquet atomically; return the results."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    results = build_results(exp, files)
    history = build_history(exp, files)
    write_frame(results, exp.root / RESULTS_PARQUET)
    write_frame(results, exp.root / RESULTS_CSV)
    write_frame(history, exp.root / HISTORY_PARQUET)
    gather_predictions(exp, files)
    return results


def gather_predictions(exp: Experiment, files: Mapping[str, TrialFiles]) -> None:
    """Copy each finished trial's per-image predictions into ``<experiment>/predictions.parquet/``.

    That folder is a parquet dataset, one ``<trial_id>.parquet`` per trial (written once, then
    only when the trial's file is newer), so a growing sweep never rewrites its millions of
    rows; ``analysis.load_predictions`` reads it. ``trial_id`` is set from the manifest
    (the trainer writes its run folder's name there).
    """
    from trainer.predictions import PREDICTIONS_FILE, with_trial_id, write_predictions

    for trial_id, f in files.items():
        src = exp.store.fs.get_file_info(exp.store.path(trial_id, PREDICTIONS_FILE))
        if f.status != TERMINATED or src.type != pafs.FileType.File:
            continue
        dest = exp.root / PREDICTIONS_FILE / f"{trial_id}.parquet"
        if dest.is_file() and src.mtime_ns is not None and dest.stat().st_mtime_ns >= src.mtime_ns:
            continue
        dest.parent.mkdir(exist_ok=True)
        write_predictions(dest, with_trial_id(pq.read_table(src.path, filesystem=exp.store.fs), trial_id))


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Serialise in memory, then write atomically (parquet or csv by suffix)."""
    buf = io.BytesIO()
    if Path(path).suffix == ".csv":
        buf.write(df.to_csv(index=False).encode())
    else:
        df.to_parquet(buf, index=False)
    atomic_write_bytes(Path(path), buf.getvalue())
