"""The error the analysis raises, and the one check of a table's columns.

Imports nothing of the package: every layer (load, stats, groups, present, report) raises
:class:`AnalysisError` with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class AnalysisError(ValueError):
    """Input the analysis cannot use. The message says what is wrong and how to fix it."""


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`AnalysisError` naming every column of ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "(none)"
        raise AnalysisError(
            f"{what} needs column(s) {', '.join(missing)}, which the table lacks "
            f"(it has: {have})."
        )
