"""What the report notebook's cells write and show: report.json as strict JSON, a table rounded
for reading, a section recorded and shown (:func:`show_section`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..load.io import PathLike
from ..present.conclusions import bullets
from ..present.figures import save_figure
from .section import Section, record

#: What the report writes in its output folder besides the notebook and its HTML.
REPORT_JSON, FIGURES_FOLDER = "report.json", "figures"


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


def show(df: pd.DataFrame, digits: int = 3, max_rows: int = 60) -> None:
    """Display a table rounded for reading (notebook helper)."""
    from IPython.display import display

    d = df.head(max_rows).copy()
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            d[c] = d[c].round(digits)
    display(d.reset_index(drop=True))
    if len(df) > max_rows:
        display(f"… {len(df) - max_rows} more rows in report.json")


def show_section(report: dict[str, Any], sec: Section, figures: Path) -> None:
    """Notebook helper: record a section in the report dict and show it: its intro, table,
    sentences, what comes after them, its figures (saved under ``figures``, their paths recorded
    in ``report["figures"]``) and its notes."""
    from IPython.display import Image, Markdown, display

    record(report, sec)
    for text in sec.intro():
        display(Markdown(text))
    if sec.table is not None and len(sec.table):
        show(sec.table, digits=sec.digits)
    if sec.name is not None:
        display(Markdown(bullets(sec.sentences)))
    for item in sec.after():
        if isinstance(item, str):
            display(Markdown(item))
        else:
            show(item)
    for plan in sec.figures:
        paths = save_figure(plan.draw(), figures / plan.file)
        report["figures"][plan.key]["files"] = paths
        display(Image(filename=str(paths[0]), width=plan.width))
    for text in sec.notes():
        display(Markdown(text))
