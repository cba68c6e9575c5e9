"""Provenance of a results table (the paper's Table 3: what ran, with what, on what, at what
cost) and the group selection helpers the report's sections share.

Recipe values come from the results rows themselves (what actually ran), never from a copied
table of the paper's recipes: trainer/recipes.py is their one home and analysis may not import it.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contract import CONFIG_COLUMNS, SEED_COLUMNS
from ..load.io import PathLike
from .frames import split_usable

_VERSIONED = ("rsb-sweep", "numpy", "scipy", "pandas", "statsmodels", "matplotlib", "torch",
              "timm", "ray", "nbclient", "nbconvert")
_MAX_GROUPS_PLOTTED = 6


def versions() -> dict[str, str]:
    """Versions of the packages that produced the numbers (without importing them)."""
    out = {"python": platform.python_version(), "executable": sys.executable,
           "platform": platform.platform()}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def recipe_settings(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per recipe, the hyper-parameters its trials ran with (one value, or the sorted list of
    values when they vary), read from the results rows."""
    if "recipe" not in df.columns:
        return {}
    hp = [c for c in CONFIG_COLUMNS if c in df.columns and c != "recipe"]
    out: dict[str, dict[str, Any]] = {}
    for rec, rows in df.groupby(df["recipe"].astype(str).str.lower(), sort=True):
        vals: dict[str, Any] = {}
        for c in hp:
            v = sorted(rows[c].dropna().unique().tolist(), key=str)
            if v:
                vals[c] = v[0] if len(v) == 1 else v
        out[rec] = vals
    return out


def provenance(df: pd.DataFrame, experiment_dir: PathLike, metric: str = "top1") -> dict[str, Any]:
    """What ran, with what, on what, at what cost (the paper's Table 3), and what was excluded
    (:func:`analysis.present.conclusions.describe_provenance` writes it as Markdown)."""
    exp = Path(experiment_dir)
    names = sorted(df["experiment"].dropna().astype(str).unique()) if "experiment" in df else []
    usable, excluded = split_usable(df, metric)
    hp = [c for c in CONFIG_COLUMNS if c in df.columns]
    status_counts = df["status"].astype(str).value_counts().to_dict() if "status" in df else {}
    excl_cols = [c for c in ("trial_id", "status", "reason", "error") if c in excluded.columns]
    return {
        "experiment": names or [exp.name],
        "source": str(df.attrs.get("source", exp)),
        "n_trials": len(df),
        "n_used": len(usable),
        "status_counts": status_counts,
        "excluded": excluded[excl_cols].to_dict(orient="records"),
        "constant_hyperparameters": {c: df[c].dropna().iloc[0] for c in hp if df[c].nunique() == 1},
        "varied_hyperparameters": {c: sorted(df[c].dropna().unique().tolist(), key=str) for c in hp
                                   if df[c].nunique() > 1},
        "recipes": recipe_settings(df),
        "seeds": _seed_ranges(df),
        "hardware": {c: sorted(df[c].dropna().unique().tolist(), key=str) for c in ("device", "n_workers")
                     if c in df.columns},
        "versions": versions(),
        "cost": _cost_table(df),
    }


def _seed_ranges(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per seed column: how many distinct seeds, the smallest and the largest."""
    seeds = {}
    for c in SEED_COLUMNS:
        if c in df.columns:
            s = pd.to_numeric(df[c], errors="coerce").dropna()
            seeds[c] = {"distinct": int(s.nunique()),
                        "min": s.min() if len(s) else None, "max": s.max() if len(s) else None}
    return seeds


def _cost_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: trials, GPU/CPU hours (total, per trial), workers, peak memory."""
    cols = [c for c in ("train_hours", "n_workers", "peak_mem_gb") if c in df.columns]
    if not cols:
        return pd.DataFrame()
    by = [c for c in ("recipe", *[c for c in CONFIG_COLUMNS if c != "recipe"])
          if c in df.columns and df[c].nunique() > 1] or None
    g = df.groupby(by, dropna=False) if by else df.assign(_all="all trials").groupby("_all")
    agg = {"trials": ("trial_id", "count")}
    if "train_hours" in cols:
        agg["hours_total"] = ("train_hours", "sum")
        agg["hours_per_trial"] = ("train_hours", "mean")
    if "n_workers" in cols:
        agg["workers"] = ("n_workers", "max")
    if "peak_mem_gb" in cols:
        agg["peak_mem_gb"] = ("peak_mem_gb", "max")
    out = g.agg(**agg).reset_index()
    if "train_hours" in cols and "n_workers" in cols:
        wh = (df["train_hours"] * df["n_workers"]).groupby(
            [df[c] for c in by] if by else np.zeros(len(df))).sum()
        out["worker_hours"] = wh.to_numpy()
    return out.rename(columns={"_all": "group"})


def distribution_groups(summary: pd.DataFrame, by: list[str], min_n: int = 3,
                        max_groups: int = _MAX_GROUPS_PLOTTED) -> tuple[list[dict], str]:
    """Groups worth a seed-distribution plot (≥ ``min_n`` seeds, the largest ``max_groups``)."""
    s = summary[summary["n"] >= min_n].sort_values("n", ascending=False, kind="stable")
    note = ""
    if len(s) > max_groups:
        note = f"showing the {max_groups} configurations with the most seeds of {len(s)}"
        s = s.head(max_groups)
    return [dict(zip(by, (r[c] for c in by))) for _, r in s.iterrows()], note


def restrict(df: pd.DataFrame, groups: list[dict]) -> pd.DataFrame:
    """Rows of ``df`` belonging to any of ``groups`` (dicts column → value)."""
    if not groups or not groups[0]:
        return df
    mask = np.zeros(len(df), dtype=bool)
    for g in groups:
        m = np.ones(len(df), dtype=bool)
        for c, v in g.items():
            m &= (df[c].isna() if pd.isna(v) else (df[c] == v)).to_numpy()
        mask |= m
    return df[mask]
