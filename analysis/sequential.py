"""The anytime-valid A/B comparison, re-exported from its home :mod:`analysis.stats.sequential`.

A public submodule (``rsb-sweep ab`` imports ``sequential_compare`` and ``verdict_sentence``
from here)."""

from .stats.sequential import (  # noqa: F401 (re-exported)
    DECISIONS,
    DEFAULT_PHI,
    ConfidenceSequence,
    confidence_sequence,
    cs_radius,
    decide,
    first_decision,
    log_bayes_factor,
    resolve_paired,
    sequential_compare,
)
from .present.figures_sequential import plot_stopping_path  # noqa: F401 (re-exported)
from .text.verdicts import verdict_sentence  # noqa: F401 (re-exported)
