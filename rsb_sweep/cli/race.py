"""``rsb-sweep race``: the best configurations of a grid with the fewest trainings, seeds added a
wave at a time to the configurations that survive (the driver is :mod:`rsb_sweep.driver.race`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import click

from rsb_sweep.cli.app import main
from rsb_sweep.cli.launch import grid_spec, launch_spec
from rsb_sweep.cli.options import EXTRA_ARGS, FIELDS_HELP, extra_fields, launch_options, single_values

_EPILOG = FIELDS_HELP.replace("Exit status: 0 every trial finished", "Exit status: 0 every trial finished, whatever "
                              "the verdict (it is in race.json; `undecided` included)")


@main.command(context_settings=EXTRA_ARGS, epilog=_EPILOG,
              options_metavar="[SWEEP_FILE] [--<field> V1,V2,…] [OPTIONS]")
@click.option("--recipe", default=None, help="a1, a2 or a3, or a comma list (a grid axis)  [default: a2]")
@click.option("--delta", type=float, default=0.1, show_default=True,
              help="margin in points of the metric: a configuration is dropped when another is better by more "
                   "than δ; the default is for ImageNet-sized test sets (on the embedded digits, whose top-1 "
                   "moves in 0.28-point steps with a seed std of 1.4–2 points, use about 1.0)")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="family-wise error: P(a configuration within δ of the best is ever dropped) ≤ α")
@click.option("--wave", type=int, default=2, show_default=True, help="seeds per surviving configuration between looks")
@click.option("--max-seeds", type=int, default=30, show_default=True,
              help="stop 'undecided' at this many seeds per configuration")
@click.option("--metric", default="top1", show_default=True, help="top1, top5, eval_loss or top1_<eval set>")
@click.option("--seed-start", type=int, default=None, help="first seed  [default: 0, or the sweep file's]")
@click.option("--vary", default="init,data,aug", show_default=True, help="seed sources that change with the seed")
@launch_options()
@extra_fields
def race(ctx: click.Context, recipe: Optional[str], delta: float, alpha: float, wave: int, max_seeds: int,
         metric: str, seed_start: Optional[int], vary: str, **kwargs: Any) -> None:
    """Race a grid: every configuration (comma-separated values, as for `grid`, or a SWEEP_FILE's grid) runs the
    same seeds, a wave at a time; after each wave anytime-valid confidence sequences for every pair (at α over
    the number of pairs) drop the configurations another beats by more than δ, until one survives, the
    survivors are equivalent within δ, or --max-seeds is reached (undecided):
    `rsb-sweep race --lr 4e-3,1e-2,1.6e-2 --loss bce,ce --delta 1.0`. A grid of crop_pct / test_res only trains
    one model per seed and races its evaluations, paired. Everything is in <experiment>/race.json."""
    from rsb_sweep.spec.race import first_wave, make_race_settings

    extra = list(ctx.args)
    sweep_file = Path(extra.pop(0)) if extra and not extra[0].startswith("-") else None
    loaded: dict[str, Any] = {}

    def build(overrides: dict[str, Any]) -> Any:
        if sweep_file is not None:
            return _file_spec(loaded["spec"], sweep_file, overrides, recipe, seed_start, wave, kwargs)
        return _grid_spec(overrides, recipe or "a2", seed_start or 0, vary, wave, kwargs)

    def load() -> Any:
        from rsb_sweep.spec.execution import Execution
        from rsb_sweep.spec.sweepfile import load_spec_file

        if sweep_file is None:
            return Execution()
        loaded["spec"], execution = load_spec_file(sweep_file, data=kwargs["data"])
        return execution

    def plan(spec: Any) -> tuple[list, dict[str, Any]]:
        settings = make_race_settings(spec, delta=delta, alpha=alpha, wave=wave, max_seeds=max_seeds, metric=metric)
        trials, settings = first_wave(spec, settings)
        return trials, {"race": settings.to_dict()}

    launch_spec(build, kwargs, extra, base_execution=load, plan=plan)


def _grid_spec(overrides: dict[str, Any], recipe: str, seed_start: int, vary: str, wave: int,
               kwargs: dict[str, Any]) -> Any:
    """The race's spec from grid options (as ``grid`` builds it): the fields given several values are its axes."""
    return grid_spec(overrides, recipe, n_seeds=wave, seed_start=seed_start, vary=vary, kwargs=kwargs, prefix="race",
                     source=f"race: waves of {wave} seeds per surviving configuration")


def _file_spec(spec: Any, path: Path, overrides: dict[str, Any], recipe: Optional[str], seed_start: Optional[int],
               wave: int, kwargs: dict[str, Any]) -> Any:
    """The race's spec from a sweep file: its grid raced, options overriding its fields (not its axes)."""
    from analysis.contract import EVAL_ONLY_CONFIG_FIELDS
    from rsb_sweep.errors import SweepError

    listed = sorted(k for k, v in overrides.items() if isinstance(v, list) and len(v) > 1
                    and k not in EVAL_ONLY_CONFIG_FIELDS)
    if listed:
        raise SweepError(f"{path}: --{listed[0].replace('_', '-')} lists values, but with a sweep file the grid is "
                         "the file's: add the axis to its grid: (or race without the file)")
    single, evaluated = single_values(overrides, eval_lists=True)
    clash = sorted(set(single) & set(spec.grid))
    if clash:
        raise SweepError(f"{path}: --{clash[0].replace('_', '-')} is a grid axis of this sweep; edit the file instead")
    if recipe is not None:
        raise SweepError(f"{path}: the recipe is the file's; edit the file instead of giving --recipe")
    seeds = replace(spec.seeds, n=wave, start=spec.seeds.start if seed_start is None else seed_start)
    return replace(spec, name=kwargs["name"] or spec.name, overrides={**spec.overrides, **single}, seeds=seeds,
                   grid={**spec.grid, **evaluated}, source=f"{path}; race: waves of {wave} seeds")
