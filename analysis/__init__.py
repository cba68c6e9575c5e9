"""rsb-sweep analysis: statistics, tables, figures and report notebooks over a results table.

Pure functions over any table with DESIGN.md"s columns (one row per trial); no Ray, no trainer.
Statistics use the TERMINATED trials with a finite metric and say how many others they left out.

>>> from analysis import load_results, summarize, compare_all, plot_seed_distribution
>>> from analysis import load_predictions, example_noise  # per-image test-set noise
>>> from analysis import load_evaluations, compare_paired   # crop ratio / test resolution, paired

Imports are lazy (PEP 562): ``import analysis.contract`` (the results contract the driver
reads) loads no matplotlib or scipy; each name below is imported on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

#: Public submodules.
_SUBMODULES = ("conclusions", "sections", "synthetic", "sequential", "paired")

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "compare_paired": "paired",
    "paired_test": "paired",
    "PairedTest": "paired",
    "format_table9_paired": "paired",
    "plot_test_res": "paired",
    "N_RESAMPLES": "_common",
    "AnalysisError": "_common",
    "split_usable": "_common",
    "TEST_SET_VERDICTS": "comparison",
    "VERDICTS": "comparison",
    "Comparison": "comparison",
    "compare": "comparison",
    "ExampleNoise": "image_noise",
    "ImageBootstrapDifference": "image_noise",
    "example_noise": "image_noise",
    "example_noise_components": "image_noise",
    "paired_image_bootstrap": "image_noise",
    "compare_within": "grid",
    "short_label": "grid",
    "compare_all": "grouped",
    "default_baseline": "grouped",
    "expected_max_table": "grouped",
    "normality": "grouped",
    "outlier_seeds": "grouped",
    "pooled_std": "grouped",
    "resolve_baseline": "grouped",
    "summarize": "grouped",
    "test_set_noise": "grouped",
    "CONTRACT_COLUMNS": "load.io",
    "REQUIRED_COLUMNS": "load.io",
    "config_columns": "load.io",
    "load_evaluations": "load.io",
    "load_history": "load.io",
    "load_results": "load.io",
    "metric_columns": "load.io",
    "plot_expected_max": "plots",
    "plot_grid": "plots",
    "plot_history": "plots",
    "plot_seed_distribution": "plots",
    "plot_vs": "plots",
    "save_figure": "plots",
    "PREDICTION_COLUMNS": "load.predictions",
    "PREDICTION_SCHEMA": "load.predictions",
    "correctness_matrix": "load.predictions",
    "load_predictions": "load.predictions",
    "per_trial_top1": "load.predictions",
    "ReportPaths": "report",
    "make_report": "report",
    "seeds_needed": "sample_size",
    "seeds_needed_for_p": "sample_size",
    "seeds_needed_table": "sample_size",
    "build_report": "sections",
    "GaussianFit": "stats",
    "expected_max": "stats",
    "fit_gaussian": "stats",
    "Table": "tables",
    "format_table6": "tables",
    "format_table9": "tables",
    "VarianceComponents": "variance",
    "variance_components": "variance",
    "sequential_compare": "sequential",
    "plot_stopping_path": "sequential",
    "verdict_sentence": "sequential",
    "confidence_sequence": "sequential",
    "ConfidenceSequence": "sequential",
}

__all__ = [*_SUBMODULES, *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBMODULES or importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f".{name}", __name__)  # any submodule, as an eager package gave
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
