"""What the commands print: the start of a sweep, its summary and failures, the evaluations, the
``ab`` decision, ``status``; and the exit status that what happened calls for."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from analysis.contract import (DECISION_FILE, ERROR, EVALUATIONS_PARQUET, PENDING, RACE_FILE, RESULTS_PARQUET, RUNNING,
                               TERMINATED)
from rsb_sweep.cli.app import console, err_console
from rsb_sweep.cli.exitstatus import ExitStatus

if TYPE_CHECKING:
    from rich.console import Console

    from rsb_sweep.driver.command import CommandOutcome
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.experiment.status import StatusReport


#: At most this many failed trials are listed at the end of a sweep (``status`` lists them all).
_MAX_LISTED_FAILURES = 10


def print_outcome(exp: "Experiment", outcome: "CommandOutcome") -> ExitStatus:
    """The summary of a sweep command (each failure with its error file, the evaluations, the ``ab``
    decision); returns the exit status that what happened calls for."""
    from rsb_sweep.experiment.store import ERROR_FILE

    sweep = outcome.sweep
    c = sweep.counts
    console.print(f"results: {exp.root / RESULTS_PARQUET}  ({c[TERMINATED]} done, {c[ERROR]} failed, "
                  f"{c[RUNNING] + c[PENDING]} not finished; {sweep.wall_seconds:.1f} s)")
    failed = sweep.results[sweep.results["status"] == ERROR]
    for row in failed.head(_MAX_LISTED_FAILURES).itertuples():
        err_console.print(f"failed {row.trial_id}: {row.error}\n  error file: {exp.store.path(row.trial_id, ERROR_FILE)}",
                          markup=False)
    if len(failed) > _MAX_LISTED_FAILURES:
        err_console.print(f"… and {len(failed) - _MAX_LISTED_FAILURES} more failed trials; `rsb-sweep status {exp.root}` "
                          "lists them all")
    if sweep.unstarted_error:
        err_console.print(f"error: {sweep.unstarted_error}", markup=False)
    if outcome.decision is not None:
        decision = outcome.decision
        file = RACE_FILE if "survivors" in decision else DECISION_FILE  # a race's verdict, or ab's
        console.print(f"decision: {decision['decision']}  ({exp.root / file})\n{decision['sentence']}",
                      highlight=False, markup=False)
    code = ExitStatus.for_counts(c)
    if outcome.evaluations is not None:
        code = max(code, report_evaluations(exp, outcome.evaluations), key=_SEVERITY.index)
    if code == ExitStatus.UNFINISHED:
        err_console.print(f"some trials did not finish; continue with  rsb-sweep resume {exp.root}")
    return code


#: Exit statuses from least to most severe, to combine the trials' and the evaluations'.
_SEVERITY = [ExitStatus.OK, ExitStatus.TRIALS_FAILED, ExitStatus.UNFINISHED]


def report_evaluations(exp: Any, outcome: Any) -> ExitStatus:
    """Print the evaluations' summary and each failure; the exit status they call for."""
    c = outcome.counts
    console.print(f"evaluations: {exp.root / EVALUATIONS_PARQUET}  ({c[TERMINATED]} done, {c[ERROR]} failed, "
                  f"{c[PENDING]} waiting for their trial; {outcome.evaluated} computed now, "
                  f"{outcome.wall_seconds:.1f} s)")
    failed = outcome.table[(outcome.table["status"] == ERROR) & (outcome.table["source"] == "evaluation")]
    for row in failed.head(_MAX_LISTED_FAILURES).itertuples():
        err_console.print(f"failed evaluation {row.trial_id} {row.eval_set} crop_pct={row.crop_pct:g} "
                          f"test_res={row.test_res}: {row.error}", markup=False)
    if len(failed):
        err_console.print(f"retry them with  rsb-sweep evaluate {exp.root} --retry-failed")
    return ExitStatus.for_counts({ERROR: c[ERROR], PENDING: c[PENDING]})


def describe_start(spec: Any, trials: list, execution: Any, kwargs: dict[str, Any]) -> None:
    if kwargs.get("quiet"):
        return
    from dataclasses import asdict

    from trainer.presets import describe_preset
    from trainer.recipes import get_recipe

    console.print(f"sweep {spec.name}: {len(trials)} trials ({spec.source})")
    if spec.evaluate:
        from rsb_sweep.experiment.evaluations import trial_keys

        n = sum(1 for t in trials for _, from_training in trial_keys(t.config.to_dict(), spec.evaluate) if not from_training)
        console.print(f"then each trained model is evaluated from its final checkpoint at {spec.evaluate.describe()} "
                      f"({n} evaluations, no retraining)")
    first = trials[0].config
    if first.data is None and first.dataset == "digits":
        # one line per recipe: the preset scales A3 on its own (trainer.presets.RECIPE_SCALES)
        by_recipe = {t.config.recipe: t.config for t in trials}
        for recipe, config in by_recipe.items():
            line = describe_preset(config.to_dict(), asdict(get_recipe(recipe)))
            console.print(f"{recipe.upper()}: {line}" if len(by_recipe) > 1 else line)
        stand_ins = getattr(spec, "describe_stand_ins", lambda: "")()
        if stand_ins:
            console.print(stand_ins, highlight=False, markup=False)


def print_status(report: "StatusReport", exp: "Experiment", console: "Console") -> None:
    """Human-readable status."""
    from rich.table import Table

    from rsb_sweep.driver.progress import fmt_seconds

    c = report.counts
    console.print(f"[bold]{report.name}[/bold]  ({exp.root})")
    console.print(f"  done {c[TERMINATED]}   running {c[RUNNING]}   failed {c[ERROR]}   pending {c[PENDING]}"
                  f"   of {report.total}", highlight=False)
    if report.top1_n:
        spread = f" ± {report.top1_std:.2f}" if report.top1_n > 1 else ""
        console.print(f"  top-1 so far: {report.top1_mean:.2f}{spread} % (mean ± std over {report.top1_n} finished trials)",
                      highlight=False)
    if report.evaluations is not None:
        e = report.evaluations
        console.print(f"  evaluations ({report.plan}): done {e[TERMINATED]}   failed {e[ERROR]}   "
                      f"pending {e[PENDING]}   of {sum(e.values())}", highlight=False)
    d = report.driver or {}
    if report.driver_running:
        beat = time.time() - float(d.get("heartbeat", time.time()))
        console.print(f"  driver: running (pid {d.get('pid')} on {d.get('host')}, heartbeat {fmt_seconds(beat)} ago)",
                      highlight=False)
    elif c[RUNNING] or c[PENDING] or (report.evaluations or {}).get(PENDING):
        console.print(f"  driver: not running; continue with  rsb-sweep resume {exp.root}", highlight=False)
    if report.running:
        label = "running" if report.driver_running else "interrupted (will continue from the last checkpoint)"
        table = Table(title=None, box=None, show_header=True, header_style="dim")
        table.add_column(label)
        table.add_column("epoch", justify="right")
        for tid, done, total in report.running[:20]:
            table.add_row(tid, f"{done}/{total}")
        console.print(table)
    if report.failures:
        console.print("  [red]failures[/red]:")
        for tid, error in report.failures:
            console.print(f"    {tid}: {error}", highlight=False, markup=False)
