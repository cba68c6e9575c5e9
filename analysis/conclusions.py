"""The report's sentences: a public submodule re-exporting their homes,
:mod:`analysis.present.conclusions` (the seeds of each configuration) and
:mod:`analysis.present.conclusions_compare` (comparisons, paired evaluations, stopping path).
The verdict sentence of each single result is :mod:`analysis.text.verdicts`'."""

from .present.conclusions import (  # noqa: F401 (re-exported)
    bullets,
    describe_expected_max,
    describe_noise,
    describe_normality,
    describe_outliers,
    describe_provenance,
    describe_seeds_needed,
    describe_status,
    describe_summary,
    noether_sentence,
)
from .present.conclusions_compare import (  # noqa: F401 (re-exported)
    describe_comparisons,
    describe_evaluations,
    describe_figure4,
    describe_paired,
    describe_stopping,
)

__all__ = ["bullets", "describe_comparisons", "describe_evaluations", "describe_expected_max", "describe_figure4",
           "describe_noise", "describe_normality", "describe_outliers", "describe_paired", "describe_provenance",
           "describe_seeds_needed", "describe_status", "describe_stopping", "describe_summary", "noether_sentence"]
