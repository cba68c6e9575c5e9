"""The report's sections: a public submodule re-exporting their homes, :mod:`analysis.report.sections`
(the seeds of each configuration), :mod:`analysis.report.sections_compare` (comparisons),
:mod:`analysis.report.section` (the Section type) and :mod:`analysis.report.steps` (the report's
order, :func:`build_report`). The report notebook calls its sections from here."""

from .contract import MAIN_METRIC as METRIC  # noqa: F401 (the name this module had)
from .report.section import FigurePlan, Section, TableText, record  # noqa: F401 (re-exported)
from .report.sections import (  # noqa: F401 (re-exported)
    expected_max_section,
    figure2_section,
    history_section,
    normality_section,
    outliers_section,
    provenance_section,
    seeds_needed_section,
    summary_section,
    test_set_noise_section,
    variance_section,
)
from .report.sections_compare import (  # noqa: F401 (re-exported)
    PAIRED_SHOWN,
    comparisons_section,
    decision_path,
    family_size,
    find_decision,
    paired_section,
    stopping_path_section,
)
from .report.steps import build_report, find_evaluations, find_predictions, report_sections  # noqa: F401

__all__ = ["METRIC", "PAIRED_SHOWN", "FigurePlan", "Section", "TableText", "build_report", "comparisons_section", "decision_path",
           "expected_max_section", "family_size", "figure2_section", "find_decision", "find_evaluations",
           "find_predictions", "history_section", "normality_section", "outliers_section", "paired_section",
           "provenance_section", "record", "report_sections", "seeds_needed_section", "stopping_path_section",
           "summary_section", "test_set_noise_section", "variance_section"]

from .report.sections_transfer import (  # noqa: E402,F401 (issue 20)
    TransferSection,
    find_transfer_source,
    is_transfer,
    transfer_section,
)

__all__ += ["TransferSection", "find_transfer_source", "is_transfer", "transfer_section"]
