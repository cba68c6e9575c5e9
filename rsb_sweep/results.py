"""The results table (DESIGN.md's contract) and the history table, built from trial folders.

The column lists are the contract's, from :mod:`analysis.contract` (their one home).
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

from analysis.contract import (HISTORY_COLUMNS, HISTORY_STEM, HYPER_COLUMNS, IDENTITY_COLUMNS, METRIC_COLUMNS,
                              RESULT_COLUMNS, RESULTS_STEM, SEED_COLUMNS, extra_top1_columns, with_contract_dtypes,
                              with_extra_sets)
from rsb_sweep.experiment import Experiment
from rsb_sweep.store import ERROR_STATUS, PREDICTIONS, TERMINATED, TrialFiles
from trainer.files import atomic_write_bytes

RESULTS_PARQUET, RESULTS_CSV = f"{RESULTS_STEM}.parquet", f"{RESULTS_STEM}.csv"
HISTORY_PARQUET = f"{HISTORY_STEM}.parquet"


def trial_row(experiment: str, trial_id: str, config: Mapping[str, Any], files: TrialFiles) -> dict[str, Any]:
    """One results row: the config's identity and hyper-parameters, then what the trial folder says."""
    row: dict[str, Any] = {"experiment": experiment, "trial_id": trial_id, "status": files.status}
    for key in IDENTITY_COLUMNS[3:] + SEED_COLUMNS + HYPER_COLUMNS:
        row[key] = config.get(key)
    metrics = files.metrics or {}
    done = files.status == TERMINATED
    for key in METRIC_COLUMNS:
        row[key] = metrics.get(key) if done else math.nan
    if done:
        row.update({key: metrics[key] for key in extra_top1_columns(metrics)})
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
    extra = extra_top1_columns(k for r in rows for k in r)
    return with_contract_dtypes(pd.DataFrame(rows, columns=with_extra_sets(RESULT_COLUMNS, extra)))


def build_history(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """One row per (trial, epoch) from each trial's history.jsonl."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    rows = []
    for trial_id in exp.trial_ids:
        for r in files[trial_id].history:
            rows.append({"experiment": exp.name, "trial_id": trial_id, **r})
    extra = extra_top1_columns(k for r in rows for k in r)
    df = pd.DataFrame(rows, columns=with_extra_sets(HISTORY_COLUMNS, extra))
    for col in ("epoch", "n_val"):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    for col in [c for c in df.columns if c not in ("experiment", "trial_id", "epoch", "n_val")]:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("experiment", "trial_id"):
        df[col] = df[col].astype("string")
    return df


def write_tables(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """(Re)write results.parquet, results.csv, history.parquet (and evaluations.parquet when the
    experiment evaluates) atomically; return the results."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    results = build_results(exp, files)
    history = build_history(exp, files)
    write_frame(results, exp.root / RESULTS_PARQUET)
    write_frame(results, exp.root / RESULTS_CSV)
    write_frame(history, exp.root / HISTORY_PARQUET)
    gather_predictions(exp, files)
    if exp.evaluate:  # train once, evaluate many: the evaluations table follows the trials' states
        from rsb_sweep.evaluations import write_evaluations

        write_evaluations(exp, files)
    return results


def gather_predictions(exp: Experiment, files: Mapping[str, TrialFiles]) -> None:
    """Copy each finished trial's per-image predictions into ``<experiment>/predictions.parquet/``.

    That folder is a parquet dataset, one ``<trial_id>.parquet`` per trial (written once, then
    only when the trial's file is newer), so a growing sweep never rewrites its millions of
    rows; ``analysis.load_predictions`` reads it. ``trial_id`` is set from the manifest
    (the trainer writes its run folder's name there).
    """
    from trainer.predictions import with_trial_id, write_predictions

    for trial_id, f in files.items():
        src = exp.store.fs.get_file_info(exp.store.path(trial_id, PREDICTIONS))
        if f.status != TERMINATED or src.type != pafs.FileType.File:
            continue
        dest = exp.root / PREDICTIONS / f"{trial_id}.parquet"
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
