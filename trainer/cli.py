"""``python -m trainer``: one run from the command line (torchrun-compatible).

``--resume DIR`` alone continues the run in DIR with the config its checkpoint was trained
with and writes into DIR. ``--config PATH`` runs a stored config.json again from the start
(a sweep trial's, say), into ``--out``. Either way only the flags typed on the command line
count as overrides: the execution ones (``--workers``, ``--data``, ``--device``, ``--threads``,
...) are applied, any other must equal the stored value, or the run stops before it starts and
names the differing fields. The stored thread count is used unless ``--threads`` is typed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional, Sequence

from trainer.checkpoint import CONFIG_FILE, run_folder, stored_config
from trainer.config import (EXECUTION_FIELDS, FIELD_NAMES, TrainConfig, config_differences, parse_eval_set,
                            parse_value, resolve_config, validate)
from trainer.errors import ConfigError, TrainerError
from trainer.init_from import resolve_source
from trainer.presets import DIGITS, describe_preset
from trainer.recipes import RECIPES, get_recipe
from trainer.targets import EMBEDDED, describe_target

#: Fields with their own flags (or none) rather than the generic override.
_SPECIAL = {"recipe", "data", "eval_sets", "dataset"}
DEFAULT_RECIPE = "a2"


def build_parser() -> argparse.ArgumentParser:
    """``--recipe``, ``--data``, ``--out``, ``--resume`` and one ``--<field>`` per config field.

    Every default is None, so that :func:`typed_overrides` sees exactly what the user typed.
    """
    p = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Train one model with an RSB recipe (A1/A2/A3) on an ImageFolder or the embedded digits.",
    )
    p.add_argument("--recipe", default=None, help=f"one of {', '.join(RECIPES)} (default {DEFAULT_RECIPE})")
    p.add_argument("--data", default=None, help="ImageFolder root with train/ and val/ (default: embedded digits)")
    p.add_argument("--dataset", default=None, metavar="NAME",
                   help=f"without --data, an embedded data set: {', '.join(EMBEDDED)} (default digits); with "
                        f"--data, the name its results carry (default: the folder's name)")
    p.add_argument("--out", default=None, help="run folder: config.json, history.jsonl, metrics.json, checkpoints/ "
                                               "(default with --resume: the resumed run's folder)")
    p.add_argument("--resume", default=None, metavar="DIR",
                   help="continue the run in DIR from its newest checkpoint, with its stored config; "
                        "flags typed as well must agree with it (execution flags such as --workers may change)")
    p.add_argument("--config", default=None, metavar="PATH", dest="stored_config",
                   help="run a stored config.json (or the run folder holding one) again, from the start: the same "
                        "run, at its recorded thread count; flags typed as well must agree with it (execution "
                        "flags such as --workers or --threads may change)")
    p.add_argument("--stop-after", type=int, default=None, metavar="N", help="stop after N epochs (resume later)")
    p.add_argument("--eval-set", action="append", default=None, metavar="NAME=PATH", help="extra ImageFolder evaluation set")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    group = p.add_argument_group("overrides (any config field; 'none' unsets an optional one)")
    for name in FIELD_NAMES:
        if name not in _SPECIAL:
            group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, metavar="V")
    return p


def typed_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields given on the command line, converted to their types."""
    overrides = {n: parse_value(n, getattr(args, n)) for n in FIELD_NAMES if n not in _SPECIAL and getattr(args, n) is not None}
    if getattr(args, "dataset", None) is not None:
        overrides["dataset"] = args.dataset
    if args.eval_set is not None:
        overrides["eval_sets"] = tuple(parse_eval_set(s) for s in args.eval_set)
    return overrides


def resume_config(path: Path, recipe: Optional[str], data: Optional[str], overrides: dict[str, Any]) -> TrainConfig:
    """The config stored with the newest checkpoint at ``path``, with the typed flags applied.

    Whether the typed flags agree with the checkpoint is checked by :func:`trainer.run.train`,
    which names every differing field.
    """
    saved = stored_config(path)
    if saved is None:
        raise ConfigError(f"--resume {path}: no checkpoint found; expected {path}/checkpoints/epoch_XXXX/state.pt")
    return _with_typed(TrainConfig.from_dict(saved), recipe, data, overrides)


def rerun_config(path: Path, recipe: Optional[str], data: Optional[str],
                 overrides: dict[str, Any]) -> tuple[TrainConfig, list[str]]:
    """The config.json at ``path`` (a file, or a run folder holding one) with the typed flags applied,
    and what to say first; an error naming every typed field outside the execution ones that differs."""
    file = path / CONFIG_FILE if path.is_dir() else path
    try:
        stored = TrainConfig.from_dict(json.loads(file.read_text()))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--config {path}: cannot read a stored config ({exc}); give a run's config.json "
                          f"or the run folder holding it") from None
    config = _with_typed(stored, recipe, data, overrides)
    diff = config_differences(stored.to_dict(), config.to_dict(), source="stored")
    if diff:
        raise ConfigError(f"--config {path}: typed flags differ from the stored config: {'; '.join(diff)}. A run from "
                          f"a stored config repeats it: only {', '.join(EXECUTION_FIELDS)} may change")
    import torch

    from trainer.threads import thread_change_notice

    notice = thread_change_notice(stored.threads, config.threads or torch.get_num_threads(), str(file))
    return config, [f"running the stored config {file}", *([notice] if notice else [])]


def _with_typed(stored: TrainConfig, recipe: Optional[str], data: Optional[str],
                overrides: dict[str, Any]) -> TrainConfig:
    """``stored`` with the typed recipe, data and field flags, validated."""
    changes = dict(overrides)
    if recipe is not None:
        changes["recipe"] = recipe.lower()
    if data is not None:
        changes["data"] = str(data)
    config = dataclasses.replace(stored, **changes)
    validate(config)
    return config


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config, notices = command_config(args)
        if args.print_config:
            print(json.dumps(config.to_dict(), indent=2))
            return 0
        out = Path(args.out) if args.out else (run_folder(Path(args.resume)) if args.resume else None)
        if args.stored_config is not None and out is not None and _holds(out, Path(args.stored_config)):
            raise ConfigError(f"--out {out} is the folder of the stored run: give another --out (the run would "
                              f"overwrite the files it repeats)")
        for line in notices:
            print(line, flush=True)
        from trainer.run import train

        result = train(config, out_dir=out, resume_from=Path(args.resume) if args.resume else None,
                       stop_after=args.stop_after, log=lambda line: print(line, flush=True))
    except TrainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        _close_process_group()
    m = result.metrics
    state = "done" if result.completed else f"stopped after epoch {m.get('epochs_done')}"
    print(f"{state}: top1 {m.get('top1', float('nan')):.2f}  top5 {m.get('top5', float('nan')):.2f}  "
          f"{m.get('train_hours', 0) * 3600:.1f} s", flush=True)
    return 0


def command_config(args: argparse.Namespace) -> tuple[TrainConfig, list[str]]:
    """The run's config from ``--resume``, ``--config`` or a recipe, with the typed flags; lines to print first."""
    overrides = typed_overrides(args)
    if args.resume is not None and args.stored_config is not None:
        raise ConfigError("--resume and --config: give one (--resume continues a run from its checkpoint, "
                          "--config runs a stored config again from the start)")
    if args.resume is not None:
        return resume_config(Path(args.resume), args.recipe, args.data, overrides), []
    if args.stored_config is not None:
        return rerun_config(Path(args.stored_config), args.recipe, args.data, overrides)
    config = resolve_source(resolve_config(args.recipe or DEFAULT_RECIPE, data=args.data, **overrides), overrides)
    return config, start_lines(config)


def start_lines(config: TrainConfig) -> list[str]:
    """What a run on embedded data prints first: how its preset scaled the recipe (none on --data)."""
    if config.data is not None:
        return []
    describe = describe_preset if config.dataset == DIGITS else describe_target
    return [describe(config.to_dict(), asdict(get_recipe(config.recipe)))]


def _holds(out: Path, stored: Path) -> bool:
    """Whether run folder ``out`` is the one holding the stored config ``stored`` (a file or its folder)."""
    folder = stored if stored.is_dir() else stored.parent
    return out.resolve() == folder.resolve()


def _close_process_group() -> None:
    """Under torchrun this command owns the process group: close it before the interpreter exits,
    or gloo's threads can be torn down mid-flight (seen as SIGABRT, "terminate called without an
    active exception", once in CI). A group someone else made (Ray Train) is never reached here."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

