"""The one number formatter (analysis.text.formatting): every table, label and sentence writes
numbers through it."""

from __future__ import annotations

import math

import numpy as np

from analysis.text.formatting import (MISSING, fmt_fixed, fmt_mean_std, fmt_p, fmt_short, fmt_value, label,
                                      short_label)


def test_values_and_labels():
    assert [fmt_value(v) for v in (0.95, np.float64(0.005), 224, np.int64(3), "a2", math.nan)] == [
        "0.95", "0.005", "224", "3", "a2", "NaN"]
    assert label(["crop_pct", "lr"], (0.95, 0.005)) == "crop_pct=0.95, lr=0.005" and label([], ()) == "all trials"
    assert short_label(["recipe", "lr", "weight_decay"], ("a2", 0.003, 0.02)) == "a2 lr 3e-3 wd 0.02"
    assert [fmt_short(v) for v in (0.003, 0.00125, 0.02, 0.0, math.nan)] == ["3e-3", "1.25e-3", "0.02", "0", "NaN"]


def test_table_cells_and_p_values():
    assert fmt_fixed(79.8123, 2) == "79.81" and fmt_fixed(math.nan, 2) == fmt_fixed(None, 2) == MISSING
    assert fmt_mean_std(79.8, 0.2, 2) == "79.80 (0.20)" and fmt_mean_std(79.8, math.nan, 2) == "79.80"
    assert [fmt_p(p) for p in (0.4321, 0.01, 0.0042, math.nan)] == ["0.43", "0.01", "4.2e-03", "n/a"]
