"""Fixtures for the analysis tests: results tables drawn with fixed seeds, and one real sweep."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic import synthetic_results


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def crop_table() -> pd.DataFrame:
    """Three crop ratios × 40 seeds, 2 ERROR + 1 RUNNING trial per configuration."""
    return synthetic_results(
        40,
        [dict(crop_pct=0.875), dict(crop_pct=0.95, shift=0.05), dict(crop_pct=1.0, shift=-0.4)],
        n_error=2, n_running=1, seed=7,
    )


@pytest.fixture(scope="session")
def seed_table() -> pd.DataFrame:
    """One A2 configuration, 100 seeds, as in the paper's Figure 2."""
    return synthetic_results(100, seed=3)


def rsb(*args: str) -> subprocess.CompletedProcess:
    """``rsb-sweep ARGS`` in a subprocess; fails the test with its output unless it exits 0."""
    out = subprocess.run([sys.executable, "-m", "rsb_sweep", *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out


@pytest.fixture(scope="session")
def real_seed_sweep(tmp_path_factory) -> Path:
    """A real 4-seed A2 sweep run by the driver (2 epochs of 3 steps on the embedded digits) and
    its report, made once a session for every test that reads them."""
    exp = tmp_path_factory.mktemp("real") / "seeds"
    rsb("seeds", "--n", "4", "--recipe", "a2", "--epochs", "2", "--max-steps", "3", "--num-cpus", "2",
        "--out", str(exp), "--no-live")
    rsb("report", str(exp))
    return exp
