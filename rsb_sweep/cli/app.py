"""The ``rsb-sweep`` click group, its consoles, and the wrapper every command body runs in."""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

import click
from rich.console import Console

from rsb_sweep.cli.exitstatus import EPILOG, CommandRun, ExitStatus, run_command

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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


def guard(body: Callable[[CommandRun], Optional[int]]) -> None:
    """Run a command body; exit with its status (:mod:`rsb_sweep.cli.exitstatus`)."""
    run_command(body, lambda line: err_console.print(line, markup=False, highlight=False))
