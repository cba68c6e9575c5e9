"""How numbers and group keys are written for reading: the one number formatter of the package.

Every table cell, label, title and sentence that writes a number goes through these functions
(f-strings with a fixed format, ``f"{diff:.2f}"``, stay where they are: they say how many digits
that one sentence wants). Imports nothing of the package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: What a missing number reads as in a table cell.
MISSING = "–"

#: Short names of configuration columns in labels ("a2 lr 3e-3 wd 0.02").
SHORT_NAMES = {"lr": "lr", "weight_decay": "wd", "loss": "", "aug_repeats": "ra",
               "crop_pct": "crop", "smoothing": "ls", "drop_path": "dp", "mixup": "mixup",
               "cutmix": "cutmix", "epochs": "ep", "batch_size": "bs", "train_res": "res",
               "test_res": "test res", "recipe": "", "model": "", "dataset": ""}


def fmt_value(v: Any) -> str:
    """A level or key value: a float in ``:g`` form (``NaN`` for NaN), anything else as ``str``."""
    if isinstance(v, float | np.floating):
        if math.isnan(v):
            return "NaN"
        return f"{v:g}"
    return str(v)


def fmt_p(p: float) -> str:
    """A p-value for reading: two decimals, or scientific notation below 0.01."""
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{p:.2f}" if p >= 0.01 else f"{p:.1e}"


def fmt_fixed(v: float, digits: int) -> str:
    """``v`` with ``digits`` decimals; :data:`MISSING` for None or NaN (a table cell)."""
    return MISSING if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def fmt_number(v: Any, digits: int = 3) -> str:
    """A table cell for a float: ``digits`` decimals, or 2 significant figures where those
    decimals would print a non-zero as 0 (0.0046, not 0.000); :data:`MISSING` for None or NaN."""
    if v is None or (isinstance(v, float | np.floating) and math.isnan(v)):
        return MISSING
    f = float(v)
    if math.isinf(f):
        return "∞" if f > 0 else "−∞"
    if f != 0 and abs(f) < 0.5 * 10.0 ** -digits:
        return f"{f:.2g}"
    return f"{f:.{digits}f}"


def fmt_duration(hours: Any) -> str:
    """A time given in hours, in the unit that fits: 16.6 s, 2.4 min, 3.1 h (never 0.0 h)."""
    if hours is None or (isinstance(hours, float | np.floating) and math.isnan(hours)):
        return MISSING
    seconds = float(hours) * 3600.0
    for unit, size, limit in (("s", 1.0, 120.0), ("min", 60.0, 120.0 * 60.0), ("h", 3600.0, math.inf)):
        if abs(seconds) < limit:
            x = seconds / size
            return f"{x:.{0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2}f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def fmt_seeds(distinct: int, low: Any, high: Any, name: str = "seed") -> str:
    """Seeds as they were typed: ``seed 0–99`` when they run without a gap, else
    ``12 seeds in 0–40``; integers in full (``2126850000``, never ``2.12685e+09``)."""
    if not distinct or low is None or high is None:
        return f"no {name}"
    lo, hi = int(low), int(high)
    if distinct == 1:
        return f"{name} {lo}"
    if distinct == hi - lo + 1:
        return f"{name} {lo}–{hi}"
    return f"{distinct} {name}s in {lo}–{hi}"


def fmt_mean_std(mean: float, std: float, digits: int) -> str:
    """``mean (std)``, or the mean alone when the std is NaN (one seed)."""
    if isinstance(std, float) and math.isnan(std):
        return fmt_fixed(mean, digits)
    return f"{fmt_fixed(mean, digits)} ({fmt_fixed(std, digits)})"


def fmt_short(v: float) -> str:
    """3e-3 for 0.003, 0.02 for 0.02, NaN for NaN."""
    if math.isnan(v):
        return "NaN"
    if v != 0 and abs(v) < 0.01:
        mantissa, exp = f"{v:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"
    return f"{v:g}"


def label(by: list[str], key: tuple) -> str:
    """Human label of a group: 'crop_pct=0.95, lr=0.005' (or 'all trials')."""
    if not by:
        return "all trials"
    return ", ".join(f"{c}={fmt_value(v)}" for c, v in zip(by, key))


def short_label(columns: Sequence[str], key: Sequence[Any]) -> str:
    """'a2 lr 3e-3 wd 0.02': values with short column names, recipe/model/loss bare."""
    parts = []
    for c, v in zip(columns, key):
        if isinstance(v, float | np.floating):
            text = fmt_short(float(v))
        else:
            text = str(v)
        name = SHORT_NAMES.get(c, c)
        parts.append(f"{name} {text}" if name else text)
    return " ".join(parts) if parts else "all trials"
