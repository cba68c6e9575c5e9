"""rsb-sweep analysis: statistics, tables, figures and report notebooks over a results table.

Pure functions over any table with DESIGN.md"s columns (one row per trial); no Ray, no trainer.
Statistics use the TERMINATED trials with a finite metric and say how many others they left out.

>>> from analysis import load_results, summarize, compare_all, plot_seed_distribution
>>> from analysis import load_predictions, example_noise  # per-image test-set noise
>>> from analysis import load_evaluations, compare_paired   # crop ratio / test resolution, paired

Imports are lazy (PEP 562): ``import analysis.contract`` (the results contract the driver
reads) loads no matplotlib or scipy; each name below is imported on first use. The folders are
the layers, imported one way: contract/errors <- text <- stats <- groups <- present <- report,
load beside the contract (docs/analysis/README.md, "Layout").
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

#: Public submodules.
_SUBMODULES = ("conclusions", "sections", "synthetic", "sequential", "paired")

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "compare_paired": "groups.paired",
    "paired_test": "stats.paired",
    "PairedTest": "stats.paired",
    "format_table9_paired": "present.tables_paired",
    "plot_test_res": "present.figures_paired",
    "N_RESAMPLES": "stats.arrays",
    "AnalysisError": "errors",
    "split_usable": "groups.frames",
    "TEST_SET_VERDICTS": "stats.comparison",
    "VERDICTS": "stats.comparison",
    "Comparison": "stats.comparison",
    "compare": "stats.comparison",
    "ExampleNoise": "stats.image_noise",
    "ImageBootstrapDifference": "stats.image_noise",
    "example_noise": "groups.noise",
    "example_noise_components": "stats.image_noise",
    "paired_image_bootstrap": "stats.image_noise",
    "compare_within": "groups.grid",
    "short_label": "text.formatting",
    "compare_all": "groups.comparisons",
    "default_baseline": "groups.baseline",
    "expected_max_table": "groups.summaries",
    "normality": "groups.summaries",
    "outlier_seeds": "groups.summaries",
    "pooled_std": "groups.summaries",
    "resolve_baseline": "groups.baseline",
    "summarize": "groups.summaries",
    "test_set_noise": "groups.noise",
    "CONTRACT_COLUMNS": "load.io",
    "REQUIRED_COLUMNS": "load.io",
    "config_columns": "load.io",
    "load_evaluations": "load.io",
    "load_history": "load.io",
    "load_results": "load.io",
    "metric_columns": "load.io",
    "plot_expected_max": "present.figures",
    "plot_grid": "present.figures_grid",
    "plot_history": "present.figures",
    "plot_seed_distribution": "present.figures",
    "plot_vs": "present.figures_grid",
    "save_figure": "present.figures",
    "PREDICTION_COLUMNS": "contract",
    "PREDICTION_SCHEMA": "contract",
    "correctness_matrix": "load.predictions",
    "load_predictions": "load.predictions",
    "per_trial_top1": "load.predictions",
    "ReportPaths": "report.execution",
    "make_report": "report.execution",
    "seeds_needed": "stats.sample_size",
    "seeds_needed_for_p": "stats.sample_size",
    "permutation_test": "stats.permutation",
    "seeds_needed_table": "stats.sample_size",
    "build_report": "report.steps",
    "GaussianFit": "stats.gaussian",
    "expected_max": "stats.expected_max",
    "fit_gaussian": "stats.gaussian",
    "Table": "present.markup",
    "format_table6": "present.tables",
    "format_table9": "present.tables",
    "VarianceComponents": "stats.variance",
    "variance_components": "groups.variance",
    "sequential_compare": "stats.sequential",
    "plot_stopping_path": "present.figures_sequential",
    "verdict_sentence": "text.verdicts",
    "confidence_sequence": "stats.sequential",
    "ConfidenceSequence": "stats.sequential",
    "paper_values": "load.paper",
    "beside_paper": "groups.paper",
    "PaperComparison": "groups.paper",
    # transfer (issue 20, Table 5)
    "NestedVariance": "stats.nested",
    "NestedNoise": "stats.nested",
    "nested_variance": "stats.nested",
    "nested_example_noise": "stats.nested",
    "ProbabilityOfImprovement": "stats.improvement",
    "probability_of_improvement": "stats.improvement",
    "model_means": "groups.transfer",
    "transfer_variance": "groups.transfer",
    "transfer_comparisons": "groups.transfer",
    "transfer_improvement": "groups.transfer",
    "Table5": "present.tables_transfer",
    "format_table5": "present.tables_transfer",
    "plot_transfer": "present.figures_transfer",
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
