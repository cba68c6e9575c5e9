"""Paired comparisons of evaluation-only settings (crop ratio, test resolution), re-exported from
their home :mod:`analysis.groups.paired` (a public submodule)."""

from .groups.paired import (  # noqa: F401 (re-exported)
    EVAL_ONLY_COLUMNS,
    EXACT_UP_TO,
    VERDICTS,
    PairedTest,
    compare_paired,
    format_table9_paired,
    paired_test,
    seeds_to_resolve,
)
from .present.figures_paired import plot_test_res  # noqa: F401 (re-exported)
