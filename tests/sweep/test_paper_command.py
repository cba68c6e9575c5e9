"""`rsb-sweep paper` for real, CI-sized: two studies that share their A2 models, trained once, each
study's report and the index; `resume` on the finished parent retrains and re-reports nothing.
About 1.5 minutes on the loaded 2-core machine (load average 10) (real Ray, real training on digits, real notebooks)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.contract import TERMINATED

from .helpers import cli


@pytest.mark.slow
def test_paper_trains_each_model_once_reports_each_study_and_resumes_with_nothing_to_do(tmp_path):
    parent = tmp_path / "paper"
    proc = cli("paper", str(parent), "--only", "fig2,table9", "--seeds", "2", "--epochs", "2", "--max-steps", "3",
               "--no-live", timeout=400)
    assert "[fig2]" in proc.stdout and "[table9]" in proc.stdout, proc.stdout

    models = sorted((parent / "models" / "trials").iterdir())
    assert len(models) == 6  # A2 seeds 0, 1 shared by Figure 2 and Table 9; A1 and A3 of Table 9
    runs = {m.name: (m / "runs.jsonl").read_text().count("\n") for m in models}
    assert set(runs.values()) == {1}, runs  # each started once
    assert {(m / "history.jsonl").read_text().count("\n") for m in models} == {2}

    fig2, table9 = pd.read_parquet(parent / "fig2" / "results.parquet"), pd.read_parquet(parent / "table9" / "results.parquet")
    assert (fig2["status"] == TERMINATED).all() and (table9["status"] == TERMINATED).all() and len(table9) == 6
    shared = table9[table9["recipe"] == "a2"].set_index("seed")["top1"]
    assert fig2.set_index("seed")["top1"].to_dict() == shared.to_dict()  # the same trainings, not equal by chance
    linked = {p.resolve() for study in ("fig2", "table9") for p in (parent / study / "trials").iterdir()}
    assert linked == {m.resolve() for m in models}
    evaluations = pd.read_parquet(parent / "table9" / "evaluations.parquet")
    assert len(evaluations) == 6 * 4 and (evaluations["status"] == TERMINATED).all()

    index = json.loads((parent / "paper.json").read_text())
    assert [(r["key"], r["status"]) for r in index["studies"]] == [("fig2", "done"), ("table9", "done")]
    reports = [parent / r["report"] for r in index["studies"]]
    assert all(p.is_file() for p in reports) and index["models"]["trainings"] == 6
    assert "fig2/report.html" in (parent / "paper.html").read_text()
    made = [p.stat().st_mtime_ns for p in reports]

    again = cli("resume", str(parent), "--no-live", timeout=120)
    assert "report:" not in again.stdout and "done" in again.stdout, again.stdout
    assert {m.name: (m / "runs.jsonl").read_text().count("\n") for m in models} == runs  # nothing retrained
    assert [p.stat().st_mtime_ns for p in reports] == made  # nothing re-reported
    assert json.loads((parent / "paper.json").read_text())["studies"] == index["studies"]
