"""``rsb-sweep race`` end to end on real Ray and the embedded digits: 3 configurations, 2 waves,
interrupted after the second wave was added, ``status`` read from files, ``resume`` finishing
it, and the report's Race section and figure (slow: about 90 s on 2 cores)."""

from __future__ import annotations

import json
import signal

import pytest

from rsb_sweep.cli.exitstatus import ExitStatus
from tests.sweep.conftest import stop_session
from tests.sweep.helpers import FAST, cli, cli_background, manifest, results, wait_for


@pytest.mark.slow
def test_race_on_ray_interrupted_status_resumed_and_reported(tmp_path):
    exp = tmp_path / "race"
    log = tmp_path / "race.log"
    proc = cli_background("race", "--lr", "1e-2,1e-5,3e-3", *FAST, "--wave", "1", "--max-seeds", "2", "--delta", "0",
                          "--out", str(exp), "--no-live", "--num-cpus", "2", log=log)
    try:
        wait_for(lambda: (exp / "sweep.json").exists() and len(manifest(exp)["trials"]) == 6, 300,
                 "the second wave", proc, log)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == ExitStatus.INTERRUPTED, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)
    first = json.loads((exp / "race.json").read_text())
    assert [look["n"] for look in first["looks"]] == [1] and first["verdict"] == "running"
    seeds = [(t["params"]["lr"], t["params"]["seed"]) for t in manifest(exp)["trials"]]
    assert seeds == [(lr, s) for s in (0, 1) for lr in (1e-2, 1e-5, 3e-3)]  # the same seeds for every configuration
    status = cli("status", str(exp))
    assert "race: running after 1 of at most 2 seeds per configuration; 3 of 3 configurations left" in status.stdout

    resumed = cli("resume", str(exp), "--no-live", "--num-cpus", "2", timeout=600)
    doc = json.loads((exp / "race.json").read_text())
    assert doc["verdict"] == "undecided" and [look["n"] for look in doc["looks"]] == [1, 2]
    assert f"decision: undecided  ({exp / 'race.json'})" in resumed.stdout
    assert doc["trainings"] == 6 and [c["seeds"] for c in doc["configurations"]] == [[0, 1]] * 3
    df = results(exp)
    assert (df["status"] == "TERMINATED").all() and len(df) == 6
    assert "race: undecided after 2 of at most 2" in cli("status", str(exp)).stdout

    cli("report", str(exp), timeout=600)
    report = json.loads((exp / "report.json").read_text())
    assert report["conclusions"]["race"][0] == doc["sentence"]
    assert (exp / "figures" / "race.png").is_file()
