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
    plot_test_res,
    seeds_to_resolve,
)
