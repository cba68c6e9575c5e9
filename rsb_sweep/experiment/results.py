"""The results table (DESIGN.md's contract) and the history table, built from trial folders.

The column lists are the contract's, from :mod:`analysis.contract` (their one home).
One row per trial of the manifest, always, whatever its state: a trial that failed keeps its
row with status ERROR and the error text; one not yet run is PENDING. The tables are written
by :mod:`rsb_sweep.experiment.tables`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import pandas as pd

from analysis.contract import (ERROR, HISTORY_COLUMNS, HYPER_COLUMNS, IDENTITY_COLUMNS, METRIC_COLUMNS, PAPER_MODEL,
                              PRETRAIN_COLUMNS,
                              RESULT_COLUMNS, SEED_COLUMNS, TERMINATED, extra_top1_columns, with_contract_dtypes,
                              with_extra_sets)
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.store import TrialFiles


def trial_row(experiment: str, trial_id: str, config: Mapping[str, Any], files: TrialFiles,
              params: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """One results row: the config's identity and hyper-parameters, then what the trial folder says.

    A fine-tuning (``rsb-sweep transfer``) also carries its source model's columns, from the
    manifest trial's ``params`` (:func:`rsb_sweep.spec.transfer.pretrain_params`)."""
    row: dict[str, Any] = {"experiment": experiment, "trial_id": trial_id, "status": files.status}
    for key in IDENTITY_COLUMNS[3:] + SEED_COLUMNS + HYPER_COLUMNS:
        row[key] = config.get(key)
    row.update({key: params[key] for key in (*PRETRAIN_COLUMNS, PAPER_MODEL) if params and key in params})
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
        error=(files.error or {}).get("error") if files.status == ERROR else None,
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
    rows = [trial_row(exp.name, t["trial_id"], t["config"], files[t["trial_id"]], with_paper_model(exp, t))
            for t in exp.trials]
    return results_frame(rows)


def with_paper_model(exp: Experiment, trial: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """A manifest trial's ``params`` with the paper's name of its model (:data:`PAPER_MODEL`), when the
    sweep file's ``digits_models:`` gives one for the model the trial names (on digits its stand-in
    runs, with ``--data`` the model as named: the label is the paper's either way)."""
    params = trial.get("params")
    stand_ins = (exp.manifest.get("spec") or {}).get("digits_models") or {}
    entry = stand_ins.get(str((params or {}).get("model"))) if params else None
    if not entry or not entry.get("paper"):
        return params
    return {**params, PAPER_MODEL: str(entry["paper"])}


def results_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows to a frame with the contract's columns in order and stable dtypes (also when empty); the
    pretraining columns whenever a row has them (a transfer), right after ``dataset``."""
    extra = extra_top1_columns(k for r in rows for k in r)
    columns = with_extra_sets(RESULT_COLUMNS, extra)
    if any(k in r for r in rows for k in PRETRAIN_COLUMNS):
        at = columns.index("dataset") + 1
        columns = [*columns[:at], *(c for c in PRETRAIN_COLUMNS if c not in columns),
                   *(c for c in columns[at:])]
    if any(PAPER_MODEL in r for r in rows):
        at = columns.index("model") + 1
        columns = [*columns[:at], PAPER_MODEL, *columns[at:]]
    return with_contract_dtypes(pd.DataFrame(rows, columns=columns))


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
