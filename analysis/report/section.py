"""What a report section returns: its sentences, the table it shows, what report.json holds, and
the figures it draws, as typed fields (one dataclass per section, in :mod:`.sections` and
:mod:`.sections_compare`), so that the notebook's cells read attributes, not dict keys.

A section is shown in one order, the answer before the evidence
(:func:`analysis.report.output.show_section`): its Markdown ``intro``, its sentences, what it shows
``after`` them (Table 9, Table 6, a list of excluded trials), its figures, its ``notes``, then its
table (folded when long). A :class:`Folded` item in ``intro``/``after``/``notes`` is shown
folded (``<details>``): long diagnostics a reader opens on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd


@dataclass(frozen=True, kw_only=True)
class FigurePlan:
    """A figure a section asks for: ``plot(**kwargs)``, saved as ``figures/<file>.png/.pdf``,
    recorded in report.json's ``figures[key]`` and shown ``width`` pixels wide."""

    key: str
    file: str
    width: int
    plot: Callable[..., Any]
    kwargs: dict[str, Any]
    #: What the figure prints, from the result the section's sentences use (``figures[key]``).
    annotations: dict[str, Any] = field(default_factory=dict)

    def draw(self) -> Any:
        return self.plot(**self.kwargs)


@dataclass(frozen=True)
class Folded:
    """Markdown shown folded under a one-line ``summary`` (HTML ``<details>``)."""

    summary: str
    markdown: str


@dataclass(frozen=True)
class TableText:
    """A rendered table as report.json keeps it: Markdown and LaTeX."""

    markdown: str
    latex: str


@dataclass(kw_only=True)
class Section:
    """One section: ``name`` is its report.json key (None for a figure-only section, which adds
    no sentences), ``data`` what report.json holds under it, ``table`` what the notebook shows."""

    name: ClassVar[str | None] = None
    #: Decimals of the table as shown (report.json keeps every digit).
    digits: ClassVar[int] = 3

    sentences: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    data: Any = None
    figures: list[FigurePlan] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        """report.json's keys from this section besides its sentences (``conclusions[name]``)."""
        return {} if self.data is None else {self.name: self.data}

    def intro(self) -> list[str | Folded]:
        """Markdown shown before the sentences."""
        return []

    def after(self) -> list[str | Folded | pd.DataFrame]:
        """Markdown or tables shown after the sentences."""
        return []

    def notes(self) -> list[str | Folded]:
        """Markdown shown after the figures."""
        return []


def record(report: dict[str, Any], sec: Section) -> None:
    """Put a section's data and sentences into the report dict (report.json's layout)."""
    if sec.name is not None:
        report["conclusions"][sec.name] = list(sec.sentences)
    report.update(sec.json())
    for plan in sec.figures:  # issue 16: what each figure prints, beside its files
        report["figures"].setdefault(plan.key, {})["annotations"] = plan.annotations
