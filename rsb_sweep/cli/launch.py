"""The launching commands: ``seeds``, ``grid``, ``run`` (a sweep file) and ``ab``; each builds a
spec, writes the experiment's manifest and runs it."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

import click

from rsb_sweep.cli.app import guard, console, main
from rsb_sweep.cli.exitstatus import CommandRun, ExitStatus
from rsb_sweep.cli.options import (EXECUTION_OPTIONS, EXTRA_ARGS, FIELDS_HELP, extra_fields, field_args, launch_options,
                                   typed_fields, single_values, parse_vary)
from rsb_sweep.cli.printing import describe_start, print_outcome


@main.command(context_settings=EXTRA_ARGS, epilog=FIELDS_HELP)
@click.option("--n", "n", type=int, default=100, show_default=True, help="number of seeds")
@click.option("--recipe", default="a2", show_default=True, help="a1, a2 or a3")
@click.option("--seed-start", type=int, default=0, show_default=True, help="first seed")
@click.option("--vary", default="init,data,aug", show_default=True,
              help="seed sources that change from trial to trial; the others are pinned")
@launch_options()
@extra_fields
def seeds(ctx: click.Context, n: int, recipe: str, seed_start: int, vary: str, **kwargs: Any) -> None:
    """N seeds of one recipe (the paper's Figure 2): `rsb-sweep seeds --n 100 --recipe a2`."""
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    def build(overrides: dict[str, Any]) -> Any:
        single, evaluated = single_values(overrides, eval_lists=True)
        axis = SeedAxis(n=n, start=seed_start, vary=parse_vary(vary))
        name = kwargs["name"] or f"seeds-{recipe.lower()}-n{n}-{time.strftime('%Y%m%d-%H%M%S')}"
        return SweepSpec(name=name, recipe=recipe.lower(), data=kwargs["data"], overrides=single, seeds=axis,
                         grid=evaluated)

    _launch(build, kwargs, ctx.args)


@main.command(context_settings=EXTRA_ARGS, epilog=FIELDS_HELP)
@click.option("--recipe", default="a2", show_default=True, help="a1, a2 or a3, or a comma list (a grid axis)")
@click.option("--seeds", "n_seeds", type=int, default=1, show_default=True, help="seeds per grid point")
@click.option("--seed-start", type=int, default=0, show_default=True, help="first seed")
@click.option("--vary", default="init,data,aug", show_default=True, help="seed sources that change with the seed")
@launch_options()
@extra_fields
def grid(ctx: click.Context, recipe: str, n_seeds: int, seed_start: int, vary: str, **kwargs: Any) -> None:
    """The Cartesian product of comma-separated values × seeds (e.g. --lr 2e-3,5e-3 --wd 0.01,0.02 --loss bce,ce)."""

    def build(overrides: dict[str, Any]) -> Any:
        return grid_spec(overrides, recipe, n_seeds=n_seeds, seed_start=seed_start, vary=vary, kwargs=kwargs)

    _launch(build, kwargs, ctx.args)


def grid_spec(overrides: dict[str, Any], recipe: str, *, n_seeds: int, seed_start: int, vary: str,
              kwargs: dict[str, Any], prefix: str = "grid", source: str = "command line") -> Any:
    """The spec of grid options (``grid``, ``race``): every field given several values is an axis, a
    comma list of recipes too; ``prefix`` names the experiment when ``--name`` does not."""
    from rsb_sweep.spec.fields import coerce
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    fixed, axes = {}, {}
    for key, values in overrides.items():
        (axes if isinstance(values, list) and len(values) > 1 else fixed)[key] = values
    fixed = {k: (v[0] if isinstance(v, list) else v) for k, v in fixed.items()}
    recipes = [r.strip().lower() for r in recipe.split(",") if r.strip()]
    if len(recipes) > 1:
        axes = {"recipe": [coerce("recipe", r) for r in recipes], **axes}
    name = kwargs["name"] or f"{prefix}-{'-'.join(recipes)}-{time.strftime('%Y%m%d-%H%M%S')}"
    return SweepSpec(name=name, recipe=recipes[0], data=kwargs["data"], overrides=fixed, grid=axes,
                     seeds=SeedAxis(n=n_seeds, start=seed_start, vary=parse_vary(vary)), source=source)


@main.command(context_settings=EXTRA_ARGS, epilog=FIELDS_HELP)
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seeds", "n_seeds", type=int, default=None, help="replace the file's number of seeds")
@click.option("--seed-start", type=int, default=None, help="replace the file's first seed")
@launch_options()
@extra_fields
def run(ctx: click.Context, sweep_file: Path, n_seeds: Optional[int], seed_start: Optional[int], **kwargs: Any) -> None:
    """Any sweep written as YAML (see sweeps/); options override the file."""
    from rsb_sweep.errors import SweepError
    from rsb_sweep.spec.sweepfile import load_spec_file

    loaded: dict[str, Any] = {}

    def build(overrides: dict[str, Any]) -> Any:
        spec = loaded["spec"]
        single, evaluated = single_values(overrides, eval_lists=True)
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


@main.command(context_settings=EXTRA_ARGS, epilog=FIELDS_HELP.replace(
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
@launch_options()
@extra_fields
def ab(ctx: click.Context, arm_a: str, arm_b: str, recipe: str, delta: float, alpha: float, wave: int, max_seeds: int,
       metric: str, seed_start: int, vary: str, **kwargs: Any) -> None:
    """Is B better than A? Both arms on the same seeds, a wave at a time, until an anytime-valid confidence
    sequence decides (b_better, a_better, equivalent within δ) or --max-seeds is reached (undecided):
    `rsb-sweep ab --a lr=5e-3 --b lr=5e-4`. Arms that differ only in crop_pct / test_res train one model per
    seed and compare its two evaluations, paired. The verdict and every look are in <experiment>/decision.json."""
    from rsb_sweep.spec.ab import evaluation_plan, first_wave, make_settings, parse_arm
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    def build(overrides: dict[str, Any]) -> Any:
        single, _ = single_values(overrides)
        name = kwargs["name"] or f"ab-{recipe.lower()}-{time.strftime('%Y%m%d-%H%M%S')}"
        return SweepSpec(name=name, recipe=recipe.lower(), data=kwargs["data"], overrides=single,
                         seeds=SeedAxis(n=wave, start=seed_start, vary=parse_vary(vary)),
                         source=f"ab: first wave of {wave} seeds per arm, at most {max_seeds}")

    def plan(spec: Any) -> tuple[list, dict[str, Any]]:
        a, b = parse_arm(arm_a, "--a"), parse_arm(arm_b, "--b")
        settings = make_settings(spec, a, b, delta=delta, alpha=alpha, wave=wave, max_seeds=max_seeds, metric=metric)
        trials, settings = first_wave(spec, settings)
        return trials, {"ab": settings.to_dict(), "evaluate": evaluation_plan(settings).to_dict()}

    _launch(build, kwargs, ctx.args, plan=plan)


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
        from rsb_sweep.driver.trackers import parse_log

        log = parse_log(kwargs.get("log") or ())
        for key in ("data", "out", "storage"):
            if kwargs.get(key):
                kwargs[key] = absolute_path(kwargs[key])
        base = base_execution() if base_execution is not None else Execution()
        spec, moved = move_eval_only(build(absolute_fields(typed_fields(field_args(extra), kwargs.get("eval_set")))))
        if moved:
            spec = replace(spec, source=f"{spec.source}; {moved}")
        trials, more = plan(spec) if plan is not None else (expand(spec), None)
        if more and "evaluate" in more:  # a plan's evaluations (ab arms that differ only in evaluation)
            spec = replace(spec, evaluate=EvalPlan.from_dict(more.pop("evaluate")))
        execution = base.with_overrides(**{k: kwargs.get(k) for k in EXECUTION_OPTIONS})
        if not kwargs.get("address"):  # with --address the data lives on the cluster: checked there
            check_data_here(t.config.to_dict() for t in trials)
        describe_start(spec, trials, execution, kwargs)
        if kwargs["dry_run"]:
            for t in trials[:20]:
                console.print(f"  {t.trial_id}")
            if len(trials) > 20:
                console.print(f"  … and {len(trials) - 20} more")
            return ExitStatus.OK
        root = Path(kwargs["out"]) if kwargs["out"] else Path(absolute_path(Path("experiments") / spec.name))
        return execute(lambda: Experiment.create(root, spec, execution, trials, storage=kwargs["storage"],
                                                          extra={**(more or {}), "log": list(log)}), kwargs, run,
                        data_checked=not kwargs.get("address"))

    guard(go)


def execute(experiment: Callable[[], Any], kwargs: dict[str, Any], run: CommandRun, retry_failed: bool = False,
            data_checked: bool = False) -> int:
    """Create or open the experiment (``experiment()``), run the driver on it, print what happened;
    return the exit status. The driver's imports (Ray, pandas: seconds) come first, so that a
    Ctrl-C during them leaves nothing half-written."""
    from rsb_sweep.driver.command import run_sweep_command
    from rsb_sweep.driver.options import LaunchOptions

    from rsb_sweep.experiment.tables import write_tables

    exp = experiment()
    run.experiment(exp.root)
    try:  # from the manifest on, an interrupt leaves the results table (the driver does so from here on)
        if not kwargs.get("quiet"):
            console.print(f"experiment folder: {exp.root}")
        from rsb_sweep.driver.trackers import parse_log

        log = parse_log(kwargs["log"]) if kwargs.get("log") else None  # None: the trackers the manifest names
        options = LaunchOptions.from_values(kwargs, retry_failed=retry_failed, data_checked=data_checked, log=log)
    except KeyboardInterrupt:
        write_tables(exp)
        raise
    return print_outcome(exp, run_sweep_command(exp, options, console, on_dispatch=run.dispatching))


#: The launch steps (paths, overrides, spec, plan, manifest, run) for launching commands defined in
#: other modules (``race``): ``launch_spec(build, kwargs, extra_args, base_execution=…, plan=…)``.
launch_spec = _launch
