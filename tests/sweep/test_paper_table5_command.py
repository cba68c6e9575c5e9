"""`rsb-sweep paper --only table1,table5` for real, CI-sized (slow: 95 s on the loaded 2-core
machine; real Ray, real training and fine-tuning on the embedded data, real notebooks): table1's three
models trained once, each fine-tuned on both embedded targets from its own checkpoint in the same run,
both reports and the index; `resume` on the finished parent runs and re-reports nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.contract import TERMINATED
from rsb_sweep.spec.transfer import EMBEDDED_TARGETS

from .helpers import cli, results, trial_dir


@pytest.mark.slow
def test_table5_fine_tunes_each_table1_model_in_the_paper_run_and_resume_has_nothing_to_do(tmp_path):
    parent = tmp_path / "paper"
    proc = cli("paper", str(parent), "--only", "table1,table5", "--seeds", "1", "--transfer-seeds", "1", "--epochs",
               "1", "--warmup-epochs", "0", "--max-steps", "3", "--no-live", timeout=400)
    assert "[table5] 6 trials: 6 done" in proc.stdout, proc.stdout

    models = sorted((parent / "models" / "trials").iterdir())
    assert len(models) == 3 and {(m / "runs.jsonl").read_text().count("\n") for m in models} == {1}
    table1, table5 = results(parent / "table1"), results(parent / "table5")
    assert (table1["status"] == TERMINATED).all() and (table5["status"] == TERMINATED).all()
    pairs = sorted(zip(table5["pretrain_trial"], table5["dataset"]))
    assert pairs == sorted((t, d) for t in table1["trial_id"] for d in EMBEDDED_TARGETS)  # each model × each target
    assert set(table5["recipe"]) == {"ft"} and table5["top1"].notna().all()
    for _, row in table5.iterrows():  # started from its own model's final checkpoint (the models' folder, linked)
        config = json.loads((trial_dir(parent / "table5", row["trial_id"]) / "config.json").read_text())
        source = (parent / "table1" / "trials" / row["pretrain_trial"]).resolve()
        assert Path(config["init_from"]).resolve().parent.parent == source and config["init_from_epoch"] == 1

    index = json.loads((parent / "paper.json").read_text())
    assert [(r["key"], r["status"]) for r in index["studies"]] == [("table1", "done"), ("table5", "done")]
    reports = [parent / r["report"] for r in index["studies"]]
    assert all(p.is_file() for p in reports) and "table5/report.html" in (parent / "paper.html").read_text()
    made = [p.stat().st_mtime_ns for p in reports]
    runs = {t: (trial_dir(parent / "table5", t) / "runs.jsonl").read_text() for t in table5["trial_id"]}

    again = cli("resume", str(parent), "--no-live", timeout=120)
    assert "report:" not in again.stdout and "[table5] 6 trials: 6 done" in again.stdout, again.stdout
    assert {t: (trial_dir(parent / "table5", t) / "runs.jsonl").read_text() for t in runs} == runs  # none run again
    assert [p.stat().st_mtime_ns for p in reports] == made
