"""The index of a paper run: ``PARENT/paper.json`` and ``PARENT/paper.html``, a row per table or figure.

Each row says the study's status, where its report is, its trials' and evaluations' counts, and
the agree / disagree / undecided summary of its report's "beside the paper" rows (the
``beside_paper`` list of the study's ``report.json``; None when the report has none). Every count
comes from the files: the study's ``report.json`` and what the driver measured
(:mod:`rsb_sweep.driver.paper`); nothing is typed here. ``paper-plan.json`` (written once, when
the run is created) is what marks a folder as a paper parent (``rsb-sweep resume PARENT``).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from analysis.contract import ERROR, PENDING, RUNNING, TERMINATED
from trainer.files import atomic_write_bytes

PLAN_FILE = "paper-plan.json"
INDEX_JSON = "paper.json"
INDEX_HTML = "paper.html"
MODELS_DIR = "models"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
DIRECTIONS = ("agree", "disagree", "undecided")
#: A study's status in the index, least to most severe.
STATUSES = ("done", "failed", "report_failed", "unfinished")


@dataclass(frozen=True, kw_only=True)
class IndexRow:
    """One table or figure of the index."""

    key: str
    title: str
    status: str  # one of STATUSES
    folder: str  # relative to the parent
    report: Optional[str]  # report.html, relative to the parent; None until written
    trials: Mapping[str, int]  # by status
    evaluations: Mapping[str, int]  # by status (empty without an evaluation plan)
    beside_paper: Optional[Mapping[str, int]]  # agree / disagree / undecided counts; None without the section
    error: Optional[str] = None
    state: str = ""  # what the report was made from (trial and evaluation counts)


def is_paper_parent(folder: Path) -> bool:
    """Whether ``folder`` holds a paper run (its ``paper-plan.json``)."""
    return (Path(folder) / PLAN_FILE).is_file()


def beside_paper_summary(report_json: Path) -> Optional[dict[str, int]]:
    """The agree / disagree / undecided counts of ``report_json``'s ``beside_paper`` rows, or None when
    the file or the section is absent."""
    try:
        doc = json.loads(Path(report_json).read_text())
    except (OSError, ValueError):
        return None
    rows = doc.get("beside_paper") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        return None
    counts = {d: 0 for d in DIRECTIONS}
    for row in rows:
        direction = row.get("direction") if isinstance(row, dict) else None
        if direction in counts:
            counts[direction] += 1
    return counts


def read_index(parent: Path) -> dict[str, dict[str, Any]]:
    """The rows of an existing ``paper.json`` by study key (empty when there is none)."""
    try:
        doc = json.loads((Path(parent) / INDEX_JSON).read_text())
    except (OSError, ValueError):
        return {}
    return {row["key"]: row for row in doc.get("studies", []) if isinstance(row, dict) and "key" in row}


def write_index(parent: Path, rows: Sequence[IndexRow], models: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``paper.json`` and ``paper.html`` atomically; return their paths."""
    parent = Path(parent)
    doc = {"format": 1, "updated": time.time(), "models": dict(models), "studies": [asdict(r) for r in rows]}
    json_path, html_path = parent / INDEX_JSON, parent / INDEX_HTML
    atomic_write_bytes(json_path, json.dumps(doc, indent=1, default=dict).encode())
    atomic_write_bytes(html_path, render_html(doc).encode())
    return json_path, html_path


def counts_line(counts: Mapping[str, int]) -> str:
    """``{TERMINATED: 3, ERROR: 1}`` -> ``3 done, 1 failed`` (zero counts left out; ``nothing`` for none)."""
    names = {TERMINATED: "done", ERROR: "failed", RUNNING: "running", PENDING: "pending"}
    return ", ".join(f"{v} {names.get(k, k.lower())}" for k, v in counts.items() if v) or "nothing"


def render_html(doc: Mapping[str, Any]) -> str:
    """The index page: one row per table or figure, linking its report (one file, no script)."""
    esc = html.escape
    lines = []
    for row in doc["studies"]:
        report = f'<a href="{esc(row["report"])}">report</a>' if row.get("report") else "—"
        beside = row.get("beside_paper")
        beside_text = " / ".join(str(beside[d]) for d in DIRECTIONS) if beside else "—"
        error = f'<br><small>{esc(row["error"])}</small>' if row.get("error") else ""
        lines.append(f"<tr><td>{esc(row['title'])}</td><td>{esc(row['status'])}{error}</td><td>{report}</td>"
                     f"<td>{esc(counts_line(row['trials']))}</td><td>{esc(counts_line(row['evaluations']))}</td>"
                     f"<td>{esc(beside_text)}</td></tr>")
    models = doc.get("models", {})
    return ("<!doctype html><html><head><meta charset='utf-8'><title>ResNet strikes back: the paper on this run"
            "</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:left;"
            "border-bottom:1px solid #ddd}</style></head><body><h1>The paper, table by table</h1>"
            f"<p>{esc(str(models.get('trainings', '?')))} distinct (configuration, seed) trainings, each trained "
            f"once and shared by every study that uses it ({esc(counts_line(models.get('trials', {})))}).</p>"
            "<table><tr><th>table / figure</th><th>status</th><th>report</th><th>trials</th><th>evaluations</th>"
            "<th>beside the paper: agree / disagree / undecided</th></tr>" + "".join(lines) + "</table></body></html>")
