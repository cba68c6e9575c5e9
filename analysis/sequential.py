"""The anytime-valid A/B comparison: a public submodule re-exporting its homes.

The statistics are :mod:`analysis.stats.sequential`'s, the verdict sentence is
:func:`analysis.text.verdicts.verdict_sentence`, the figure is
:func:`analysis.present.figures_sequential.plot_stopping_path`. ``rsb-sweep ab`` imports
``sequential_compare`` and ``verdict_sentence`` from their homes; here, the figure is imported on first use
(PEP 562), so deciding loads no matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

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
from .text.verdicts import verdict_sentence  # noqa: F401 (re-exported)

__all__ = ["DECISIONS", "DEFAULT_PHI", "ConfidenceSequence", "confidence_sequence", "cs_radius", "decide",
           "first_decision", "log_bayes_factor", "plot_stopping_path", "resolve_paired", "sequential_compare",
           "verdict_sentence"]


def __getattr__(name: str) -> Any:
    if name == "plot_stopping_path":
        return importlib.import_module(".present.figures_sequential", __package__).plot_stopping_path
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
