"""The analysis on a real (tiny) sweep run by the driver: the results contract holds end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import analysis


def rsb(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "rsb_sweep", *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out


@pytest.mark.timeout(900)
def test_report_on_a_real_seed_sweep(tmp_path):
    exp = tmp_path / "seeds"
    rsb("seeds", "--n", "4", "--recipe", "a2", "--epochs", "2", "--max-steps", "3", "--num-cpus", "2",
        "--out", str(exp), "--no-live")
    df = analysis.load_results(exp)
    assert len(df) == 4 and set(df["status"]) == {"TERMINATED"}

    rsb("report", str(exp))
    for name in ("report.ipynb", "report.html", "report.json"):
        assert (exp / name).stat().st_size > 0, name
    numbers = json.loads((exp / "report.json").read_text())
    expected = analysis.summarize(df).iloc[0]
    reported = numbers["summary"][0]
    assert reported["n"] == 4
    for key in ("mean", "std", "min", "max"):
        assert reported[key] == pytest.approx(float(expected[key]), rel=1e-12), key
    assert reported["mean"] == pytest.approx(df["top1"].mean(), rel=1e-12)
