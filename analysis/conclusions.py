"""The report's sentences, re-exported from their home :mod:`analysis.present.conclusions` (a
public submodule)."""

from .present.conclusions import (  # noqa: F401 (re-exported)
    bullets,
    describe_comparisons,
    describe_evaluations,
    describe_expected_max,
    describe_figure4,
    describe_noise,
    describe_normality,
    describe_outliers,
    describe_paired,
    describe_seeds_needed,
    describe_status,
    describe_summary,
    noether_sentence,
)

__all__ = ['bullets', 'describe_comparisons', 'describe_evaluations', 'describe_expected_max',
           'describe_figure4', 'describe_noise', 'describe_normality', 'describe_outliers',
           'describe_paired', 'describe_seeds_needed', 'describe_status', 'describe_summary',
           'noether_sentence']
