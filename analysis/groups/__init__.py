"""DataFrame-level statistics: one row per group of a results (or evaluations) table.

Status filtering and grouping (:mod:`.frames`), the baseline of a comparison (:mod:`.baseline`),
summaries, normality, outliers and expected best-of-n per configuration (:mod:`.summaries`),
test-set noise (:mod:`.noise`), variance components (:mod:`.variance`), comparisons with a
baseline (:mod:`.comparisons`) and within a grid (:mod:`.grid`), evaluation-only settings paired
by trial (:mod:`.paired`, :mod:`.evaluations`) and provenance (:mod:`.provenance`). Each
function filters the usable rows, groups them and applies an array statistic of
:mod:`analysis.stats`.
"""
