"""rsb-sweep analysis: statistics, tables, figures and report notebooks over a results table.

Pure functions over any table with DESIGN.md's columns (one row per trial); no Ray, no trainer.
Statistics use the TERMINATED trials with a finite metric and say how many others they left out.

>>> from analysis import load_results, summarize, compare_all, plot_seed_distribution
>>> from analysis import load_predictions, example_noise  # per-image test-set noise
"""

from . import conclusions, sections, synthetic
from ._common import N_RESAMPLES, AnalysisError, split_usable
from .comparison import TEST_SET_VERDICTS, VERDICTS, Comparison, compare
from .example_noise import (
    ExampleNoise,
    ImageBootstrapDifference,
    example_noise,
    example_noise_components,
    paired_image_bootstrap,
)
from .grid import compare_within, short_label
from .grouped import (
    compare_all,
    default_baseline,
    expected_max_table,
    normality,
    outlier_seeds,
    pooled_std,
    resolve_baseline,
    summarize,
    test_set_noise,
)
from .io import (
    CONTRACT_COLUMNS,
    REQUIRED_COLUMNS,
    config_columns,
    load_history,
    load_results,
    metric_columns,
)
from .plots import (
    plot_expected_max,
    plot_grid,
    plot_history,
    plot_seed_distribution,
    plot_vs,
    save_figure,
)
from .predictions import (
    PREDICTION_COLUMNS,
    PREDICTION_SCHEMA,
    correctness_matrix,
    load_predictions,
    per_trial_top1,
)
from .report import ReportPaths, make_report
from .sample_size import seeds_needed, seeds_needed_for_p, seeds_needed_table
from .sections import build_report
from .stats import GaussianFit, expected_max, fit_gaussian
from .tables import Table, format_table6, format_table9
from .variance import VarianceComponents, variance_components

__all__ = [
    "conclusions", "sections", "synthetic",
    "AnalysisError", "N_RESAMPLES", "split_usable",
    "ExampleNoise", "ImageBootstrapDifference", "example_noise", "example_noise_components",
    "paired_image_bootstrap",
    "PREDICTION_COLUMNS", "PREDICTION_SCHEMA", "correctness_matrix", "load_predictions",
    "per_trial_top1",
    "CONTRACT_COLUMNS", "REQUIRED_COLUMNS", "config_columns", "load_history", "load_results",
    "metric_columns",
    "plot_expected_max", "plot_grid", "plot_history", "plot_seed_distribution", "plot_vs",
    "save_figure",
    "ReportPaths", "build_report", "make_report",
    "Comparison", "GaussianFit", "VERDICTS", "TEST_SET_VERDICTS", "compare", "compare_all",
    "compare_within", "short_label", "default_baseline", "expected_max",
    "expected_max_table", "fit_gaussian", "normality", "outlier_seeds", "pooled_std",
    "resolve_baseline", "seeds_needed", "seeds_needed_for_p", "seeds_needed_table", "summarize",
    "test_set_noise",
    "Table", "format_table6", "format_table9",
    "VarianceComponents", "variance_components",
]
