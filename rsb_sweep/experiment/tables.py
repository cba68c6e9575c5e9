"""Writing an experiment's tables: results.parquet, results.csv, history.parquet, evaluations.parquet,
and the per-image predictions gathered into ``predictions.parquet/``.

Every table is written atomically (serialised in memory, temporary file, then rename), so a
reader, or a kill during a write, sees the previous complete table or the new one. The rows
come from the builders (:mod:`rsb_sweep.experiment.results`, :mod:`rsb_sweep.experiment.evaluations`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Mapping, Optional

import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analysis.contract import (EVALUATIONS_PARQUET, HISTORY_PARQUET, PREDICTIONS_DATASET, RESULTS_CSV, RESULTS_PARQUET,
                              TERMINATED)
from rsb_sweep.experiment.evaluations import build_evaluations
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.results import build_history, build_results
from rsb_sweep.experiment.store import EVALUATIONS_DIR, PREDICTIONS, TrialFiles
from trainer.files import atomic_write_bytes


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
        write_evaluations(exp, files)
    return results


def write_evaluations(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> Optional[pd.DataFrame]:
    """(Re)write ``evaluations.parquet`` atomically and gather the predictions; None for an
    experiment without an evaluation plan (nothing is written)."""
    if not exp.evaluate:
        return None
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    table = build_evaluations(exp, files)
    write_frame(table, exp.root / EVALUATIONS_PARQUET)
    gather_evaluation_predictions(exp, files)
    return table


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
        dest = exp.root / PREDICTIONS_DATASET / f"{trial_id}.parquet"
        if dest.is_file() and src.mtime_ns is not None and dest.stat().st_mtime_ns >= src.mtime_ns:
            continue
        dest.parent.mkdir(exist_ok=True)
        write_predictions(dest, with_trial_id(pq.read_table(src.path, filesystem=exp.store.fs), trial_id))


def gather_evaluation_predictions(exp: Experiment, files: Mapping[str, TrialFiles]) -> None:
    """Copy each evaluation's per-image predictions to ``<experiment>/predictions.parquet/<trial>.<key>.parquet``
    (once; the trial's own setting is already there as ``<trial>.parquet``)."""
    from trainer.predictions import with_trial_id, write_predictions

    store = exp.store
    for trial_id, f in files.items():
        for stem, record in f.evaluations.items():
            if "error" in record:
                continue
            dest = exp.root / PREDICTIONS_DATASET / f"{trial_id}.{stem}.parquet"
            if dest.is_file():
                continue
            data = store.read_bytes(store.path(trial_id, EVALUATIONS_DIR, f"{stem}.parquet"))
            if data is None:
                continue
            dest.parent.mkdir(exist_ok=True)
            write_predictions(dest, with_trial_id(pq.read_table(io.BytesIO(data)), trial_id))


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Serialise in memory, then write atomically (parquet or csv by suffix)."""
    buf = io.BytesIO()
    if Path(path).suffix == ".csv":
        buf.write(df.to_csv(index=False).encode())
    else:
        df.to_parquet(buf, index=False)
    atomic_write_bytes(Path(path), buf.getvalue())
