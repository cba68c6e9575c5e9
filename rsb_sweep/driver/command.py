"""The driver's entry points, one per kind of command: which steps run (train, evaluate, decide),
in what order, and what each command gets back to print. Runs in the driver process.

* :func:`run_sweep_command` (``seeds``, ``grid``, ``run``, ``ab``, ``race``, ``resume``): train the
  trials that have not ended (the wave loop of ``ab`` or ``race`` when the manifest holds one,
  deciding after each wave), then evaluate the trained models at the experiment's plan.
* :func:`run_evaluate_command` (``evaluate``): the evaluations only.

Each runs in ONE Ray session (:class:`~rsb_sweep.driver.raysession.CommandRay`), owned here: started
when the first trial or evaluation is about to be dispatched, kept for every later step and wave,
shut down when the command returns or is interrupted. (Before, training and evaluating each
started their own, so a sweep with an evaluation plan started Ray twice.)

Whatever interrupts them (Ctrl-C, SIGTERM), the tables are rewritten from the trial folders
before the exception leaves, so that they match the folders when the command exits 130.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from rich.console import Console

from rsb_sweep.driver.ab import run_ab
from rsb_sweep.driver.race import run_race
from rsb_sweep.driver.evaluate import EvaluationOutcome, run_evaluations
from rsb_sweep.driver.options import LaunchOptions
from rsb_sweep.driver.raysession import CommandRay
from rsb_sweep.driver.sweep import SweepOutcome, run_experiment
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.tables import write_tables


@dataclass(frozen=True, kw_only=True)
class CommandOutcome:
    """What a sweep command did: the trials, the evaluations (None without a plan), the ``ab`` decision
    (decision.json) or the ``race``'s verdict (race.json)."""

    sweep: SweepOutcome
    evaluations: Optional[EvaluationOutcome] = None
    decision: Optional[dict[str, Any]] = None


def run_sweep_command(exp: Experiment, options: LaunchOptions, console: Console,
                      on_dispatch: Callable[[], None]) -> CommandOutcome:
    """Train what ``exp`` still needs (an ``ab`` a wave at a time, until decided), then evaluate.

    ``on_dispatch`` is called before the first trial or evaluation is handed to Ray (after it an
    error is a crash, not a usage error: :mod:`rsb_sweep.cli.exitstatus`).
    """
    say = _say(console, options)
    decision = None
    try:  # at any point, also while Ray starts: the tables match the trial folders before we exit 130
        with CommandRay(options.address, options.dashboard, options.num_cpus, say) as ray:

            def launch(opts: LaunchOptions) -> SweepOutcome:  # train what has not ended, then evaluate it
                sweep = run_experiment(exp, opts, console=console, on_dispatch=on_dispatch, ray=ray)
                if exp.evaluate:
                    run_evaluations(exp, opts, say, on_dispatch=on_dispatch, ray=ray)
                return sweep

            if exp.manifest.get("ab"):  # an `ab` comparison: waves until decided (rsb_sweep.driver.ab)
                sweep, decision = run_ab(exp, options, console, launch)
            elif exp.manifest.get("race"):  # a `race`: waves to the survivors until it stops (rsb_sweep.driver.race)
                sweep, decision = run_race(exp, options, console, launch)
            else:
                sweep = run_experiment(exp, options, console=console, on_dispatch=on_dispatch, ray=ray)
            evaluations = run_evaluations(exp, options, say, on_dispatch=on_dispatch, ray=ray) if exp.evaluate else None
    except KeyboardInterrupt:  # (a signal while Ray started once left no results table: CI, 2026-12-07)
        write_tables(exp)
        raise
    return CommandOutcome(sweep=sweep, evaluations=evaluations, decision=decision)


def run_evaluate_command(exp: Experiment, options: LaunchOptions, console: Console,
                         on_dispatch: Callable[[], None]) -> EvaluationOutcome:
    """Evaluate the experiment's trained models at every setting of its plan that they lack (one Ray
    session, started only if an evaluation is missing)."""
    say = _say(console, options)
    with CommandRay(options.address, options.dashboard, options.num_cpus, say) as ray:
        return run_evaluations(exp, options, say, on_dispatch=on_dispatch, ray=ray)


def _say(console: Console, options: LaunchOptions) -> Callable[[str], None]:
    """A progress line printer (silent with ``--quiet``)."""
    return (lambda line: None) if options.quiet else (lambda line: console.print(line, markup=False))
