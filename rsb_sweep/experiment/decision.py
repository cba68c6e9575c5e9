"""``<experiment>/decision.json``: the verdict of an ``rsb-sweep ab`` and one entry per look, on disk.

Written by the wave loop (:mod:`rsb_sweep.driver.ab`), read by ``status`` and the report, from
files alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from analysis.contract import DECISION_FILE
from trainer.files import atomic_write_json

if TYPE_CHECKING:
    from rsb_sweep.experiment.folder import Experiment


def write_decision(exp: "Experiment", doc: Mapping[str, Any]) -> None:
    atomic_write_json(exp.root / DECISION_FILE, dict(doc))


def read_decision(exp: "Experiment") -> Optional[dict[str, Any]]:
    """decision.json, or None before the first look."""
    import json

    try:
        return json.loads((exp.root / DECISION_FILE).read_text())
    except (OSError, ValueError):
        return None


def describe(doc: Mapping[str, Any]) -> str:
    """One line for ``status`` and the end of a run: the verdict and the current interval."""
    return (f"ab decision: {doc['decision']} after {doc['n']} of at most {doc['max_seeds']} seeds per arm. "
            f"{doc['sentence']}")
