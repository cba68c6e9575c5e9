"""DataFrame-level statistics: one row per group of a results (or evaluations) table.

Summaries, normality, outliers and test-set noise per configuration (:mod:`.summaries`),
comparisons with a baseline and within a grid (:mod:`.grid`), evaluation-only settings paired
by trial (:mod:`.paired`, :mod:`.evaluations`) and provenance (:mod:`.provenance`). Each
function filters the usable rows, groups them and applies an array statistic of
:mod:`analysis.stats`.
"""
