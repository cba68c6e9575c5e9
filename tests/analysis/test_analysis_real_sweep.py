"""The analysis on a real (tiny) sweep run by the driver: the results contract holds end to end."""

from __future__ import annotations

import json

import pytest

import analysis


@pytest.mark.timeout(900)
def test_report_on_a_real_seed_sweep(real_seed_sweep):
    exp = real_seed_sweep
    df = analysis.load_results(exp)
    assert len(df) == 4 and set(df["status"]) == {"TERMINATED"}
    for name in ("report.ipynb", "report.html", "report.json"):
        assert (exp / name).stat().st_size > 0, name
    numbers = json.loads((exp / "report.json").read_text())
    expected = analysis.summarize(df).iloc[0]
    reported = numbers["summary"][0]
    assert reported["n"] == 4
    for key in ("mean", "std", "min", "max"):
        assert reported[key] == pytest.approx(float(expected[key]), rel=1e-12), key
    assert reported["mean"] == pytest.approx(df["top1"].mean(), rel=1e-12)
