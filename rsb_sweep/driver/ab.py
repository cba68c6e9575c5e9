"""``rsb-sweep ab``: add seeds to two arms, a wave at a time, until the comparison is decided.

Both arms run on the same seeds. The experiment's manifest holds the waves started so far
(unstarted waves are not in it) and, under ``"ab"``, the arms, the settings and the wave ends,
so that ``resume`` continues an interrupted ``ab`` and ``status`` reads it from files alone.
The loop is :func:`rsb_sweep.driver.waves.run_waves` (shared with ``race``); this module is
``ab``'s design on it (:data:`AB_DESIGN`: the look, the failures, the next wave).
After each wave :func:`analysis.stats.sequential.sequential_compare` (an anytime-valid confidence sequence for
mean(A) − mean(B), looks at the wave ends) decides; ``<experiment>/decision.json`` holds the
verdict and one entry per look. The loop stops at a decision, at ``max_seeds`` seeds per arm
(``undecided``), after a wave in which a trial failed (exit 1; ``resume`` continues, with
``--retry-failed`` rerunning it), or with trials unfinished (exit 3).

Arms that differ only in evaluation-only fields (crop ratio, test resolution) train once: each
wave trains one model per seed, evaluates it at both arms' settings from its final checkpoint
(:mod:`rsb_sweep.driver.evaluate`, the manifest's ``evaluate`` plan), and the confidence sequence is
taken on the paired differences (the same model under two settings: training noise cancels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from analysis.contract import ERROR
from rsb_sweep.driver.decide import arm_rows, decide
from rsb_sweep.driver.waves import WaveDesign, run_waves
from rsb_sweep.experiment.decision import describe, write_decision
from rsb_sweep.spec.ab import AbSettings, with_wave_end, wave_trials

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.sweep import SweepOutcome
    from rsb_sweep.driver.waves import Growth
    from rsb_sweep.experiment.folder import Experiment


def settings_of(exp: "Experiment") -> AbSettings:
    """The ``ab`` settings the manifest holds (its wave ends so far)."""
    return AbSettings.from_dict(exp.manifest["ab"])


def run_ab(exp: "Experiment", options: "LaunchOptions", console: "Console",
           launch: Callable[["LaunchOptions"], "SweepOutcome"]) -> tuple["SweepOutcome", dict[str, Any]]:
    """Run the unfinished trials of ``exp``, look, add a wave, … until decided (see the module docstring).

    The loop is :func:`rsb_sweep.driver.waves.run_waves` with :data:`AB_DESIGN`. ``launch(options)``
    runs the experiment's unfinished trials (and their evaluations, when the arms differ only in
    evaluation): :func:`rsb_sweep.driver.command.run_sweep_command` gives
    :func:`rsb_sweep.driver.sweep.run_experiment` then :func:`rsb_sweep.driver.evaluate.run_evaluations`
    in the command's one Ray session, which serves every wave. Returns the last launch's outcome
    (its counts cover every trial; its time the whole loop) and decision.json's content.
    """
    return run_waves(exp, options, console, launch, AB_DESIGN)


def look(exp: "Experiment", results: "pd.DataFrame") -> tuple[dict[str, Any], set[str]]:
    """decision.json's content for the results so far, written; and the failed trials (evaluations read once)."""
    settings = settings_of(exp)
    evaluations = _evaluations(exp, settings)
    doc = decide(results, exp.trials, settings, evaluations)
    write_decision(exp, doc)
    return doc, _failed(results, exp, settings, evaluations)


def failed_trials(exp: "Experiment", results: "pd.DataFrame") -> set[str]:
    """Failed trials (or failed evaluations of an arm, for arms that differ only in evaluation)."""
    settings = settings_of(exp)
    return _failed(results, exp, settings, _evaluations(exp, settings))


def next_wave(exp: "Experiment", doc: dict[str, Any]) -> "Optional[Growth]":
    """The next wave of both arms, or None once decided or at ``max_seeds``."""
    settings = settings_of(exp)
    done = settings.wave_ends[-1] if settings.wave_ends else 0
    if doc["decision"] != "running" or done >= settings.max_seeds:
        return None
    n = min(settings.wave, settings.max_seeds - done)
    trials = wave_trials(exp.spec, settings, len(exp.trials), done, n)
    return trials, {"ab": with_wave_end(settings, done + n).to_dict()}


#: ``ab`` as a wave design.
AB_DESIGN = WaveDesign(failed=failed_trials, look=look, describe=describe, next_wave=next_wave)


def _evaluations(exp: "Experiment", settings: AbSettings) -> "Optional[pd.DataFrame]":
    """The experiment's evaluations, when the arms differ only in evaluation (else not needed)."""
    if not settings.eval_only:
        return None
    from rsb_sweep.experiment.evaluations import build_evaluations

    return build_evaluations(exp)


def _failed(results: "pd.DataFrame", exp: "Experiment", settings: AbSettings,
            evaluations: "Optional[pd.DataFrame]") -> set[str]:
    """Failed trials (or failed evaluations of an arm, for arms that differ only in evaluation)."""
    table, _ = arm_rows(results, exp.trials, settings, evaluations)
    return set(table.loc[table["status"] == ERROR, "trial_id"])
