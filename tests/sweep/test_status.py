"""`rsb-sweep status` and `results` read files only: no Ray, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SeedAxis, SweepSpec

_PROBE = textwrap.dedent("""
    import sys
    from rsb_sweep.cli import main
    try:
        main([sys.argv[1], sys.argv[2]])
    except SystemExit as exc:
        code = exc.code
    print("MODULES", "ray" in sys.modules, "torch" in sys.modules, code)
""")


def test_status_counts_and_failures_without_ray(tmp_path):
    spec = SweepSpec(name="st", overrides={"epochs": 3}, seeds=SeedAxis(n=3))
    exp = Experiment.create(tmp_path / "st", spec, Execution(), expand(spec))
    a, b, c = exp.trial_ids
    exp.store.record_run(a, {"resumed_from_epoch": 0})
    exp.store.record_error(a, "corrupt image /x/1.png: truncated; remove or replace the file", "DataError")
    exp.store.record_run(b, {"resumed_from_epoch": 0})
    (exp.store.local_dir(b) / "history.jsonl").write_text(json.dumps({"epoch": 1, "top1": 50.0}) + "\n")

    out = subprocess.run([sys.executable, "-c", _PROBE, "status", str(exp.root)], capture_output=True, text=True,
                         timeout=120, env={"COLUMNS": "200", **__import__("os").environ})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "done 0" in text and "running 1" in text and "failed 1" in text and "pending 1" in text
    assert "corrupt image /x/1.png" in text and a in text
    assert "rsb-sweep resume" in text  # no driver is running: say how to continue
    assert "1/3" in text  # the running trial's epoch
    assert text.strip().endswith("MODULES False False 0")

    out = subprocess.run([sys.executable, "-c", _PROBE, "results", str(exp.root)], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip().endswith("MODULES False False 0"), out.stderr
    assert (exp.root / "results.parquet").is_file()


def test_status_of_a_folder_that_is_not_an_experiment(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rsb_sweep", "status", str(tmp_path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "no sweep.json" in out.stderr
