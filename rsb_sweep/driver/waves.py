"""The wave loop shared by ``rsb-sweep ab`` and ``rsb-sweep race``: run what the experiment's
manifest holds, look at the results, and, while the design says so, grow the manifest by the
next wave of seeds and run again.

A design (:class:`WaveDesign`) says what a look is and what the next wave is; the loop owns the
rest: one launch per wave in the command's one Ray session, the failures that stop the loop
(a trial that failed in this launch: exit 1, ``resume`` continues, ``--retry-failed`` reruns
it), trials left unfinished (exit 3), and the manifest growth, atomic and under the
experiment's lock, so that ``resume`` continues an interrupted loop and ``status`` reads it
from files alone. ``ab`` (:mod:`rsb_sweep.driver.ab`) and ``race``
(:mod:`rsb_sweep.driver.race`) are two designs on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Optional

from analysis.contract import PENDING, RUNNING

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.sweep import SweepOutcome
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.spec.model import TrialSpec

#: The next wave: its trials and the manifest's top-level keys to set with them.
Growth = tuple["list[TrialSpec]", dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class WaveDesign:
    """What a wave loop decides with: each function reads the experiment's files (and the results table).

    ``failed(exp, results)``: the ids whose failure counts (trials, or the evaluations a look reads);
    ``look(exp, results)``: the look's document, written to the experiment folder, and the failed
    ids (as ``failed`` gives them, from the same reading of the files);
    ``describe(doc)``: its one line; ``next_wave(exp, doc)``: the next wave, or None when the
    design is done (decided, or at its seed cap).
    """

    failed: Callable[["Experiment", "pd.DataFrame"], set[str]]
    look: Callable[["Experiment", "pd.DataFrame"], tuple[dict[str, Any], set[str]]]
    describe: Callable[[dict[str, Any]], str]
    next_wave: Callable[["Experiment", dict[str, Any]], Optional[Growth]]


def run_waves(exp: "Experiment", options: "LaunchOptions", console: "Console",
              launch: Callable[["LaunchOptions"], "SweepOutcome"],
              design: WaveDesign) -> tuple["SweepOutcome", dict[str, Any]]:
    """Launch, look, grow by a wave, … until ``design`` is done, a trial failed in this command, or
    trials are left unfinished. Returns the last launch's outcome (its counts cover every trial, its
    time the whole loop) and the last look's document.

    ``launch(options)`` runs the experiment's unfinished trials (and their evaluations), in the
    command's Ray session. Failures from before this command are accepted as missing seeds (with
    ``retry_failed`` they rerun, in the first launch).
    """
    from rsb_sweep.experiment.results import build_results

    start = time.time()
    failed_before = set() if options.retry_failed else design.failed(exp, build_results(exp))
    while True:
        outcome = launch(options)
        options = replace(options, retry_failed=False)
        doc, failed = design.look(exp, outcome.results)
        if not options.quiet:
            console.print(design.describe(doc), highlight=False, markup=False)
        unfinished = outcome.counts[RUNNING] + outcome.counts[PENDING]
        if unfinished or failed - failed_before:
            break
        growth = design.next_wave(exp, doc)
        if growth is None:
            break
        trials, changes = growth
        with exp.lock():
            exp.grow(trials, **changes)
    return replace(outcome, wall_seconds=time.time() - start), doc
