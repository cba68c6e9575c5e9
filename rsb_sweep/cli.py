"""``rsb-sweep``: seed studies and ablation grids of the RSB recipes on Ray Tune.

Commands: ``seeds``, ``grid``, ``run`` (a YAML sweep), ``ab`` (seeds until a comparison is decided), ``resume``,
``evaluate`` (trained models at other test-time settings), ``status``, ``results``, ``report``. Heavy imports (torch, Ray, the trainer) happen inside the commands that need
them, so that ``status`` answers quickly and never starts Ray. Every command body runs in
:func:`rsb_sweep.exitstatus.run_command`, which gives the exit status (documented there and
in each command's ``--help``); every path typed is made absolute here, before anything is
dispatched (:mod:`rsb_sweep.spec.paths`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

import click
from rich.console import Console

from rsb_sweep.exitstatus import EPILOG, READ_EPILOG, CommandRun, ExitStatus, run_command

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


_EXTRA = {"ignore_unknown_options": True, "allow_extra_args": True}
_FIELDS_HELP = ("Any trainer field can be set as --<field> VALUE (e.g. --lr 3e-3 --weight-decay 0.02 --epochs 50 "
                "--max-steps 10 --seed-aug 7); `rsb-sweep fields` lists them with the recipe's values. "
                "Relative paths are taken from the current folder (in a sweep file: from the file's folder).\n\n" + EPILOG)


def _extra_fields(func: Callable) -> Callable:
    """Collect ``--<field> V`` pairs (not declared as options, so that importing the CLI stays light)."""
    func = click.option("--eval-set", "eval_set", multiple=True, metavar="NAME=PATH",
                        help="extra ImageFolder evaluation set (top1_NAME column); repeatable")(func)
    return click.pass_context(func)


def _field_args(args: list[str]) -> dict[str, str]:
    """``['--lr', '3e-3', '--wd=0.02']`` -> ``{'lr': '3e-3', 'weight_decay': '0.02'}``; errors name the bad token."""
    from rsb_sweep.spec.fields import OVERRIDABLE, canonical

    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or token == "--":
            raise _user_error(f"unexpected argument {token!r}")
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise _user_error(f"--{key} needs a value")
            value, i = args[i + 1], i + 1
        name = canonical(key)
        if name not in OVERRIDABLE or name == "eval_sets":
            import difflib

            close = difflib.get_close_matches(name, OVERRIDABLE, n=3)
            hint = f" (did you mean {', '.join('--' + c.replace('_', '-') for c in close)}?)" if close else ""
            raise _user_error(f"no such option --{key}{hint}; `rsb-sweep fields` lists the trainer fields")
        if name in out:
            raise _user_error(f"--{key} given twice")
        out[name] = value
        i += 1
    return out


def _launch_options(func: Callable) -> Callable:
    """Options shared by seeds, grid and run."""
    opts = [
        click.option("--data", default=None, metavar="PATH", help="ImageFolder with train/ and val/ (default: embedded digits)"),
        click.option("--name", default=None, help="experiment name (default: from the command or the sweep file)"),
        click.option("--out", default=None, metavar="DIR", help="experiment folder (default: experiments/<name>)"),
        click.option("--storage", default=None, metavar="PATH|URI",
                     help="where trial folders and checkpoints live: a folder (shared on a cluster) or s3://, gs://"),
        click.option("--workers-per-trial", type=int, default=None, help="DDP workers per trial (default 1)"),
        click.option("--cpus-per-trial", type=float, default=None, help="CPUs per trial, shared by its workers (default 1 per worker)"),
        click.option("--gpus-per-worker", type=float, default=None, help="GPUs per DDP worker (default 0)"),
        click.option("--max-concurrent", type=int, default=None, help="at most this many trials at once (default: what fits)"),
        click.option("--max-failures", type=int, default=None, help="restarts of a trial whose process died (default 3)"),
        click.option("--pack", type=int, default=None,
                     help="trials run one after another per Tune trial process (default: automatic)"),
        click.option("--address", default=None, help="join a Ray cluster: auto, host:port or ray://… (default: start one here)"),
        click.option("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)"),
        click.option("--dashboard", is_flag=True, help="start Ray's dashboard on 127.0.0.1 and print its URL"),
        click.option("--live/--no-live", default=None, help="live progress table (default: on a terminal)"),
        click.option("--quiet", is_flag=True, help="no progress output"),
        click.option("--dry-run", is_flag=True, help="validate and list the trials, run nothing"),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


class _Group(click.Group):
    """click's group, except that Ctrl-C anywhere (also while parsing, before a command body
    runs) exits 130 like an interrupted sweep, not click's 1."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            err_console.print("interrupted")
            sys.exit(int(ExitStatus.INTERRUPTED))
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
             epilog=EPILOG)
def main() -> None:
    """Seed-variance studies and ablation grids of the 'ResNet strikes back' recipes, on Ray Tune."""


# ------------------------------------------------------------------------------------------
# launching commands


@main.command(context_settings=_EXTRA, epilog=_FIELDS_HELP)
@click.option("--n", "n", type=int, default=100, show_default=True, help="number of seeds")
@click.option("--recipe", default="a2", show_default=True, help="a1, a2 or a3")
@click.option("--seed-start", type=int, default=0, show_default=True, help="first seed")
@click.option("--vary", default="init,data,aug", show_default=True,
              help="seed sources that change from trial to trial; the others are pinned")
@_launch_options
@_extra_fields
def seeds(ctx: click.Context, n: int, recipe: str, seed_start: int, vary: str, **kwargs: Any) -> None:
    """N seeds of one recipe (the paper's Figure 2): `rsb-sweep seeds --n 100 --recipe a2`."""
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    def build(overrides: dict[str, Any]) -> Any:
        single, evaluated = _single_values(overrides, eval_lists=True)
        axis = SeedAxis(n=n, start=seed_start, vary=_vary(vary))
        name = kwargs["name"] or f"seeds-{recipe.lower()}-n{n}-{time.strftime('%Y%m%d-%H%M%S')}"
        return SweepSpec(name=name, recipe=recipe.lower(), data=kwargs["data"], overrides=single, seeds=axis,
                         grid=evaluated)

    _launch(build, kwargs, ctx.args)


@main.command(context_settings=_EXTRA, epilog=_FIELDS_HELP)
@click.option("--recipe", default="a2", show_default=True, help="a1, a2 or a3, or a comma list (a grid axis)")
@click.option("--seeds", "n_seeds", type=int, default=1, show_default=True, help="seeds per grid point")
@click.option("--seed-start", type=int, default=0, show_default=True, help="first seed")
@click.option("--vary", default="init,data,aug", show_default=True, help="seed sources that change with the seed")
@_launch_options
@_extra_fields
def grid(ctx: click.Context, recipe: str, n_seeds: int, seed_start: int, vary: str, **kwargs: Any) -> None:
    """The Cartesian product of comma-separated values × seeds (e.g. --lr 2e-3,5e-3 --wd 0.01,0.02 --loss bce,ce)."""
    from rsb_sweep.spec.fields import coerce
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    def build(overrides: dict[str, Any]) -> Any:
        fixed, axes = {}, {}
        for key, values in overrides.items():
            (axes if isinstance(values, list) and len(values) > 1 else fixed)[key] = values
        fixed = {k: (v[0] if isinstance(v, list) else v) for k, v in fixed.items()}
        recipes = [r.strip().lower() for r in recipe.split(",") if r.strip()]
        if len(recipes) > 1:
            axes = {"recipe": [coerce("recipe", r) for r in recipes], **axes}
        name = kwargs["name"] or f"grid-{'-'.join(recipes)}-{time.strftime('%Y%m%d-%H%M%S')}"
        return SweepSpec(name=name, recipe=recipes[0], data=kwargs["data"], overrides=fixed, grid=axes,
                         seeds=SeedAxis(n=n_seeds, start=seed_start, vary=_vary(vary)))

    _launch(build, kwargs, ctx.args)


@main.command(context_settings=_EXTRA, epilog=_FIELDS_HELP)
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seeds", "n_seeds", type=int, default=None, help="replace the file's number of seeds")
@click.option("--seed-start", type=int, default=None, help="replace the file's first seed")
@_launch_options
@_extra_fields
def run(ctx: click.Context, sweep_file: Path, n_seeds: Optional[int], seed_start: Optional[int], **kwargs: Any) -> None:
    """Any sweep written as YAML (see sweeps/); options override the file."""
    from rsb_sweep.errors import SweepError
    from rsb_sweep.spec.sweepfile import load_spec_file

    loaded: dict[str, Any] = {}

    def build(overrides: dict[str, Any]) -> Any:
        spec = loaded["spec"]
        single, evaluated = _single_values(overrides, eval_lists=True)
        clash = sorted(set(single) & set(spec.grid))
        if clash:
            raise SweepError(f"{sweep_file}: --{clash[0].replace('_', '-')} is a grid axis of this sweep; edit the file instead")
        seeds = spec.seeds
        if n_seeds is not None:
            if seeds.cross:
                raise SweepError(f"{sweep_file}: --seeds does not apply to a crossed seed design")
            seeds = replace(seeds, n=n_seeds)
        if seed_start is not None:
            seeds = replace(seeds, start=seed_start)
        return replace(spec, name=kwargs["name"] or spec.name, overrides={**spec.overrides, **single}, seeds=seeds,
                       grid={**spec.grid, **evaluated})

    def load() -> Any:
        loaded["spec"], execution = load_spec_file(sweep_file, data=kwargs["data"])
        return execution

    _launch(build, kwargs, ctx.args, base_execution=load)


@main.command(context_settings=_EXTRA, epilog=_FIELDS_HELP.replace(
    "Exit status: 0 every trial finished", "Exit status: 0 every trial finished, whatever the verdict (it is in "
    "decision.json; `undecided` included)"))
@click.option("--a", "arm_a", required=True, metavar="FIELD=V[,…]", help="arm A's fields, e.g. lr=5e-3")
@click.option("--b", "arm_b", required=True, metavar="FIELD=V[,…]", help="arm B's fields, e.g. lr=5e-4")
@click.option("--recipe", default="a2", show_default=True, help="a1, a2 or a3 (both arms; an arm may set recipe=…)")
@click.option("--delta", type=float, default=0.1, show_default=True,
              help="equivalence margin, in points of the metric: |A − B| < δ is 'equivalent'")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="error rate of the confidence sequence")
@click.option("--wave", type=int, default=2, show_default=True, help="seeds per arm added between two looks")
@click.option("--max-seeds", type=int, default=50, show_default=True, help="stop 'undecided' at this many seeds per arm")
@click.option("--metric", default="top1", show_default=True, help="top1, top5, eval_loss or top1_<eval set>")
@click.option("--seed-start", type=int, default=0, show_default=True, help="first seed")
@click.option("--vary", default="init,data,aug", show_default=True, help="seed sources that change with the seed")
@_launch_options
@_extra_fields
def ab(ctx: click.Context, arm_a: str, arm_b: str, recipe: str, delta: float, alpha: float, wave: int, max_seeds: int,
       metric: str, seed_start: int, vary: str, **kwargs: Any) -> None:
    """Is B better than A? Both arms on the same seeds, a wave at a time, until an anytime-valid confidence
    sequence decides (b_better, a_better, equivalent within δ) or --max-seeds is reached (undecided):
    `rsb-sweep ab --a lr=5e-3 --b lr=5e-4`. Arms that differ only in crop_pct / test_res train one model per
    seed and compare its two evaluations, paired. The verdict and every look are in <experiment>/decision.json."""
    from rsb_sweep.spec.ab import evaluation_plan, first_wave, make_settings, parse_arm
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    def build(overrides: dict[str, Any]) -> Any:
        single, _ = _single_values(overrides)
        name = kwargs["name"] or f"ab-{recipe.lower()}-{time.strftime('%Y%m%d-%H%M%S')}"
        return SweepSpec(name=name, recipe=recipe.lower(), data=kwargs["data"], overrides=single,
                         seeds=SeedAxis(n=wave, start=seed_start, vary=_vary(vary)),
                         source=f"ab: first wave of {wave} seeds per arm, at most {max_seeds}")

    def plan(spec: Any) -> tuple[list, dict[str, Any]]:
        a, b = parse_arm(arm_a, "--a"), parse_arm(arm_b, "--b")
        settings = make_settings(spec, a, b, delta=delta, alpha=alpha, wave=wave, max_seeds=max_seeds, metric=metric)
        trials, settings = first_wave(spec, settings)
        return trials, {"ab": settings.to_dict(), "evaluate": evaluation_plan(settings).to_dict()}

    _launch(build, kwargs, ctx.args, plan=plan)


# ------------------------------------------------------------------------------------------
# experiment commands


@main.command(epilog=EPILOG)
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--retry-failed", is_flag=True, help="also run the trials that failed, from their last checkpoint")
@click.option("--address", default=None, help="join a Ray cluster (default: start one here)")
@click.option("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
@click.option("--max-concurrent", type=int, default=None, help="at most this many trials at once")
@click.option("--max-failures", type=int, default=None, help="restarts of a trial whose process died")
@click.option("--pack", type=int, default=None, help="trials per Tune trial process (default: automatic)")
@click.option("--dashboard", is_flag=True, help="start Ray's dashboard on 127.0.0.1 and print its URL")
@click.option("--live/--no-live", default=None, help="live progress table (default: on a terminal)")
@click.option("--quiet", is_flag=True, help="no progress output")
def resume(experiment_dir: Path, retry_failed: bool, **kwargs: Any) -> None:
    """Finish an interrupted sweep: finished trials are kept, started ones continue from their checkpoint."""
    from rsb_sweep.experiment.folder import Experiment

    def go(run: CommandRun) -> int:
        Experiment.open(experiment_dir)  # a usage error (not an experiment) before the driver's imports
        return _execute(lambda: Experiment.open(experiment_dir), kwargs, run, retry_failed=retry_failed)

    _guard(go)


@main.command(epilog=EPILOG.replace("every trial finished", "every evaluation done").replace(
    "some trial failed (listed with its error file)", "some evaluation failed (listed)").replace(
    "trials unfinished, continue with `rsb-sweep resume DIR`", "some trials have not finished training "
    "(`rsb-sweep resume DIR` trains them, then evaluates)"))
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--crop-pct", default=None, metavar="A,B,…", help="test crop ratios to evaluate, e.g. 0.875,0.9,0.95,1.0")
@click.option("--test-res", default=None, metavar="A,B,…", help="test resolutions in pixels, e.g. 20,24,28")
@click.option("--eval-set", "eval_set", multiple=True, metavar="NAME=PATH",
              help="extra ImageFolder evaluation set (same classes as training); repeatable")
@click.option("--retry-failed", is_flag=True, help="evaluate again what failed before")
@click.option("--address", default=None, help="join a Ray cluster (default: start one here)")
@click.option("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance (default: all)")
@click.option("--max-concurrent", type=int, default=None, help="at most this many trials evaluated at once")
@click.option("--max-failures", type=int, default=None, help="retries of an evaluation whose process died")
@click.option("--dashboard", is_flag=True, help="start Ray's dashboard on 127.0.0.1 and print its URL")
@click.option("--quiet", is_flag=True, help="no progress output")
def evaluate(experiment_dir: Path, crop_pct: Optional[str], test_res: Optional[str], eval_set: tuple[str, ...],
             retry_failed: bool, **kwargs: Any) -> None:
    """Evaluate every trained model of an experiment at other crop ratios / test resolutions / sets, from its
    final checkpoint, with no retraining (RSB Table 9, Figure 4): one row per (trial, set, crop_pct, test_res) in
    <experiment>/evaluations.parquet. Values are literal (pixels of this experiment's images). Resumable: a
    killed evaluate re-does only what is missing; the settings join the experiment's plan, so `resume` and
    later evaluates keep them."""

    def go(run: CommandRun) -> int:
        from rsb_sweep.driver.sweep import LaunchOptions
        from rsb_sweep.experiment.folder import Experiment
        from rsb_sweep.spec.fields import coerce
        from rsb_sweep.spec.paths import absolute_fields
        from rsb_sweep.spec.model import EvalPlan

        exp = Experiment.open(experiment_dir)
        run.experiment(exp.root)
        plan = EvalPlan(
            crop_pct=tuple(_listed(crop_pct, "crop_pct")), test_res=tuple(_listed(test_res, "test_res")),
            eval_sets=absolute_fields({"eval_sets": coerce("eval_sets", list(eval_set))})["eval_sets"])
        _check_plan(exp, plan, here=not kwargs.get("address"))
        if not plan and not exp.evaluate:
            raise _user_error("nothing to evaluate: give --crop-pct, --test-res or --eval-set "
                              "(e.g. --crop-pct 0.875,0.9,0.95,1.0)")
        with exp.lock():  # not while another rsb-sweep runs this experiment (it may grow the manifest)
            exp.add_evaluations(plan)
        if not kwargs.get("quiet"):
            console.print(f"experiment folder: {exp.root}\nevaluation plan: {exp.evaluate.describe()}")
        options = LaunchOptions(address=kwargs.get("address"), dashboard=bool(kwargs.get("dashboard")),
                                max_concurrent=kwargs.get("max_concurrent"), max_failures=kwargs.get("max_failures"),
                                num_cpus=kwargs.get("num_cpus"), retry_failed=retry_failed,
                                quiet=bool(kwargs.get("quiet")))
        code = _report_evaluations(exp, _evaluate_trained(exp, options, run))
        if code == ExitStatus.UNFINISHED:
            err_console.print(f"some trials have not finished training; `rsb-sweep resume {exp.root}` trains them, "
                              "then evaluates them")
        return code

    _guard(go)


def _listed(text: Optional[str], field: str) -> list[Any]:
    """``'0.875,0.9'`` -> ``[0.875, 0.9]`` as the trainer types ``field``; an error naming the option otherwise."""
    from rsb_sweep.spec.fields import coerce

    if text is None:
        return []
    values = [p.strip() for p in text.split(",") if p.strip()]
    if not values:
        raise _user_error(f"--{field.replace('_', '-')} {text!r}: expected comma-separated values")
    return list(dict.fromkeys(coerce(field, v) for v in values))


def _check_plan(exp: Any, plan: Any, here: bool) -> None:
    """Every value must be one the trainer accepts, and every new set readable (``here``: on this
    machine; with --address the evaluation checks on the cluster), before anything is written."""
    from dataclasses import replace as replace_config

    from rsb_sweep.driver.preflight import check_data_here
    from trainer.config import TrainConfig, validate

    if not exp.trials:
        return
    config = TrainConfig.from_dict(exp.trials[0]["config"])
    for key in ("crop_pct", "test_res"):
        for value in getattr(plan, key):
            validate(replace_config(config, **{key: value}))
    if plan.eval_sets and here:
        check_data_here([{"data": config.data, "eval_sets": plan.eval_sets}])


@main.command(epilog=READ_EPILOG)
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
def status(experiment_dir: Path) -> None:
    """Done / running / failed / pending, the failures, and top-1 so far (reads files; no Ray)."""
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.experiment.status import experiment_status, print_status

    def go(run: CommandRun) -> None:
        exp = Experiment.open(experiment_dir)
        print_status(experiment_status(exp), exp, console)
        if exp.manifest.get("ab"):
            from rsb_sweep.experiment.decision import describe, read_decision

            doc = read_decision(exp)
            console.print("  " + (describe(doc) if doc else "ab decision: none yet (no wave has finished)"),
                          highlight=False, markup=False)

    _guard(go)


@main.command(epilog=READ_EPILOG)
@click.argument("experiment_dir", type=click.Path(file_okay=False, path_type=Path))
def results(experiment_dir: Path) -> None:
    """(Re)write results.parquet/.csv and history.parquet from the trial folders."""
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.experiment.results import RESULTS_PARQUET
    from rsb_sweep.experiment.tables import write_tables

    def go(run: CommandRun) -> None:
        exp = Experiment.open(experiment_dir)
        df = write_tables(exp)
        counts = df["status"].value_counts().to_dict()
        console.print(f"wrote {exp.root / RESULTS_PARQUET} ({len(df)} trials: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")")

    _guard(go)


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
            raise _user_error(f"the analysis package is not available ({exc})") from None
        paths = make_report(experiment_dir, out=out, baseline=baseline)
        console.print(f"wrote {paths.notebook} and {paths.html}")

    _guard(go)


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

    _guard(go)


# ------------------------------------------------------------------------------------------
# plumbing


def _launch(build: Callable[[dict[str, Any]], Any], kwargs: dict[str, Any], extra: list[str],
            base_execution: Any = None, plan: Optional[Callable[[Any], tuple[list, dict[str, Any]]]] = None) -> None:
    """Make paths absolute, parse overrides, build and expand the spec, check the data, write the manifest, run.

    ``plan(spec)`` replaces the expansion: it returns the trials to start with and more manifest
    keys (``ab`` starts with its first wave).
    """

    def go(run: CommandRun) -> int:
        from rsb_sweep.spec.execution import Execution
        from rsb_sweep.experiment.folder import Experiment
        from rsb_sweep.spec.paths import absolute_fields, absolute_path
        from rsb_sweep.driver.preflight import check_data_here
        from rsb_sweep.spec.expand import expand, move_eval_only
        from rsb_sweep.spec.model import EvalPlan

        for key in ("data", "out", "storage"):
            if kwargs.get(key):
                kwargs[key] = absolute_path(kwargs[key])
        base = base_execution() if base_execution is not None else Execution()
        spec, moved = move_eval_only(build(absolute_fields(_overrides(_field_args(extra), kwargs.get("eval_set")))))
        if moved:
            spec = replace(spec, source=f"{spec.source}; {moved}")
        trials, more = plan(spec) if plan is not None else (expand(spec), None)
        if more and "evaluate" in more:  # a plan's evaluations (ab arms that differ only in evaluation)
            spec = replace(spec, evaluate=EvalPlan.from_dict(more.pop("evaluate")))
        execution = base.with_overrides(**{k: kwargs.get(k) for k in _EXECUTION_OPTIONS})
        if not kwargs.get("address"):  # with --address the data lives on the cluster: checked there
            check_data_here(t.config.to_dict() for t in trials)
        _describe_start(spec, trials, execution, kwargs)
        if kwargs["dry_run"]:
            for t in trials[:20]:
                console.print(f"  {t.trial_id}")
            if len(trials) > 20:
                console.print(f"  … and {len(trials) - 20} more")
            return ExitStatus.OK
        root = Path(kwargs["out"]) if kwargs["out"] else Path(absolute_path(Path("experiments") / spec.name))
        return _execute(lambda: Experiment.create(root, spec, execution, trials, storage=kwargs["storage"],
                                                          extra=more), kwargs, run,
                        data_checked=not kwargs.get("address"))

    _guard(go)


#: Launch options that override the sweep's execution settings (file or defaults).
_EXECUTION_OPTIONS = ("workers_per_trial", "cpus_per_trial", "gpus_per_worker", "max_concurrent", "max_failures", "pack")

#: At most this many failed trials are listed at the end of a sweep (``status`` lists them all).
_MAX_LISTED_FAILURES = 10


def _execute(experiment: Callable[[], Any], kwargs: dict[str, Any], run: CommandRun, retry_failed: bool = False,
             data_checked: bool = False) -> int:
    """Create or open the experiment (``experiment()``), run it, print the summary (each failure with
    its error file); return the exit status. The driver's imports (Ray, pandas: seconds) come
    first, so that a Ctrl-C during them leaves nothing half-written."""
    from rsb_sweep.driver.sweep import LaunchOptions, run_experiment
    from rsb_sweep.experiment.results import RESULTS_PARQUET
    from rsb_sweep.experiment.tables import write_tables
    from rsb_sweep.experiment.store import ERROR

    exp = experiment()
    run.experiment(exp.root)
    if not kwargs.get("quiet"):
        console.print(f"experiment folder: {exp.root}")
    options = LaunchOptions(
        address=kwargs.get("address"), dashboard=bool(kwargs.get("dashboard")), max_concurrent=kwargs.get("max_concurrent"),
        max_failures=kwargs.get("max_failures"), pack=kwargs.get("pack"), num_cpus=kwargs.get("num_cpus"),
        retry_failed=retry_failed, live=kwargs.get("live"), quiet=bool(kwargs.get("quiet")), data_checked=data_checked)
    decision = None
    try:
        if exp.manifest.get("ab"):  # an `ab` comparison: waves until decided (rsb_sweep.driver.ab)
            from rsb_sweep.driver.ab import run_ab

            outcome, decision = run_ab(exp, options, console, on_dispatch=run.dispatching)
        else:
            outcome = run_experiment(exp, options, console=console, on_dispatch=run.dispatching)
        evaluated = _evaluate_trained(exp, options, run) if exp.evaluate else None
    except KeyboardInterrupt:  # at any point: the tables match the trial folders before we exit 130
        write_tables(exp)
        raise
    c = outcome.counts
    console.print(f"results: {exp.root / RESULTS_PARQUET}  ({c['TERMINATED']} done, {c['ERROR']} failed, "
                  f"{c['RUNNING'] + c['PENDING']} not finished; {outcome.wall_seconds:.1f} s)")
    failed = outcome.results[outcome.results["status"] == "ERROR"]
    for row in failed.head(_MAX_LISTED_FAILURES).itertuples():
        err_console.print(f"failed {row.trial_id}: {row.error}\n  error file: {exp.store.path(row.trial_id, ERROR)}",
                          markup=False)
    if len(failed) > _MAX_LISTED_FAILURES:
        err_console.print(f"… and {len(failed) - _MAX_LISTED_FAILURES} more failed trials; `rsb-sweep status {exp.root}` "
                          "lists them all")
    if outcome.unstarted_error:
        err_console.print(f"error: {outcome.unstarted_error}", markup=False)
    if decision is not None:
        from analysis.contract import DECISION_FILE

        console.print(f"decision: {decision['decision']}  ({exp.root / DECISION_FILE})\n{decision['sentence']}",
                      highlight=False, markup=False)
    code = ExitStatus.for_counts(c)
    if evaluated is not None:
        code = max(code, _report_evaluations(exp, evaluated), key=_SEVERITY.index)
    if code == ExitStatus.UNFINISHED:
        err_console.print(f"some trials did not finish; continue with  rsb-sweep resume {exp.root}")
    return code


#: Exit statuses from least to most severe, to combine the trials' and the evaluations'.
_SEVERITY = [ExitStatus.OK, ExitStatus.TRIALS_FAILED, ExitStatus.UNFINISHED]


def _evaluate_trained(exp: Any, options: Any, run: CommandRun) -> Any:
    """Evaluate the experiment's trained models at every setting of its plan (train once, evaluate many)."""
    from rsb_sweep.driver.evaluate import run_evaluations

    say = (lambda line: None) if options.quiet else (lambda line: console.print(line, markup=False))
    return run_evaluations(exp, options, say, on_dispatch=run.dispatching)


def _report_evaluations(exp: Any, outcome: Any) -> ExitStatus:
    """Print the evaluations' summary and each failure; the exit status they call for."""
    from rsb_sweep.experiment.evaluations import EVALUATIONS_PARQUET

    c = outcome.counts
    console.print(f"evaluations: {exp.root / EVALUATIONS_PARQUET}  ({c['TERMINATED']} done, {c['ERROR']} failed, "
                  f"{c['PENDING']} waiting for their trial; {outcome.evaluated} computed now, "
                  f"{outcome.wall_seconds:.1f} s)")
    failed = outcome.table[(outcome.table["status"] == "ERROR") & (outcome.table["source"] == "evaluation")]
    for row in failed.head(_MAX_LISTED_FAILURES).itertuples():
        err_console.print(f"failed evaluation {row.trial_id} {row.eval_set} crop_pct={row.crop_pct:g} "
                          f"test_res={row.test_res}: {row.error}", markup=False)
    if len(failed):
        err_console.print(f"retry them with  rsb-sweep evaluate {exp.root} --retry-failed")
    return ExitStatus.for_counts({"ERROR": c["ERROR"], "PENDING": c["PENDING"]})


def _describe_start(spec: Any, trials: list, execution: Any, kwargs: dict[str, Any]) -> None:
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
    if first.data is None:
        console.print(describe_preset(first.to_dict(), asdict(get_recipe(first.recipe))))


def _overrides(texts: dict[str, str], eval_sets: Any = None) -> dict[str, Any]:
    """``--<field>`` texts to typed values; comma lists become lists (grid axes)."""
    from rsb_sweep.spec.fields import coerce

    out: dict[str, Any] = {}
    for name, text in texts.items():
        values = [coerce(name, p.strip()) for p in str(text).split(",")]
        out[name] = values if len(values) > 1 else values[0]
    if eval_sets:
        out["eval_sets"] = coerce("eval_sets", list(eval_sets))
    return out


def _single_values(overrides: dict[str, Any], eval_lists: bool = False) -> tuple[dict[str, Any], dict[str, list]]:
    """The one-value overrides, and (with ``eval_lists``) the lists of evaluation-only fields, as grid
    axes that :func:`~rsb_sweep.spec.expand.move_eval_only` turns into evaluations (``seeds --crop-pct a,b``)."""
    from analysis.contract import EVAL_ONLY_FIELDS

    single, lists = {}, {}
    for key, value in overrides.items():
        if isinstance(value, list) and key != "eval_sets":
            if eval_lists and key in EVAL_ONLY_FIELDS:
                lists[key] = value
                continue
            raise _user_error(f"--{key.replace('_', '-')} takes one value here; use `rsb-sweep grid` for lists")
        single[key] = value
    return single, lists


def _vary(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _user_error(message: str) -> Exception:
    from rsb_sweep.errors import SweepError

    return SweepError(message)


def _guard(body: Callable[[CommandRun], Optional[int]]) -> None:
    """Run a command body; exit with its status (:mod:`rsb_sweep.exitstatus`)."""
    run_command(body, lambda line: err_console.print(line, markup=False, highlight=False))


if __name__ == "__main__":
    main()
