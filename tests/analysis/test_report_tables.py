"""Tables for people: numbers never print a non-zero as 0, times in the unit that fits, seeds as
typed, headers with units and no index column (what report.html shows of report.json's rows)."""

from __future__ import annotations

import math

import pandas as pd

from analysis.present.tables_readable import header, readable, readable_html
from analysis.text.formatting import fmt_duration, fmt_number, fmt_seeds


def test_numbers_times_and_seeds_for_reading():
    assert fmt_number(0.0046, 2) == "0.0046" and fmt_number(-0.0004, 3) == "-0.0004"
    assert fmt_number(92.0213, 2) == "92.02" and fmt_number(0.0, 3) == "0.000" and fmt_number(math.nan) == "–"
    for v in (0.004, 3e-7, -2e-5, 0.00049):
        assert float(fmt_number(v, 3)) != 0, v  # a non-zero never reads as 0
    assert fmt_duration(0.0046) == "16.6 s" and fmt_duration(0.05) == "3.00 min" and fmt_duration(2.5) == "2.50 h"
    assert fmt_seeds(100, 0.0, 99.0) == "seed 0–99" and fmt_seeds(1, 7, 7) == "seed 7"
    assert fmt_seeds(3, 0, 40) == "3 seeds in 0–40"
    assert fmt_seeds(4, 8411700.0, 2126850000.0, "seed_init") == "4 seed_inits in 8411700–2126850000"


def test_a_cost_table_as_a_reader_sees_it():
    cost = pd.DataFrame([{"group": "all trials", "trials": 100, "hours_total": 0.46, "hours_per_trial": 0.0046,
                          "workers": 1, "peak_mem_gb": 0.92, "shapiro_p_lattice": 0.0004, "p_a_gt_b": 0.75,
                          "verdict": "within_seed_noise", "metric": "top1", "outlier": False}], index=[7])
    shown = readable(cost)
    assert list(shown.index) == [0]
    row = shown.iloc[0]
    assert row[header("hours_per_trial")] == "16.6 s" and row["training time, total"] == "27.6 min"
    assert row["trials"] == "100" and row["peak memory (GB)"] == "0.920"
    assert row["Shapiro-Wilk p (lattice-calibrated)"] == "4.0e-04" and row["P(A > B)"] == "0.750"
    assert row["verdict"] == "within seed noise" and row["metric"] == "top-1 accuracy (%)" and row["outlier"] == "no"
    html = readable_html(cost)
    assert "hours_per_trial" not in html and "<th>7</th>" not in html and '<td class="num">16.6 s</td>' in html
