"""The report's "Race" section: an ``rsb-sweep race`` (race.json: the verdict, each
configuration's seeds, mean, drop and intervals, one entry per look) in sentences, a table and
:func:`analysis.present.figures_race.plot_race`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import RACE_FILE
from ..errors import AnalysisError
from ..present.figures_race import plot_race, race_leader
from ..text.race import dropped_sentences, race_sentence
from .section import FigurePlan, Section


@dataclass(kw_only=True)
class RaceSection(Section):
    """``data``: race.json; ``table``: one row per configuration; ``leader``: the configuration the
    figure measures the others against."""

    name = "race"
    leader: str | None = None


def find_race(experiment: Path | str) -> dict[str, Any] | None:
    """The experiment's ``race.json`` (an ``rsb-sweep race``), or None without one."""
    path = Path(experiment) / RACE_FILE
    if not Path(experiment).is_dir() or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise AnalysisError(f"{path} is not valid JSON ({e}); rerun `rsb-sweep resume` to rewrite it.") from None


def race_table(doc: dict[str, Any], leader: int) -> pd.DataFrame:
    """One row per configuration: seeds given, mean, its interval against the leader, the drop."""
    name = doc["configurations"][leader]["name"]
    rows = []
    for c in doc["configurations"]:
        interval = c["intervals"].get(name, {})
        rows.append({"configuration": c["name"], "seeds": c["n"], "mean": c["mean"],
                     "vs leader low": interval.get("low"), "vs leader high": interval.get("high"),
                     "survives": c["alive"], "dropped at wave": c["dropped_at_wave"], "dropped by": c["dropped_by"]})
    return pd.DataFrame(rows).astype({"mean": float, "vs leader low": float, "vs leader high": float})


def race_section(doc: dict[str, Any] | None) -> RaceSection:
    """The race's verdict, a sentence per dropped configuration, the trainings it used against the
    fixed design at the same seeds, the table and the figure (once a wave has finished)."""
    if doc is None:
        return RaceSection(sentences=["No race.json in this experiment (not an `rsb-sweep race`)."])
    sentences = [race_sentence(doc)]
    if not doc.get("looks"):
        return RaceSection(sentences=sentences, data=doc)
    sentences += dropped_sentences(doc)
    k = len(doc["configurations"])
    unit = "models trained (each evaluated at every configuration)" if doc.get("paired") else "trainings"
    fixed = doc["n"] if doc.get("paired") else k * doc["n"]
    sentences.append(f"{doc['trainings']} {unit}, against {fixed} for every configuration at {doc['n']} seeds "
                     f"and {k * doc['max_seeds'] if not doc.get('paired') else doc['max_seeds']} at the cap of "
                     f"{doc['max_seeds']}.")
    leader = race_leader(doc)
    plan = FigurePlan(key="race", file="race", width=720, plot=plot_race, kwargs={"doc": doc},
                      annotations={"leader": doc["configurations"][leader]["name"], "verdict": doc["verdict"]})
    return RaceSection(sentences=sentences, data=doc, table=race_table(doc, leader), figures=[plan],
                       leader=doc["configurations"][leader]["name"])
