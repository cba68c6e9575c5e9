"""``rsb-sweep transfer``: fine-tune every trial of a source experiment on target data sets (Table 5).

Thin: parse, plan (:func:`rsb_sweep.driver.transfer.plan_transfer`), write the manifest, run
(:func:`rsb_sweep.driver.transfer.run_transfer_command`), print. ``resume`` on a transfer folder
comes here too (:func:`resume_transfer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import click

from rsb_sweep.cli.app import console, guard, main
from rsb_sweep.cli.exitstatus import CommandRun, ExitStatus
from rsb_sweep.cli.options import (EXECUTION_OPTIONS, EXTRA_ARGS, FIELDS_HELP, LAUNCH, extra_fields, field_args,
                                   launch_options, single_values, typed_fields)

_HELP = ("Fine-tune every trial of experiment SOURCE (each pretraining recipe and seed) on each target with K "
         "fine-tuning seeds, in a new experiment (default: beside SOURCE, SOURCE-transfer). Rows carry the "
         "target in `dataset` and the source in pretrain_trial / pretrain_recipe / pretrain_seed / "
         "pretrain_dataset. Source trials not finished yet: their fine-tunings stay pending (exit 3); "
         "`rsb-sweep resume` on the transfer folder runs them once they have finished. SOURCE may also be a "
         "sweep file with a transfer: section (sweeps/table5_transfer.yaml).")


@main.command(context_settings=EXTRA_ARGS, epilog=FIELDS_HELP, help=_HELP)
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--target", "targets", multiple=True, metavar="NAME[=PATH]",
              help="a target: NAME=PATH (ImageFolder with train/ and val/) or an embedded one; repeatable "
                   "(default: the embedded lfw_faces and textures)")
@click.option("--seeds", "n_seeds", type=int, default=None, help="fine-tuning seeds per source trial and target [3]")
@click.option("--seed-start", type=int, default=None, help="first fine-tuning seed [0]")
@click.option("--recipe", default=None, help="the fine-tuning recipe [ft]")
@launch_options(*(n for n in LAUNCH if n != "data"), out="experiment folder (default: beside SOURCE, SOURCE-transfer)",
                name="experiment name (default: SOURCE-transfer, or the sweep file's)")
@extra_fields
def transfer(ctx: click.Context, source: Path, targets: tuple[str, ...], n_seeds: Optional[int],
             seed_start: Optional[int], recipe: Optional[str], **kwargs: Any) -> None:
    def go(run: CommandRun) -> int:
        from rsb_sweep.driver.preflight import check_data_here
        from rsb_sweep.driver.trackers import parse_log
        from rsb_sweep.driver.transfer import configs_of, default_root, describe_plan, plan_transfer
        from rsb_sweep.spec.paths import absolute_fields, absolute_path

        log = parse_log(kwargs.get("log") or ())
        for key in ("out", "storage"):
            if kwargs.get(key):
                kwargs[key] = absolute_path(kwargs[key])
        overrides, _ = single_values(absolute_fields(typed_fields(field_args(ctx.args), kwargs.get("eval_set"))))
        settings, execution, name = _settings(source, targets, n_seeds, seed_start, recipe, overrides, kwargs)
        plan = plan_transfer(settings, name)
        execution = execution.with_overrides(**{k: kwargs.get(k) for k in EXECUTION_OPTIONS})
        if not kwargs.get("address"):  # with --address the data lives on the cluster: checked there
            check_data_here(configs_of(plan.trials))
        if not kwargs.get("quiet"):
            for line in describe_plan(plan):
                console.print(line, markup=False)
        if kwargs["dry_run"]:
            for t in plan.trials[:20]:
                console.print(f"  {t.trial_id}", markup=False)
            if len(plan.trials) > 20:
                console.print(f"  … and {len(plan.trials) - 20} more")
            return ExitStatus.OK
        root = Path(kwargs["out"]) if kwargs["out"] else default_root(Path(settings.source), kwargs["name"] or name)
        return _execute(lambda: plan.create(root, execution, storage=kwargs["storage"], log=tuple(log)), kwargs, run,
                        data_checked=not kwargs.get("address"))

    guard(go)


def _settings(source: Path, targets: tuple[str, ...], n_seeds: Optional[int], seed_start: Optional[int],
              recipe: Optional[str], overrides: dict[str, Any], kwargs: dict[str, Any]) -> tuple[Any, Any, str]:
    """The transfer's settings, execution and name: from SOURCE (a folder) and the options, or from a sweep
    file with a ``transfer:`` section that the options override."""
    from dataclasses import replace

    from rsb_sweep.spec.execution import Execution
    from rsb_sweep.spec.paths import absolute_path
    from rsb_sweep.spec.transferfile import load_transfer_file
    from rsb_sweep.spec.transfer import FT_RECIPE, TransferSettings, parse_target

    if source.is_file():
        settings, execution, name = load_transfer_file(source)
    else:
        settings = TransferSettings(source=absolute_path(source))
        execution, name = Execution(), f"{Path(absolute_path(source)).name}-transfer"
    given: dict[str, Any] = {"seeds": n_seeds, "seed_start": seed_start, "recipe": recipe and recipe.lower()}
    given = {k: v for k, v in given.items() if v is not None}
    if targets:
        given["targets"] = tuple(parse_target(_absolute_target(t)) for t in targets)
    settings = replace(settings, **given, overrides={**settings.overrides, **overrides},
                       recipe=given.get("recipe", settings.recipe or FT_RECIPE))
    return settings, execution, kwargs.get("name") or name


def _absolute_target(text: str) -> str:
    from rsb_sweep.spec.paths import absolute_path

    name, eq, path = text.partition("=")
    return f"{name}={absolute_path(path.strip())}" if eq and path.strip() else text


def _execute(experiment: Any, kwargs: dict[str, Any], run: CommandRun, retry_failed: bool = False,
             data_checked: bool = False) -> int:
    """Create or open the transfer experiment, run the driver on it, print what happened (as
    :func:`rsb_sweep.cli.launch.execute` does for the other sweeps)."""
    from rsb_sweep.cli.printing import print_outcome
    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.trackers import parse_log
    from rsb_sweep.driver.transfer import run_transfer_command

    exp = experiment()
    run.experiment(exp.root)
    if not kwargs.get("quiet"):
        console.print(f"experiment folder: {exp.root}")
    log = parse_log(kwargs["log"]) if kwargs.get("log") else None
    options = LaunchOptions.from_values(kwargs, retry_failed=retry_failed, data_checked=data_checked, log=log)
    return print_outcome(exp, run_transfer_command(exp, options, console, on_dispatch=run.dispatching))


def resume_transfer(exp: Any, kwargs: dict[str, Any], run: CommandRun, retry_failed: bool) -> int:
    """``rsb-sweep resume`` on a transfer folder: plan the source trials new since, run what is ready."""
    return _execute(lambda: exp, kwargs, run, retry_failed=retry_failed)


def is_transfer(exp: Any) -> bool:
    """Whether ``exp`` (an opened experiment) is a transfer (its manifest has a ``transfer`` section)."""
    from rsb_sweep.spec.transfer import MANIFEST_KEY

    return bool(exp.manifest.get(MANIFEST_KEY))


def transfer_status_line(exp: Any) -> Optional[str]:
    """``status``'s line for a transfer: how many fine-tunings wait for their source trial (manifest only)."""
    from rsb_sweep.spec.transfer import MANIFEST_KEY, is_resolved

    if not is_transfer(exp):
        return None
    waiting = sum(1 for t in exp.trials if not is_resolved(t))
    source = exp.manifest[MANIFEST_KEY]["source"]
    if not waiting:
        return f"transfer from {source}: every fine-tuning starts from a finished source trial"
    return (f"transfer from {source}: {waiting} fine-tunings wait for their source trial; `rsb-sweep resume "
            f"{exp.root}` runs those whose source has finished since")
