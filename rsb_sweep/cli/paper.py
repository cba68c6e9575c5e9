"""``rsb-sweep paper``: every table and figure of the paper under one parent folder (the driver:
:mod:`rsb_sweep.driver.paper`); ``resume PARENT`` continues it (:func:`resume_paper`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

import click

from rsb_sweep.cli.app import console, err_console, guard, main
from rsb_sweep.cli.exitstatus import EPILOG, CommandRun, ExitStatus
from rsb_sweep.cli.options import (EXECUTION_OPTIONS, EXTRA_ARGS, extra_fields, field_args, launch_options,
                                   single_values, typed_fields)

if TYPE_CHECKING:
    from rsb_sweep.driver.paper import PaperOutcome

#: Exit statuses from least to most severe: the paper exits with the most severe of its parts.
SEVERITY = (ExitStatus.OK, ExitStatus.TRIALS_FAILED, ExitStatus.UNFINISHED)
#: A study's index status -> its exit status (a report that could not be made counts as a failed part).
STUDY_EXIT = {"done": ExitStatus.OK, "failed": ExitStatus.TRIALS_FAILED, "report_failed": ExitStatus.TRIALS_FAILED,
              "unfinished": ExitStatus.UNFINISHED}
_PAPER_OPTIONS = ("data", "workers_per_trial", "cpus_per_trial", "gpus_per_worker", "max_concurrent", "max_failures",
                  "pack", "address", "num_cpus", "dashboard", "log", "resource_timeout", "live", "quiet", "dry_run")


def most_severe(codes: Iterable[ExitStatus]) -> ExitStatus:
    """The most severe of ``codes`` (:data:`SEVERITY`); OK for none."""
    return max(codes, key=SEVERITY.index, default=ExitStatus.OK)


def paper_exit_status(outcome: "PaperOutcome") -> ExitStatus:
    """The trainings' status combined with every study's (as ``seeds`` combines trials and evaluations)."""
    return most_severe([ExitStatus.for_counts(outcome.models.counts), *(STUDY_EXIT[r.status] for r in outcome.rows)])


@main.command(context_settings=EXTRA_ARGS, epilog=EPILOG.replace(
    "Exit status: 0 every trial finished", "Exit status (the most severe of the trainings and every study): "
    "0 every trial, evaluation and report done").replace("some trial failed", "some trial, evaluation or report failed"))
@click.argument("parent", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seeds", "n_seeds", type=int, default=None, help="seeds per configuration in every study "
              "(default: each study's own, chosen so that its comparisons can reach α after Holm)")
@click.option("--only", default=None, metavar="KEY,…", help="these studies only (default: table1, fig2, table9, fig4, "
              "drop_path, smoothing; also table6, table3, and table5 with table1: --only table1,table5)")
@click.option("--transfer-seeds", type=int, default=None, help="Table 5: fine-tuning seeds per model and target [3]")
@launch_options(*_PAPER_OPTIONS)
@extra_fields
def paper(ctx: click.Context, parent: Optional[Path], n_seeds: Optional[int], only: Optional[str],
          transfer_seeds: Optional[int], **kwargs: Any) -> None:
    """The paper's tables and figures, each (configuration, seed) trained once across all of them, then each
    study's report and PARENT/paper.html (default PARENT: experiments/paper-<time>): `rsb-sweep paper`,
    `rsb-sweep paper --only fig2,table9 --seeds 2`. `rsb-sweep resume PARENT` continues it."""

    def go(run: CommandRun) -> int:
        from rsb_sweep.driver.paper import create_paper
        from rsb_sweep.driver.paper_plan import build_plan, parse_only
        from rsb_sweep.driver.preflight import check_data_here
        from rsb_sweep.driver.trackers import parse_log
        from rsb_sweep.spec.execution import Execution
        from rsb_sweep.spec.paths import absolute_fields, absolute_path

        log = parse_log(kwargs.get("log") or ())
        if kwargs.get("data"):
            kwargs["data"] = absolute_path(kwargs["data"])
        studies = parse_only(only)
        single, _ = single_values(absolute_fields(typed_fields(field_args(ctx.args), kwargs.get("eval_set"))))
        plan = build_plan(studies, n_seeds, single, kwargs["data"], transfer_seeds=transfer_seeds)
        execution = Execution().with_overrides(**{k: kwargs.get(k) for k in EXECUTION_OPTIONS})
        if not kwargs.get("address"):
            check_data_here(t.config.to_dict() for t in plan.models)
        _describe(plan, kwargs)
        if kwargs["dry_run"]:
            return ExitStatus.OK
        root = Path(absolute_path(parent or Path("experiments") / f"paper-{time.strftime('%Y%m%d-%H%M%S')}"))
        create_paper(root, plan, execution, log)
        return run_paper_command(root, kwargs, run)

    guard(go)


def resume_paper(parent: Path, kwargs: dict[str, Any], run: CommandRun, retry_failed: bool) -> int:
    """``rsb-sweep resume PARENT`` on a paper run: finish the trainings, then every study and the index."""
    from rsb_sweep.driver.paper import read_plan

    read_plan(parent)  # a usage error before the driver's imports
    return run_paper_command(Path(parent).resolve(), kwargs, run, retry_failed=retry_failed)


def run_paper_command(root: Path, kwargs: dict[str, Any], run: CommandRun, retry_failed: bool = False) -> int:
    """Run (or continue) the paper run in ``root``, print a line per study; return the exit status."""
    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.paper import run_paper
    from rsb_sweep.driver.trackers import parse_log

    run.experiment(root)
    if not kwargs.get("quiet"):
        console.print(f"paper folder: {root}")
    log = parse_log(kwargs["log"]) if kwargs.get("log") else None
    options = LaunchOptions.from_values(kwargs, retry_failed=retry_failed, log=log)
    from analysis import make_report  # the report layer, as `rsb-sweep report` reaches it

    outcome = run_paper(root, options, console, on_dispatch=run.dispatching, make_report=make_report)
    for row in outcome.rows:
        beside = (" · beside the paper: " + ", ".join(f"{v} {k}" for k, v in row.beside_paper.items())
                  if row.beside_paper else "")
        where = f"  {root / row.report}" if row.report else ""
        line = f"{row.key:<10} {row.status:<13}{where}{beside}"
        (err_console if row.error else console).print(line + (f"\n  {row.error}" if row.error else ""), markup=False)
    code = paper_exit_status(outcome)
    console.print(f"index: {outcome.index[1]}  ({outcome.wall_seconds:.0f} s)", markup=False)
    if code == ExitStatus.UNFINISHED:
        err_console.print(f"some parts did not finish; continue with  rsb-sweep resume {root}")
    return code


def _describe(plan: Any, kwargs: dict[str, Any]) -> None:
    """What will run: each study's trials and how many of them are new trainings, the preset line."""
    if kwargs.get("quiet"):
        return
    from dataclasses import asdict

    from trainer.presets import describe_preset
    from trainer.recipes import get_recipe

    console.print(f"paper: {len(plan.studies)} studies, {plan.trial_count} trials, {len(plan.models)} distinct "
                  f"(configuration, seed) trainings (training estimated at {plan.estimated_seconds() / 60:.1f} min on "
                  "2 slots of a 2-core machine; an estimate until measured)", markup=False)
    for sp in plan.studies:
        shared = len(sp.trials) - sp.new
        counted = (f"{sp.fine_tunings} fine-tunings" if sp.transfer
                   else f"{len(sp.trials)} trials ({sp.new} new, {shared} shared)")
        console.print(f"  {sp.study.key:<10} {counted}; {sp.spec.source}", markup=False)
        stand_ins = getattr(sp.spec, "describe_stand_ins", lambda: "")()  # Table 3's digits stand-ins (issue 19)
        if stand_ins:
            console.print(f"             {stand_ins}", markup=False)
    first = plan.models[0].config if plan.models else None
    if first is not None and first.data is None:
        console.print(describe_preset(first.to_dict(), asdict(get_recipe(first.recipe))), markup=False)


def print_paper_status(parent: Path) -> None:
    """``rsb-sweep status PARENT`` on a paper run: the trainings as ``status`` prints an experiment, then a
    line per study from its folder (no Ray)."""
    from rsb_sweep.cli.printing import print_status
    from rsb_sweep.driver.paper import read_plan
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.experiment.paper_index import INDEX_HTML, REPORT_HTML, counts_line
    from rsb_sweep.experiment.status import experiment_status
    from rsb_sweep.spec.transfer import is_resolved

    parent = Path(parent).resolve()
    plan = read_plan(parent)
    models = Experiment.open(parent / plan["models"])
    print_status(experiment_status(models), models, console)
    for doc in plan["studies"]:
        exp = Experiment.open(parent / doc["key"])
        report = experiment_status(exp)
        evaluations = f"; evaluations {counts_line(report.evaluations)}" if report.evaluations else ""
        waiting = sum(1 for t in exp.trials if not is_resolved(t)) if doc.get("transfer_of") else 0
        wait = f"; {waiting} fine-tunings wait for their {doc['transfer_of']} model" if waiting else ""
        html = parent / doc["key"] / REPORT_HTML
        console.print(f"  {doc['key']:<10} {counts_line(report.counts)}{evaluations}{wait}; report: "
                      f"{html if html.is_file() else 'not yet'}",
                      markup=False)
    if (parent / INDEX_HTML).is_file():
        console.print(f"  index: {parent / INDEX_HTML}", markup=False)
