"""Options shared by the commands: the launch options, ``--<field> V`` trainer fields, and parsing
typed values out of them (errors are usage errors, exit status 2)."""

from __future__ import annotations

from typing import Any, Callable, Optional

import click

from analysis.contract import EVAL_ONLY_FIELDS, EVAL_SETS_FIELD
from rsb_sweep.cli.exitstatus import EPILOG

EXTRA_ARGS = {"ignore_unknown_options": True, "allow_extra_args": True}
FIELDS_HELP = ("Any trainer field can be set as --<field> VALUE (e.g. --lr 3e-3 --weight-decay 0.02 --epochs 50 "
                "--max-steps 10 --seed-aug 7); `rsb-sweep fields` lists them with the recipe's values. "
                "Relative paths are taken from the current folder (in a sweep file: from the file's folder).\n\n" + EPILOG)


def extra_fields(func: Callable) -> Callable:
    """Collect ``--<field> V`` pairs (not declared as options, so that importing the CLI stays light)."""
    func = launch_options("eval_set")(func)
    return click.pass_context(func)


def field_args(args: list[str]) -> dict[str, str]:
    """``['--lr', '3e-3', '--wd=0.02']`` -> ``{'lr': '3e-3', 'weight_decay': '0.02'}``; errors name the bad token."""
    from rsb_sweep.spec.fields import OVERRIDABLE, canonical

    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or token == "--":
            raise user_error(f"unexpected argument {token!r}")
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise user_error(f"--{key} needs a value")
            value, i = args[i + 1], i + 1
        name = canonical(key)
        if name not in OVERRIDABLE or name == EVAL_SETS_FIELD:
            import difflib

            close = difflib.get_close_matches(name, OVERRIDABLE, n=3)
            hint = f" (did you mean {', '.join('--' + c.replace('_', '-') for c in close)}?)" if close else ""
            raise user_error(f"no such option --{key}{hint}; `rsb-sweep fields` lists the trainer fields")
        if name in out:
            raise user_error(f"--{key} given twice")
        out[name] = value
        i += 1
    return out


#: Every option that launches or continues trials, declared once: name -> (flags, click settings).
OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "data": (("--data",), dict(default=None, metavar="PATH", help="ImageFolder with train/ and val/ (default: embedded digits)")),
    "name": (("--name",), dict(default=None, help="experiment name (default: from the command or the sweep file)")),
    "out": (("--out",), dict(default=None, metavar="DIR", help="experiment folder (default: experiments/<name>)")),
    "storage": (("--storage",), dict(default=None, metavar="PATH|URI", help="where trial folders and checkpoints live: "
                                     "a folder (shared on a cluster) or s3://, gs://")),
    "workers_per_trial": (("--workers-per-trial",), dict(type=int, default=None, help="DDP workers per trial (default 1)")),
    "cpus_per_trial": (("--cpus-per-trial",), dict(type=float, default=None,
                                                   help="CPUs per trial, shared by its workers (default 1 per worker)")),
    "gpus_per_worker": (("--gpus-per-worker",), dict(type=float, default=None, help="GPUs per DDP worker (default 0)")),
    "max_concurrent": (("--max-concurrent",), dict(type=int, default=None,
                                                   help="at most this many trials at once (default: what fits)")),
    "max_failures": (("--max-failures",), dict(type=int, default=None,
                                               help="restarts of a trial whose process died (default 3)")),
    "pack": (("--pack",), dict(type=int, default=None,
                               help="trials run one after another per Tune trial process (default: automatic)")),
    "address": (("--address",), dict(default=None,
                                     help="join a Ray cluster: auto, host:port or ray://… (default: start one here)")),
    "num_cpus": (("--num-cpus",), dict(type=int, default=None, help="CPUs of the local Ray instance (default: all)")),
    "dashboard": (("--dashboard",), dict(is_flag=True, help="start Ray's dashboard on 127.0.0.1 and print its URL")),
    "log": (("--log",), dict(multiple=True, metavar="TRACKER", help="trackers, a run per trial, besides TensorBoard "
                             "(always, in DIR/tensorboard): mlflow[=URI] (default: DIR/mlflow.db), wandb[=PROJECT]; "
                             "`none` for no tracker; repeatable")),
    "resource_timeout": (("--resource-timeout",), dict(type=float, default=None, metavar="SECONDS",
                                                       help="stop (exit 3) when no trial could be placed for this long "
                                                            "(a lost node; default 600)")),
    "live": (("--live/--no-live",), dict(default=None, help="live progress table (default: on a terminal)")),
    "quiet": (("--quiet",), dict(is_flag=True, help="no progress output")),
    "dry_run": (("--dry-run",), dict(is_flag=True, help="validate and list the trials, run nothing")),
    "retry_failed": (("--retry-failed",), dict(is_flag=True,
                                               help="also run the trials that failed, from their last checkpoint")),
    "eval_set": (("--eval-set", "eval_set"), dict(multiple=True, metavar="NAME=PATH",
                                                  help="extra ImageFolder evaluation set (top1_NAME column); repeatable")),
}

#: The launch options of seeds, grid, run and ab, in their --help order.
LAUNCH = ("data", "name", "out", "storage", "workers_per_trial", "cpus_per_trial", "gpus_per_worker", "max_concurrent",
           "max_failures", "pack", "address", "num_cpus", "dashboard", "log", "resource_timeout", "live", "quiet", "dry_run")


def launch_options(*names: str, **helps: str) -> Callable[[Callable], Callable]:
    """The decorator that declares the options ``names`` (default: the launch options of seeds, grid, run and
    ab) from their one declaration, in that order; ``helps`` rewords an option's help for one command
    (``evaluate`` retries evaluations, not trials)."""
    unknown = sorted(set(helps) - set(names or LAUNCH))
    if unknown:
        raise ValueError(f"help given for options not declared here: {unknown}")

    def declare(func: Callable) -> Callable:
        for name in reversed(names or LAUNCH):
            flags, settings = OPTIONS[name]
            func = click.option(*flags, **{**settings, **({"help": helps[name]} if name in helps else {})})(func)
        return func

    return declare


#: Launch options that override the sweep's execution settings (file or defaults).
EXECUTION_OPTIONS = ("workers_per_trial", "cpus_per_trial", "gpus_per_worker", "max_concurrent", "max_failures", "pack")


def typed_fields(texts: dict[str, str], eval_sets: Any = None) -> dict[str, Any]:
    """``--<field>`` texts to typed values; comma lists become lists (grid axes)."""
    from rsb_sweep.spec.fields import coerce

    out: dict[str, Any] = {}
    for name, text in texts.items():
        values = [coerce(name, p.strip()) for p in str(text).split(",")]
        out[name] = values if len(values) > 1 else values[0]
    if eval_sets:
        out[EVAL_SETS_FIELD] = coerce(EVAL_SETS_FIELD, list(eval_sets))
    return out


def single_values(overrides: dict[str, Any], eval_lists: bool = False) -> tuple[dict[str, Any], dict[str, list]]:
    """The one-value overrides, and (with ``eval_lists``) the lists of evaluation-only fields, as grid
    axes that :func:`~rsb_sweep.spec.expand.move_eval_only` turns into evaluations (``seeds --crop-pct a,b``)."""
    single, lists = {}, {}
    for key, value in overrides.items():
        if isinstance(value, list) and key != EVAL_SETS_FIELD:
            if eval_lists and key in EVAL_ONLY_FIELDS:
                lists[key] = value
                continue
            raise user_error(f"--{key.replace('_', '-')} takes one value here; use `rsb-sweep grid` for lists")
        single[key] = value
    return single, lists


def parse_vary(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def user_error(message: str) -> Exception:
    from rsb_sweep.errors import SweepError

    return SweepError(message)


def listed_values(text: Optional[str], field: str) -> list[Any]:
    """``'0.875,0.9'`` -> ``[0.875, 0.9]`` as the trainer types ``field``; an error naming the option otherwise."""
    from rsb_sweep.spec.fields import coerce

    if text is None:
        return []
    values = [p.strip() for p in text.split(",") if p.strip()]
    if not values:
        raise user_error(f"--{field.replace('_', '-')} {text!r}: expected comma-separated values")
    return list(dict.fromkeys(coerce(field, v) for v in values))
