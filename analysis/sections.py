"""The report's sections, re-exported from their home :mod:`analysis.report.sections` (a public
submodule)."""

from .report.sections import (  # noqa: F401 (re-exported)
    Section,
    build_report,
    comparisons_section,
    decision_path,
    expected_max_section,
    family_size,
    find_decision,
    find_evaluations,
    find_predictions,
    normality_section,
    outliers_section,
    paired_section,
    provenance_section,
    record,
    report_sections,
    seeds_needed_section,
    stopping_path_section,
    summary_section,
    test_set_noise_section,
    variance_section,
)

__all__ = ['Section', 'build_report', 'comparisons_section', 'decision_path', 'expected_max_section',
           'family_size', 'find_decision', 'find_evaluations', 'find_predictions',
           'normality_section', 'outliers_section', 'paired_section', 'provenance_section',
           'record', 'report_sections', 'seeds_needed_section', 'stopping_path_section',
           'summary_section', 'test_set_noise_section', 'variance_section']
