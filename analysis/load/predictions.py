"""Per-image predictions (DESIGN.md's ``predictions.parquet``): the contract, reading, shaping.

The table has always the eight columns of :data:`analysis.contract.PREDICTION_SCHEMA`, one row per (trial,
evaluation set, crop_pct, test_res, image). It is the ground for per-image test-set noise
(:mod:`analysis.stats.image_noise`) and for test-set bootstrap CIs of a difference.

``<experiment>/predictions.parquet`` is a parquet *dataset*: a folder holding one file per
trial (``<trial_id>.parquet``), because an ImageNet study (Table 9: 120 trials x 50,000
images x 4 crop ratios) is tens of millions of rows and a single file would be rewritten
whole each time a trial finishes. :func:`load_predictions` reads that folder, a single
parquet file with the same columns, or an experiment folder holding either.

One home for the schema: :data:`analysis.contract.PREDICTION_SCHEMA` is the contract. The
trainer may not import ``analysis``, so ``trainer/predictions.py`` writes by its own explicit
list, and ``tests/trainer/test_predictions.py`` asserts that the two agree column by column and
dtype by dtype.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract import (
    EVALUATION_KEY_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTION_KEY,
    PREDICTION_SCHEMA,
    PREDICTIONS_DATASET,
)
from ..errors import AnalysisError, require_columns

PathLike = str | os.PathLike


def load_predictions(path: PathLike) -> pd.DataFrame:
    """Read and validate a predictions table.

    ``path``: an experiment folder (its ``predictions.parquet``), a parquet dataset folder of
    per-trial files, or one parquet file. Returns the eight contract columns with the
    contract's dtypes, sorted by :data:`PREDICTION_KEY`. Raises :class:`AnalysisError` when a
    column is missing, a key repeats, or ``correct`` disagrees with ``pred == target``.
    """
    p = Path(path)
    if p.is_dir() and (p / PREDICTIONS_DATASET).exists():
        p = p / PREDICTIONS_DATASET
    if not p.exists():
        raise AnalysisError(
            f"{p} does not exist; per-image predictions are written by trainer runs of this version "
            f"(each run folder's {PREDICTIONS_DATASET}) and gathered into <experiment>/{PREDICTIONS_DATASET}."
        )
    if p.is_dir() and not any(f.suffix == ".parquet" for f in p.iterdir() if not f.name.startswith((".", "_"))):
        raise AnalysisError(f"{p} holds no parquet files: no trial has finished with per-image predictions yet.")
    try:
        df = pd.read_parquet(p)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise AnalysisError(f"{p} is not a readable parquet file or dataset: {exc}") from None
    df.attrs["source"] = str(p)
    return validate_predictions(df, what=f"the predictions table {p}")


def validate_predictions(df: pd.DataFrame, what: str = "the predictions table") -> pd.DataFrame:
    """The eight contract columns of ``df`` with contract dtypes, sorted by key; errors say what is wrong."""
    require_columns(df, PREDICTION_COLUMNS, what)
    out = df.loc[:, list(PREDICTION_COLUMNS)].copy()
    for col in PREDICTION_COLUMNS:
        if out[col].isna().any():
            raise AnalysisError(f"{what}: column {col!r} has {int(out[col].isna().sum())} missing values.")
    try:
        out = out.astype(PREDICTION_SCHEMA)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{what}: columns do not have the contract's types {PREDICTION_SCHEMA}: {exc}") from None
    dup = out.duplicated(list(PREDICTION_KEY))
    if dup.any():
        first = out.loc[dup].iloc[0]
        raise AnalysisError(
            f"{what}: {int(dup.sum())} rows repeat a (trial_id, eval_set, crop_pct, test_res, image) key, "
            f"e.g. {dict(first[list(PREDICTION_KEY)])}; gather each trial's file once."
        )
    wrong = out["correct"].to_numpy() != (out["pred"].to_numpy() == out["target"].to_numpy())
    if wrong.any():
        raise AnalysisError(f"{what}: 'correct' disagrees with pred == target on {int(wrong.sum())} rows.")
    out = out.sort_values(list(PREDICTION_KEY), kind="stable").reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


def correctness_matrix(
    predictions: pd.DataFrame,
    trial_ids: Iterable[str] | None = None,
    eval_set: str | None = None,
    crop_pct: float | None = None,
    test_res: int | None = None,
    what: str = "this evaluation",
) -> pd.DataFrame:
    """Trials x images boolean matrix (index ``trial_id``, columns ``image``) of one evaluation.

    The rows of ``predictions`` are first narrowed to ``trial_ids`` and to the given
    ``eval_set``/``crop_pct``/``test_res`` (None: any); what remains must be one evaluation
    (one eval_set, crop_pct, test_res), and every trial must have been scored on the same
    images, else the per-image rates would mix test sets (:class:`AnalysisError` says which).
    Feed two of these to :func:`analysis.paired_image_bootstrap`.
    """
    require_columns(predictions, ("trial_id", "image", "correct", *EVALUATION_KEY_COLUMNS), what)
    keep = np.ones(len(predictions), dtype=bool)
    if trial_ids is not None:
        wanted = [str(t) for t in trial_ids]
        missing = sorted(set(wanted) - set(predictions["trial_id"].astype(str)))
        if missing:
            raise AnalysisError(f"{what}: no predictions for trials {', '.join(missing[:5])}; were they run with "
                                "a trainer that writes predictions.parquet, and gathered?")
        keep &= predictions["trial_id"].astype(str).isin(wanted).to_numpy()
    for col, value in (("eval_set", eval_set), ("crop_pct", crop_pct), ("test_res", test_res)):
        if value is not None:
            keep &= np.isclose(predictions[col], value) if col == "crop_pct" else (predictions[col] == value).to_numpy()
    rows = predictions.loc[keep]
    evaluations = rows.loc[:, list(EVALUATION_KEY_COLUMNS)].drop_duplicates()
    if len(evaluations) != 1:
        found = "; ".join(", ".join(f"{c}={v}" for c, v in zip(EVALUATION_KEY_COLUMNS, e))
                          for e in evaluations.itertuples(index=False))
        raise AnalysisError(f"{what}: expected the rows of one evaluation, found {len(evaluations)} "
                            f"({found or 'none'}); pass eval_set=, crop_pct=, test_res= to pick one.")
    wide = rows.pivot(index="trial_id", columns="image", values="correct")
    if wide.isna().to_numpy().any():
        short = wide.index[wide.isna().any(axis=1)].tolist()
        raise AnalysisError(
            f"{what}: trials {', '.join(map(str, short[:5]))} were scored on a different set of images "
            f"than the others ({wide.shape[1]} images in all); compare only trials evaluated on the same set."
        )
    return wide.astype(bool)


def per_trial_top1(predictions: pd.DataFrame) -> pd.DataFrame:
    """Top-1 (percent) and image count of each (trial, evaluation) from the per-image rows."""
    keys = ["trial_id", *EVALUATION_KEY_COLUMNS]
    g = predictions.groupby(keys, sort=True, observed=True)["correct"]
    out = g.agg(top1="mean", n_images="size").reset_index()
    out["top1"] = 100.0 * out["top1"].astype(float)
    return out
