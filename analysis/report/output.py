"""What the report notebook's cells write and show: report.json as strict JSON, a table for
reading (folded when long), a section recorded and shown (:func:`show_section`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..load.io import PathLike
from ..present.conclusions import bullets
from ..present.figures import save_figure
from ..present.tables_readable import readable_html
from .section import Folded, Section, record

#: What the report writes in its output folder besides the notebook and its HTML.
REPORT_JSON, FIGURES_FOLDER = "report.json", "figures"
#: report.json's key of the "Beside the paper" rows ({table, comparison, paper, run, direction, decided,
#: sentence}: :mod:`analysis.report.sections_paper`), which ``rsb-sweep paper``'s index reads.
BESIDE_PAPER = "beside_paper"


def to_jsonable(obj: Any) -> Any:
    """Convert DataFrames, dataclasses, numpy and pandas values to strict JSON (NaN → null)."""
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(obj.to_dict() if hasattr(obj, "to_dict") else asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str | int):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def write_json(report: dict[str, Any], path: PathLike) -> Path:
    """Write the report dict as strict JSON (NaN become null; notes explain them)."""
    p = Path(path)
    p.write_text(json.dumps(to_jsonable(report), indent=1, allow_nan=False))
    return p


#: A table wider or longer than this is folded (``<details>``) under its section's sentences.
FOLD_COLUMNS, FOLD_ROWS = 7, 10


def folded(summary: str, body: str) -> str:
    """HTML that a reader opens on demand: ``<details>`` with ``summary`` as its one line."""
    return f"<details><summary>{escape(summary)}</summary>\n{body}\n</details>"


def table_html(df: pd.DataFrame, digits: int = 3, max_rows: int = 60) -> str:
    """A table for reading (:func:`~analysis.present.tables_readable.readable_html`: headers with
    units, no index), folded when it is wider than :data:`FOLD_COLUMNS` or longer than
    :data:`FOLD_ROWS`; at most ``max_rows`` rows (report.json has them all)."""
    body = readable_html(df.head(max_rows), digits)
    if len(df) > max_rows:
        body += f"<p>… {len(df) - max_rows} more rows in report.json</p>"
    if len(df.columns) > FOLD_COLUMNS or len(df) > FOLD_ROWS:
        rows = f"{len(df)} row{'s' if len(df) != 1 else ''}"
        return folded(f"The table: {rows}, {len(df.columns)} columns (every digit is in report.json)", body)
    return body


def show_markdown(item: str | Folded) -> None:
    """Display Markdown, or a :class:`~analysis.report.section.Folded` item as ``<details>`` (its
    Markdown rendered by nbconvert's own filter: Markdown inside an HTML block is not parsed)."""
    from IPython.display import HTML, Markdown, display

    if isinstance(item, Folded):
        from nbconvert.filters.markdown import markdown2html

        display(HTML(folded(item.summary, markdown2html(item.markdown))))
    else:
        display(Markdown(item))


def show(df: pd.DataFrame, digits: int = 3, max_rows: int = 60) -> None:
    """Display a table for reading (notebook helper; :func:`table_html`)."""
    from IPython.display import HTML, display

    display(HTML(table_html(df, digits, max_rows)))


def show_section(report: dict[str, Any], sec: Section, figures: Path) -> None:
    """Notebook helper: record a section in the report dict and show it, the answer before the
    evidence: its intro, its sentences, what comes after them (Table 9, Table 6), its figures
    (saved under ``figures``, their paths recorded in ``report["figures"]``), its notes, then its
    table (folded when long: :func:`table_html`)."""
    from IPython.display import Image, display

    record(report, sec)
    for text in sec.intro():
        show_markdown(text)
    if sec.name is not None:
        show_markdown(bullets(sec.sentences))
    for item in sec.after():
        if isinstance(item, pd.DataFrame):
            show(item)
        else:
            show_markdown(item)
    for plan in sec.figures:
        paths = save_figure(plan.draw(), figures / plan.file)
        report["figures"][plan.key]["files"] = paths
        display(Image(filename=str(paths[0]), width=plan.width))
    for text in sec.notes():
        show_markdown(text)
    if sec.table is not None and len(sec.table):
        show(sec.table, digits=sec.digits)
