"""Tables for people: a section's table (report.json's columns) as the report shows it.

report.json keeps the column names and every digit; the HTML and the notebook show the same rows
through :func:`readable`: a header with its unit for each column (:data:`HEADERS`, keyed by
report.json's column names), no index column, durations in the unit that fits (s, min, h),
p-values as :func:`~analysis.text.formatting.fmt_p` writes them and other numbers at a
precision that never prints a non-zero as 0 (:func:`~analysis.text.formatting.fmt_number`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..text.formatting import MISSING, fmt_duration, fmt_number, fmt_p, fmt_value
from .markup import html
from .style import metric_label

#: The header a reader sees for each report.json column (with its unit); other columns are shown
#: with their underscores as spaces.
HEADERS = {
    # configuration and groups
    "group": "configuration", "recipe": "recipe", "lr": "learning rate", "weight_decay": "weight decay",
    "aug_repeats": "repeated augmentation", "crop_pct": "crop ratio", "test_res": "test resolution (px)",
    "train_res": "train resolution (px)", "eval_set": "evaluation set", "metric": "metric",
    "trial_id": "trial", "within": "within",
    # seed statistics (top-1 and its differences are in % and points)
    "n": "n", "mean": "mean", "std": "std", "std_mle": "std (MLE)", "sem": "std. error of the mean",
    "ci_low": "95 % CI low", "ci_high": "95 % CI high", "ci_method": "CI method", "median": "median",
    "min": "min", "max": "max", "range": "max − min", "seed0": "seed 0", "n_excluded": "excluded trials",
    "excluded": "excluded (why)",
    # normality and outliers
    "shapiro_w": "Shapiro-Wilk W", "shapiro_p": "Shapiro-Wilk p",
    "shapiro_p_lattice": "Shapiro-Wilk p (lattice-calibrated)", "normaltest_k2": "D'Agostino K²",
    "normaltest_p": "D'Agostino p", "ks_d": "Kolmogorov-Smirnov D", "ks_p": "Kolmogorov-Smirnov p",
    "excess_kurtosis": "excess kurtosis", "step": "metric step (points)", "step_ratio": "step / std",
    "robust_z": "robust z (median, MAD)", "p_gaussian": "p (Gaussian tail)",
    "expected_count": "expected count", "value": "value",
    # test-set noise
    "n_val": "validation images", "binomial_std": "per-image std bound (points)",
    "observed_std": "seed std (points)", "observed_std_ci_low": "seed std, 95 % CI low",
    "observed_std_ci_high": "seed std, 95 % CI high", "share_of_variance": "bound / seed variance",
    # seeds needed, best-of-n
    "delta": "difference to detect (points)", "effect_size": "effect size (Cohen's d)", "alpha": "α",
    "seeds_per_arm": "seeds per arm", "expected_max": "expected best (without replacement)",
    # comparisons
    "name_a": "A", "name_b": "B", "n_a": "seeds of A", "n_b": "seeds of B", "diff": "difference (points)",
    "diff_ci_low": "difference, 95 % CI low", "diff_ci_high": "difference, 95 % CI high",
    "test_diff_ci_low": "difference over test images, CI low",
    "test_diff_ci_high": "difference over test images, CI high", "mwu_p": "Mann-Whitney p",
    "mwu_method": "Mann-Whitney method", "p_decision": "p deciding (Holm)", "p_a_gt_b": "P(A > B)",
    "pab_ci_low": "P(A > B), CI low", "pab_ci_high": "P(A > B), CI high", "cohen_d": "Cohen's d",
    "test_set_verdict": "verdict over test images", "meaningful": "meaningful (γ = 0.75)",
    "n_pairs": "pairs", "mean_level": "mean at the level", "mean_baseline": "mean at the baseline",
    "wilcoxon_p": "Wilcoxon p", "p_holm": "p (Holm)", "frac_better": "share of seeds higher",
    "n_unpaired": "unpaired trials",
    # cost
    "trials": "trials", "hours_total": "training time, total", "hours_per_trial": "training time per trial",
    "worker_hours": "worker time", "workers": "workers", "peak_mem_gb": "peak memory (GB)",
}

#: Columns that hold a time in hours: shown in s, min or h, whichever fits.
DURATION_COLUMNS = frozenset({"hours_total", "hours_per_trial", "worker_hours", "train_hours"})
#: Columns that count (a float there is a whole number that NaN made a float).
COUNT_COLUMNS = frozenset({"n", "n_a", "n_b", "n_val", "n_pairs", "n_unpaired", "n_excluded", "trials",
                           "workers", "seeds_per_arm", "seed", "test_res", "train_res", "aug_repeats"})


def header(column: str) -> str:
    """The header a reader sees for a report.json column."""
    return HEADERS.get(column, column.replace("_", " "))


def _is_p_value(column: str) -> bool:
    """A p-value column (mwu_p, p_holm, shapiro_p_lattice), not P(A > B)."""
    return (column.endswith("_p") or column.startswith("p_") or "_p_" in column) and column != "p_a_gt_b"


def cell(column: str, value: Any, digits: int = 3) -> str:
    """One value of ``column`` as the table shows it."""
    if value is None or value is pd.NA or (isinstance(value, float | np.floating) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if column == "metric" and isinstance(value, str):
        return metric_label(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if column in DURATION_COLUMNS:
            return fmt_duration(value)
        if _is_p_value(column):
            return fmt_p(float(value))
        if column in COUNT_COLUMNS and float(value).is_integer():
            return str(int(value))
        return fmt_number(value, digits)
    if "verdict" in column and isinstance(value, str):
        return value.replace("_", " ")
    return fmt_value(value)



def readable(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``frame`` as a reader sees it: cells as strings, readable headers, no index."""
    out = pd.DataFrame({header(c): [cell(c, v, digits) for v in frame[c]] for c in frame.columns})
    return out.reset_index(drop=True)


def readable_html(frame: pd.DataFrame, digits: int = 3) -> str:
    """The HTML table of :func:`readable` (no index column, headers and cells escaped)."""
    return html(readable(frame, digits))
