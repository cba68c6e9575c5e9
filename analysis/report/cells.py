"""The report notebook's cells: a title, a setup cell, a heading and a code cell per step of
:data:`analysis.report.steps.STEPS` that the experiment has inputs for (the answer first,
provenance last), and the conclusions (folded).

Each code cell calls one section function of :mod:`analysis.sections` and shows what it
returns (:func:`analysis.report.output.show_section`); which figures a section draws, and
whether, is the section's decision, made in Python, not in the cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..contract import DECISION_FILE, HISTORY_STEM, MAIN_METRIC, RACE_FILE
from ..errors import AnalysisError
from ..load.io import evaluations_file, table_file
from .output import FIGURES_FOLDER, REPORT_JSON
from .sections_transfer import is_transfer
from .steps import STEPS, step_wanted

#: The title; what the report is and how it was made are under Provenance, at the end.
TITLE = "# Seed-variance report: {name}"

SETUP = """\
import warnings
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

import analysis as A
import analysis.sections as S
from analysis.report.output import show_markdown, show_section, write_json
from analysis.report.section import Folded
from analysis.report.steps import answer

warnings.filterwarnings("ignore", category=FutureWarning)
RESULTS = Path({results!r})
EXPERIMENT = Path({experiment!r})
HISTORY = {history!r}
OUT = Path({out!r})
FIGURES = OUT / {figures!r}
BASELINE = {baseline!r}
METRIC = {metric!r}

df = A.load_results(RESULTS)
BY = A.config_columns(df)          # configuration columns that vary: the groups compared
PREDICTIONS = S.find_predictions(EXPERIMENT)  # per-image predictions, if the run wrote them
EVALUATIONS = S.find_evaluations(EXPERIMENT)  # evaluations.parquet (rsb-sweep evaluate), if any
DECISION = S.find_decision(EXPERIMENT)        # decision.json (rsb-sweep ab), if any
REPORT = {{"conclusions": {{}}, "figures": {{}}}}
"""

CONCLUSIONS = ("## Conclusions\nEvery sentence above, in one place (also in report.json).", """\
from analysis.conclusions import bullets
show_markdown(Folded("Every sentence of the report, section by section",
                     "\\n".join(f"**{{k}}**\\n\\n" + bullets(v) + "\\n" for k, v in REPORT["conclusions"].items())))
_ = write_json(REPORT, OUT / {report_json!r})
""")


def available_inputs(experiment: Path) -> dict[str, Any]:
    """What the experiment folder holds that a step may need: decision.json, evaluations.parquet
    (True when there) and history.parquet (its path; None without one)."""
    history = None
    if experiment.is_dir():
        try:
            history = table_file(experiment, HISTORY_STEM)
        except AnalysisError:
            history = None
    return {"decision": (experiment / DECISION_FILE).is_file() or None,
            "evaluations": evaluations_file(experiment) is not None or None, "history": history,
            "race": (experiment / RACE_FILE).is_file() or None}


def cells(results: Path, experiment: Path, out: Path, baseline: Any) -> list[tuple[str, str]]:
    """(kind, source) of every cell; code cells only call public analysis functions."""
    have = available_inputs(experiment)
    have["transfer"] = is_transfer(results)  # issue 20: a transfer table gets the Transfer section
    hist = have["history"]
    setup = SETUP.format(results=str(results), experiment=str(experiment), history=str(hist) if hist else None,
                         out=str(out), figures=FIGURES_FOLDER, baseline=baseline, metric=MAIN_METRIC)
    out_cells: list[tuple[str, str]] = [("md", TITLE.format(name=experiment.name)), ("code", setup)]
    for step in STEPS:
        if step_wanted(step, have, have["transfer"]):
            out_cells += [("md", step.heading), ("code", step.code)]
    heading, code = CONCLUSIONS
    return out_cells + [("md", heading), ("code", code.format(report_json=REPORT_JSON))]
