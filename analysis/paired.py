"""Paired comparisons of evaluation-only settings (crop ratio, test resolution), re-exported from
their home :mod:`analysis.groups.paired` (a public submodule)."""

from .contract import EVALUATION_KEY_COLUMNS as EVAL_ONLY_COLUMNS  # noqa: F401 (the name this module had)
from .groups.paired import compare_paired  # noqa: F401 (re-exported)
from .present.figures_paired import plot_test_res  # noqa: F401 (re-exported)
from .present.tables_paired import format_table9_paired  # noqa: F401 (re-exported)
from .stats.comparison import VERDICTS  # noqa: F401 (re-exported)
from .stats.paired import EXACT_UP_TO, PairedTest, paired_test, seeds_to_resolve  # noqa: F401 (re-exported)

__all__ = ['EVAL_ONLY_COLUMNS', 'EXACT_UP_TO', 'PairedTest', 'VERDICTS', 'compare_paired',
           'format_table9_paired', 'paired_test', 'plot_test_res', 'seeds_to_resolve']
