"""Rendering a table of strings: the :class:`Table` result (frame, Markdown, LaTeX), GitHub
Markdown, booktabs LaTeX and HTML (no index column), without an external dependency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd


@dataclass(frozen=True)
class Table:
    """A rendered table: ``frame`` (cells as strings), ``markdown`` and ``latex`` text."""

    frame: pd.DataFrame
    markdown: str
    latex: str

    def __str__(self) -> str:
        return self.markdown

    def _repr_markdown_(self) -> str:
        return self.markdown


def markdown(frame: pd.DataFrame) -> str:
    """GitHub Markdown for a DataFrame of strings (no external dependency)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_md_escape(str(v)) for v in row) + " |")
    return "\n".join(lines)


def html(frame: pd.DataFrame) -> str:
    """An HTML table for a DataFrame of strings: a header row, no index column, text escaped;
    cells that read as numbers are right-aligned (class ``num``)."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        tds = "".join(f'<td class="num">{escape(v)}</td>' if _numeric(v) else f"<td>{escape(v)}</td>"
                      for v in map(str, row))
        rows.append(f"<tr>{tds}</tr>")
    return (f'<table class="rsb-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _numeric(s: str) -> bool:
    head = s.split(" ")[0].replace("−", "-").lstrip("+-")
    return bool(head) and head.replace(".", "", 1).replace("e-", "", 1).replace("e+", "", 1).isdigit()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def _tex_escape(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                 ("#", r"\#"), ("$", r"\$"), ("–", "--"), ("±", r"$\pm$"),
                 ("†", r"$^\dagger$")):
        s = s.replace(a, b)
    return s


def latex(frame: pd.DataFrame, midrules_before: Sequence[int] = (), caption: str = "") -> str:
    """booktabs LaTeX for a DataFrame of strings; a \\midrule before each row index given."""
    cols = list(frame.columns)
    spec = "l" * 1 + "c" * (len(cols) - 1)
    out = [r"\begin{table}[t]", r"\centering"]
    if caption:
        out.append(r"\caption{" + _tex_escape(caption) + "}")
    out += [r"\begin{tabular}{" + spec + "}", r"\toprule",
            " & ".join(_tex_escape(str(c)) for c in cols) + r" \\", r"\midrule"]
    for i, row in enumerate(frame.itertuples(index=False)):
        if i in midrules_before and i > 0:
            out.append(r"\midrule")
        out.append(" & ".join(_tex_cell(str(v)) for v in row) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out)


def _tex_cell(s: str) -> str:
    """Escape a cell for LaTeX; a leading **bold** part becomes \\textbf{…}."""
    if s.startswith("**") and "**" in s[2:]:
        end = s.index("**", 2)
        return r"\textbf{" + _tex_escape(s[2:end]) + "}" + _tex_escape(s[end + 2:])
    return _tex_escape(s)
