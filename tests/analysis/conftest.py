"""Fixtures for the analysis tests: results tables drawn with fixed seeds."""

from __future__ import annotations

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
