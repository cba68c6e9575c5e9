"""Reading results tables (DESIGN.md's contract) from an experiment folder, parquet or csv."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..contract import (
    CONFIG_COLUMNS,
    EVALUATION_SOURCES,
    EVALUATIONS_STEM,
    HISTORY_STEM,
    PRETRAIN_DATASET,
    PRETRAIN_RECIPE,
    RESULT_COLUMNS,
    RESULTS_STEM,
)
from ..errors import AnalysisError, require_columns

#: Columns every results table must have for the analysis to run at all.
REQUIRED_COLUMNS = ("trial_id", "status", "seed", "top1")

#: Every column of the contract (DESIGN.md), for reference; only REQUIRED_COLUMNS are enforced.
CONTRACT_COLUMNS = RESULT_COLUMNS

PathLike = str | os.PathLike


def table_file(path: PathLike, stem: str) -> Path:
    p = Path(path)
    if p.is_dir():
        for ext in (".parquet", ".csv"):
            if (p / f"{stem}{ext}").is_file():
                return p / f"{stem}{ext}"
        raise AnalysisError(f"{p} has neither {stem}.parquet nor {stem}.csv.")
    if not p.exists():
        raise AnalysisError(f"{p} does not exist.")
    if p.suffix not in (".parquet", ".csv"):
        raise AnalysisError(f"{p}: expected an experiment folder, a .parquet or a .csv file.")
    return p


def _read(p: Path) -> pd.DataFrame:
    return pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)


def load_results(path: PathLike, required: tuple[str, ...] = REQUIRED_COLUMNS) -> pd.DataFrame:
    """Read a results table: an experiment folder (results.parquet, else results.csv) or a file.

    Returns every row, whatever its status (the statistics filter and count them).
    Raises AnalysisError naming the missing ``required`` columns, or for an empty table.
    """
    p = table_file(path, RESULTS_STEM)
    df = _read(p)
    if len(df) == 0:
        raise AnalysisError(f"{p} is empty: no trials to analyse.")
    require_columns(df, required, f"the results table {p}")
    df.attrs["source"] = str(p)
    return df


def load_history(path: PathLike) -> pd.DataFrame:
    """Read history.parquet (or .csv) from an experiment folder or a file: one row per (trial, epoch)."""
    p = table_file(path, HISTORY_STEM)
    df = _read(p)
    require_columns(df, ("trial_id", "epoch"), f"the history table {p}")
    df.attrs["source"] = str(p)
    return df


#: Columns every evaluations table must have for the paired analysis (all are in the contract).
EVALUATION_REQUIRED = ("trial_id", "eval_set", "crop_pct", "test_res", "top1", "status", "source", "recipe")


def evaluations_file(path: PathLike) -> Path | None:
    """``<folder>/evaluations.parquet`` (else ``.csv``) of an experiment folder, or of the folder
    holding a results file; None when it has neither."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    for ext in (".parquet", ".csv"):
        if (folder / f"{EVALUATIONS_STEM}{ext}").is_file():
            return folder / f"{EVALUATIONS_STEM}{ext}"
    return None


def load_evaluations(path: PathLike, required: tuple[str, ...] = EVALUATION_REQUIRED) -> pd.DataFrame:
    """Read an evaluations table: an experiment folder (evaluations.parquet, else .csv) or a file.

    One row per (trial, eval set, crop_pct, test_res), whatever its status (the paired
    statistics count the rows they exclude). Raises AnalysisError naming the file: no such
    table, an empty one, missing ``required`` columns, or a ``source`` other than
    ``training``/``evaluation``.
    """
    p = Path(path)
    if p.is_dir() and evaluations_file(p) is None:
        raise AnalysisError(f"{p} has no {EVALUATIONS_STEM}.parquet: `rsb-sweep evaluate {p} --crop-pct …` "
                            "writes it.")
    p = table_file(p, EVALUATIONS_STEM)
    df = _read(p)
    if len(df) == 0:
        raise AnalysisError(f"{p} is empty: no evaluations to analyse; rerun `rsb-sweep evaluate` on the "
                            "experiment, or delete the file to report without them.")
    require_columns(df, required, f"the evaluations table {p}")
    sources = df["source"].astype("string")
    bad = sorted(set(sources.fillna("<missing>")) - set(EVALUATION_SOURCES))
    if bad:
        raise AnalysisError(f"{p}: column source holds {', '.join(map(repr, bad))}; each row's source must be "
                            f"one of {', '.join(EVALUATION_SOURCES)} (the contract in analysis/contract.py).")
    df.attrs["source"] = str(p)
    return df


def metric_columns(df: pd.DataFrame, base: str = "top1") -> list[str]:
    """``base`` followed by the extra evaluation sets present (``top1_real``, ``top1_v2`` …)."""
    extra = sorted(c for c in df.columns if c.startswith(f"{base}_"))
    return [base] + extra if base in df.columns else extra


def config_columns(df: pd.DataFrame, candidates: tuple[str, ...] = CONFIG_COLUMNS) -> list[str]:
    """Configuration columns that take more than one value: the groups a study compares.

    A column that is constant within each recipe (the lr, drop_path … of A1/A2/A3 side by side)
    is part of the recipe, not a factor of its own: when ``recipe`` varies (and is a candidate)
    such columns are left out, so that the groups are named by recipe and a study of recipes is
    one factor.
    """
    varying = [c for c in candidates if c in df.columns and df[c].nunique(dropna=True) > 1]
    if PRETRAIN_RECIPE in df.columns:
        return _transfer_factors(df, varying)
    if "recipe" in varying:
        within = df.groupby("recipe", dropna=False)
        varying = [c for c in varying if c == "recipe" or bool((within[c].nunique(dropna=True) > 1).any())]
    return varying


#: What a transfer table compares (DESIGN.md): the target (``dataset``), the pretraining recipe,
#: the fine-tuning recipe; the source's trial and seed are seed-like and never candidates.
TRANSFER_ANCHORS = ("dataset", PRETRAIN_RECIPE, "recipe", PRETRAIN_DATASET)


def _transfer_factors(df: pd.DataFrame, varying: list[str]) -> list[str]:
    """The factors of a transfer table (one with ``pretrain_recipe``): the anchors that vary, then
    the other columns that vary within some combination of them (a per-target preset's epochs or
    resolution is part of the target, not a factor of its own)."""
    anchors = [c for c in TRANSFER_ANCHORS if c in varying]
    if not anchors:
        return varying
    within = df.groupby(anchors, dropna=False)
    rest = [c for c in varying if c not in anchors and bool((within[c].nunique(dropna=True) > 1).any())]
    return anchors + rest
