"""``python -m trainer``: one run from the command line (torchrun-compatible)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Optional, Sequence

from trainer.config import FIELD_NAMES, parse_value, resolve_config
from trainer.errors import ConfigError, TrainerError
from trainer.presets import describe_preset
from trainer.recipes import RECIPES, get_recipe

#: Fields with their own flags (or none) rather than the generic override.
_SPECIAL = {"recipe", "data", "eval_sets", "dataset"}


def build_parser() -> argparse.ArgumentParser:
    """``--recipe``, ``--data``, ``--out``, ``--resume`` and one ``--<field>`` per config field."""
    p = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Train one model with an RSB recipe (A1/A2/A3) on an ImageFolder or the embedded digits.",
    )
    p.add_argument("--recipe", default="a2", help=f"one of {', '.join(RECIPES)} (default a2)")
    p.add_argument("--data", default=None, help="ImageFolder root with train/ and val/ (default: embedded digits)")
    p.add_argument("--out", default=None, help="run folder: config.json, history.jsonl, metrics.json, checkpoints/")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue from the newest checkpoint in DIR")
    p.add_argument("--stop-after", type=int, default=None, metavar="N", help="stop after N epochs (resume later)")
    p.add_argument("--eval-set", action="append", default=[], metavar="NAME=PATH", help="extra ImageFolder evaluation set")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    group = p.add_argument_group("overrides (any config field; 'none' unsets an optional one)")
    for name in FIELD_NAMES:
        if name not in _SPECIAL:
            group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, metavar="V")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        overrides = {n: parse_value(n, getattr(args, n)) for n in FIELD_NAMES if n not in _SPECIAL and getattr(args, n) is not None}
        if args.eval_set:
            overrides["eval_sets"] = tuple(_split_eval_set(s) for s in args.eval_set)
        config = resolve_config(args.recipe, data=args.data, **overrides)
        if args.print_config:
            print(json.dumps(config.to_dict(), indent=2))
            return 0
        if config.data is None:
            print(describe_preset(config.to_dict(), asdict(get_recipe(config.recipe))), flush=True)
        from trainer.run import train

        result = train(config, out_dir=Path(args.out) if args.out else None,
                       resume_from=Path(args.resume) if args.resume else None, stop_after=args.stop_after,
                       log=lambda line: print(line, flush=True))
    except TrainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = result.metrics
    state = "done" if result.completed else f"stopped after epoch {m.get('epochs_done')}"
    print(f"{state}: top1 {m.get('top1', float('nan')):.2f}  top5 {m.get('top5', float('nan')):.2f}  "
          f"{m.get('train_hours', 0) * 3600:.1f} s", flush=True)
    return 0


def _split_eval_set(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise ConfigError(f"--eval-set {text!r}: expected NAME=PATH")
    return name, path
