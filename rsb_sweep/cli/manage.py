"""The commands on an existing experiment: ``resume``, ``evaluate``, ``status``, ``results``,
``report``, ``fields`` (the last four only read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import click

from rsb_sweep.cli.app import guard, console, err_console, main
from rsb_sweep.cli.exitstatus import EPILOG, READ_EPILOG, CommandRun, ExitStatus
from rsb_sweep.cli.options import launch_options, listed_values, user_error
from rsb_sweep.cli.launch import execute
from rsb_sweep.cli.printing import print_status, report_evaluations


@main.command(epilog=EPILOG)
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
@launch_options("retry_failed", "address", "num_cpus", "max_concurrent", "max_failures", "pack", "dashboard", "log",
                 "resource_timeout", "live", "quiet", log="trackers for this launch (default: those the sweep started with)",
                 address="join a Ray cluster (default: start one here)",
                 max_concurrent="at most this many trials at once", max_failures="restarts of a trial whose process died",
                 pack="trials per Tune trial process (default: automatic)")
def resume(experiment_dir: Path, retry_failed: bool, **kwargs: Any) -> None:
    """Finish an interrupted sweep: finished trials are kept, started ones continue from their checkpoint.
    On the parent folder of `rsb-sweep paper`: its trainings, then every study's evaluations and report."""
    from rsb_sweep.experiment.folder import Experiment

    def go(run: CommandRun) -> int:
        from rsb_sweep.experiment.paper_index import is_paper_parent

        if is_paper_parent(experiment_dir):  # `rsb-sweep paper`'s parent: the trainings, every study, the index
            from rsb_sweep.cli.paper import resume_paper

            return resume_paper(experiment_dir, kwargs, run, retry_failed)
        exp = Experiment.open(experiment_dir)  # a usage error (not an experiment) before the driver's imports
        from rsb_sweep.cli.transfer import is_transfer, resume_transfer

        if is_transfer(exp):  # a transfer: the source trials new or finished since join it (rsb_sweep.driver.transfer)
            return resume_transfer(exp, kwargs, run, retry_failed)
        return execute(lambda: Experiment.open(experiment_dir), kwargs, run, retry_failed=retry_failed)

    guard(go)


@main.command(epilog=EPILOG.replace("every trial finished", "every evaluation done").replace(
    "some trial failed (listed with its error file)", "some evaluation failed (listed)").replace(
    "trials unfinished, continue with `rsb-sweep resume DIR`", "some trials have not finished training "
    "(`rsb-sweep resume DIR` trains them, then evaluates)"))
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--crop-pct", default=None, metavar="A,B,…", help="test crop ratios to evaluate, e.g. 0.875,0.9,0.95,1.0")
@click.option("--test-res", default=None, metavar="A,B,…", help="test resolutions in pixels, e.g. 20,24,28")
@launch_options("eval_set", "retry_failed", "address", "num_cpus", "max_concurrent", "max_failures", "dashboard", "quiet",
                 eval_set="extra ImageFolder evaluation set (same classes as training); repeatable",
                 retry_failed="evaluate again what failed before", address="join a Ray cluster (default: start one here)",
                 max_concurrent="at most this many trials evaluated at once",
                 max_failures="retries of an evaluation whose process died")
def evaluate(experiment_dir: Path, crop_pct: Optional[str], test_res: Optional[str], eval_set: tuple[str, ...],
             retry_failed: bool, **kwargs: Any) -> None:
    """Evaluate every trained model of an experiment at other crop ratios / test resolutions / sets, from its
    final checkpoint, with no retraining (RSB Table 9, Figure 4): one row per (trial, set, crop_pct, test_res) in
    <experiment>/evaluations.parquet. Values are literal (pixels of this experiment's images). Resumable: a
    killed evaluate re-does only what is missing; the settings join the experiment's plan, so `resume` and
    later evaluates keep them."""

    def go(run: CommandRun) -> int:
        from rsb_sweep.driver.command import run_evaluate_command
        from rsb_sweep.driver.options import LaunchOptions
        from rsb_sweep.experiment.folder import Experiment
        from rsb_sweep.spec.fields import coerce
        from rsb_sweep.spec.paths import absolute_fields
        from rsb_sweep.spec.model import EvalPlan

        exp = Experiment.open(experiment_dir)
        run.experiment(exp.root)
        plan = EvalPlan(
            crop_pct=tuple(listed_values(crop_pct, "crop_pct")), test_res=tuple(listed_values(test_res, "test_res")),
            eval_sets=absolute_fields({"eval_sets": coerce("eval_sets", list(eval_set))})["eval_sets"])
        _check_plan(exp, plan, here=not kwargs.get("address"))
        if not plan and not exp.evaluate:
            raise user_error("nothing to evaluate: give --crop-pct, --test-res or --eval-set "
                              "(e.g. --crop-pct 0.875,0.9,0.95,1.0)")
        with exp.lock():  # not while another rsb-sweep runs this experiment (it may grow the manifest)
            exp.add_evaluations(plan)
        if not kwargs.get("quiet"):
            console.print(f"experiment folder: {exp.root}\nevaluation plan: {exp.evaluate.describe()}")
        options = LaunchOptions.from_values(kwargs, retry_failed=retry_failed)
        code = report_evaluations(exp, run_evaluate_command(exp, options, console, on_dispatch=run.dispatching))
        if code == ExitStatus.UNFINISHED:
            err_console.print(f"some trials have not finished training; `rsb-sweep resume {exp.root}` trains them, "
                              "then evaluates them")
        return code

    guard(go)


def _check_plan(exp: Any, plan: Any, here: bool) -> None:
    """Every value must be one the trainer accepts, and every new set readable (``here``: on this
    machine; with --address the evaluation checks on the cluster), before anything is written."""
    from dataclasses import replace as replace_config

    from analysis.contract import EVAL_ONLY_FIELDS
    from rsb_sweep.driver.preflight import check_data_here
    from trainer.config import TrainConfig, validate

    if not exp.trials:
        return
    config = TrainConfig.from_dict(exp.trials[0]["config"])
    for key in EVAL_ONLY_FIELDS:
        for value in getattr(plan, key):
            validate(replace_config(config, **{key: value}))
    if plan.eval_sets and here:
        check_data_here([{"data": config.data, "eval_sets": plan.eval_sets}])


@main.command(epilog=READ_EPILOG)
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
def status(experiment_dir: Path) -> None:
    """Done / running / failed / pending, the failures, and top-1 so far (reads files; no Ray)."""
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.experiment.status import experiment_status

    def go(run: CommandRun) -> None:
        from rsb_sweep.experiment.paper_index import is_paper_parent

        if is_paper_parent(experiment_dir):  # `rsb-sweep paper`'s parent: its trainings and a line per study
            from rsb_sweep.cli.paper import print_paper_status

            return print_paper_status(experiment_dir)
        exp = Experiment.open(experiment_dir)
        print_status(experiment_status(exp), exp, console)
        from rsb_sweep.cli.transfer import transfer_status_line

        if transfer_status_line(exp):
            console.print("  " + transfer_status_line(exp), highlight=False, markup=False)
        if exp.manifest.get("ab"):
            from rsb_sweep.experiment.decision import describe, read_decision

            doc = read_decision(exp)
            console.print("  " + (describe(doc) if doc else "ab decision: none yet (no wave has finished)"),
                          highlight=False, markup=False)
        if exp.manifest.get("race"):
            from rsb_sweep.experiment.status import race_line

            console.print("  " + race_line(exp), highlight=False, markup=False)

    guard(go)


@main.command(epilog=READ_EPILOG)
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
def results(experiment_dir: Path) -> None:
    """(Re)write results.parquet/.csv and history.parquet from the trial folders."""
    from rsb_sweep.experiment.folder import Experiment
    from analysis.contract import RESULTS_PARQUET
    from rsb_sweep.experiment.tables import write_tables

    def go(run: CommandRun) -> None:
        exp = Experiment.open(experiment_dir)
        df = write_tables(exp)
        counts = df["status"].value_counts().to_dict()
        console.print(f"wrote {exp.root / RESULTS_PARQUET} ({len(df)} trials: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")")

    guard(go)


@main.command(epilog=READ_EPILOG)
@click.argument("experiment_dir", type=click.Path(exists=True, path_type=Path))
@click.option("--out", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="output folder (default: the experiment folder)")
@click.option("--baseline", default=None, help="the configuration comparisons refer to, e.g. crop_pct=0.875")
def report(experiment_dir: Path, out: Optional[Path], baseline: Optional[str]) -> None:
    """Executed report.ipynb and report.html of an experiment (analysis.make_report)."""

    def go(run: CommandRun) -> None:
        try:
            from analysis import make_report
        except ImportError as exc:
            raise user_error(f"the analysis package is not available ({exc})") from None
        paths = make_report(experiment_dir, out=out, baseline=baseline)
        console.print(f"wrote {paths.notebook} and {paths.html}")

    guard(go)


@main.command(epilog=READ_EPILOG)
@click.option("--recipe", default="a2", show_default=True, help="a1, a2 or a3")
@click.option("--data", default=None, metavar="PATH", help="an ImageFolder (default: the embedded digits preset)")
def fields(recipe: str, data: Optional[str]) -> None:
    """The trainer fields a sweep can set (as --<field> V, or in a sweep file), with the recipe's values."""

    def go(run: CommandRun) -> None:
        from rsb_sweep.spec.fields import ALIASES, OVERRIDABLE
        from trainer.config import resolve_config

        config = resolve_config(recipe, data=data).to_dict()
        aliases = {v: k for k, v in ALIASES.items()}
        for name in OVERRIDABLE:
            alias = f" (--{aliases[name]})" if name in aliases else ""
            console.print(f"  --{name.replace('_', '-'):<20} {config[name]!s:<24}{alias}", markup=False)

    guard(go)
