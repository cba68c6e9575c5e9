"""How numbers and group keys are written for reading."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

def label(by: list[str], key: tuple) -> str:
    """Human label of a group: 'crop_pct=0.95, lr=0.005' (or 'all trials')."""
    if not by:
        return "all trials"
    return ", ".join(f"{c}={_fmt_value(v)}" for c, v in zip(by, key))


def _fmt_value(v: Any) -> str:
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
