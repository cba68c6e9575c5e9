"""One Ray session per command: a command that trains and then evaluates (``seeds``/``grid``/``run``/
``resume`` with an evaluation plan) runs both steps in the one Ray session its driver entry point
owns. Counted in a real run, where Ray leaves them: one ``session_*`` folder per ``ray.init`` in
Ray's temp folder (``RAY_TMPDIR``, private to the test)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import EvalPlan, SeedAxis, SweepSpec
from tests.sweep.helpers import FAST, cli


def _sessions(temp: Path) -> list[str]:
    """The Ray sessions started with ``temp`` as Ray's temp folder (``session_latest`` is a link to one)."""
    return sorted(p.name for p in (temp / "ray").glob("session_*") if p.name != "session_latest")


@pytest.fixture
def ray_temp():
    temp = Path(tempfile.mkdtemp(prefix="rsbs", dir="/tmp"))  # short: Ray's socket paths have a length limit
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def _unrun_experiment(root: Path) -> Path:
    """An experiment with an evaluation plan whose trial has not run: ``resume`` trains it, then evaluates it."""
    spec = SweepSpec(name="rs", overrides={"epochs": 2, "max_steps": 2}, seeds=SeedAxis(n=1),
                     evaluate=EvalPlan(crop_pct=(0.875,)))
    return Experiment.create(root, spec, Execution(), expand(spec)).root


# Both run with the slow tests, in CI (seeds 30-36 s, resume 20 s more): the default pytest was at 300 s of
# its 5 minutes on a quiet machine once #16-#23 landed.
@pytest.mark.slow
@pytest.mark.parametrize("command", ["seeds", "resume"])
def test_a_command_that_trains_and_evaluates_starts_ray_once(tmp_path, ray_temp, command):
    exp = tmp_path / "exp"
    if command == "seeds":
        args = ["seeds", "--n", "1", *FAST, "--crop-pct", "0.875,1.0", "--out", str(exp)]
    else:
        args = ["resume", str(_unrun_experiment(exp))]
    out = cli(*args, "--no-live", "--num-cpus", "1", env={**os.environ, "RAY_TMPDIR": str(ray_temp)})
    ev = pd.read_parquet(exp / "evaluations.parquet")
    assert (ev["status"] == "TERMINATED").all() and (ev["source"] == "evaluation").any(), out.stdout  # both steps ran
    assert "evaluations:" in out.stdout and "results:" in out.stdout
    assert len(_sessions(ray_temp)) == 1, _sessions(ray_temp)
