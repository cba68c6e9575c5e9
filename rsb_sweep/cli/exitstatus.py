"""Exit statuses of ``rsb-sweep``, and the one wrapper every command body runs in.

Every command that runs trials or evaluations (``seeds``, ``grid``, ``run``, ``ab``, ``resume``,
``evaluate``, and any added later) ends through :func:`run_command`, so that a script or CI job
can tell what happened:

====  ==================================================================================
 0    every trial finished
 1    some trial failed (the summary lists each, with its error file)
 2    usage or configuration error; nothing was started
 3    returned with trials unfinished; ``rsb-sweep resume DIR`` continues them (also after an
      operational fault: a full disk or a store that refuses writes, a cluster that cannot place
      a trial for ``--resource-timeout`` seconds; one line says which)
 4    internal error (a crash of the driver or of Ray); the traceback is saved in the
      experiment folder and its path printed
130   interrupted (Ctrl-C, SIGTERM) at any point; state saved, ``resume`` continues
====  ==================================================================================

Commands that only read (``status``, ``results``, ``report``, ``fields``) exit 0 or 2
(4 only on a bug). A user error (:class:`SweepError`, the trainer's ``TrainerError``, the
analysis's ``AnalysisError``) counts as 2 only while nothing has been dispatched: the
driver calls :meth:`CommandRun.dispatching` before it hands the first trial to Ray, and
after that any error that escapes is a crash of the driver (4), whatever its class.
"""

from __future__ import annotations

import enum
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn, Optional

from analysis.contract import ERROR, PENDING, RUNNING
from rsb_sweep.errors import SweepError

CRASH_FILE = "driver-error.txt"


class ExitStatus(enum.IntEnum):
    OK = 0
    TRIALS_FAILED = 1
    USAGE = 2
    UNFINISHED = 3
    INTERNAL = 4
    INTERRUPTED = 130

    @classmethod
    def for_counts(cls, counts: Mapping[str, int]) -> "ExitStatus":
        """The status of a sweep that returned with these trial counts (by results-table status)."""
        if counts.get(RUNNING, 0) or counts.get(PENDING, 0):
            return cls.UNFINISHED
        if counts.get(ERROR, 0):
            return cls.TRIALS_FAILED
        return cls.OK


#: The ``--help`` epilog of every command that runs trials.
EPILOG = ("Exit status: 0 every trial finished; 1 some trial failed (listed with its error file); "
          "2 usage or configuration error, nothing started; 3 trials unfinished, continue with `rsb-sweep resume DIR`; "
          "4 internal error (traceback saved in the experiment folder); 130 interrupted (state saved; resume continues).")

#: The epilog of the commands that only read an experiment.
READ_EPILOG = "Exit status: 0 done; 2 usage error or an unreadable experiment (the message says which)."


@dataclass
class CommandRun:
    """What the wrapper must know about the command it runs: its experiment folder, once there is
    one, whether any trial has been dispatched yet, and whether it was interrupted."""

    experiment_root: Optional[Path] = None
    dispatched: bool = False
    interrupted: bool = False

    def experiment(self, root: Path) -> None:
        """The command now works on the experiment folder ``root`` (crashes are saved there)."""
        self.experiment_root = Path(root)

    def dispatching(self) -> None:
        """Trials are about to be handed to Ray: from now on an error is no longer a usage error.

        An interrupt that arrived while Ray started can have been swallowed (a KeyboardInterrupt
        raised inside a fork handler is only printed); it is honoured here, before any trial runs.
        """
        if self.interrupted:
            raise KeyboardInterrupt
        self.dispatched = True

    def interrupt(self, signum: int, frame: object) -> None:
        """Signal handler for SIGINT and SIGTERM: remember, then raise KeyboardInterrupt."""
        self.interrupted = True
        raise KeyboardInterrupt


def user_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes whose message is for the user (one line, no traceback).

    Matched by type, never by name. ``AnalysisError`` can only have been raised if the
    analysis package was imported, so it is looked up without importing it (that costs seconds).
    """
    from trainer.errors import TrainerError

    types: list[type[BaseException]] = [SweepError, TrainerError]
    analysis = sys.modules.get("analysis")
    if analysis is not None and hasattr(analysis, "AnalysisError"):
        types.append(analysis.AnalysisError)
    return tuple(types)


def run_command(body: Callable[[CommandRun], Optional[int]], err: Callable[[str], None]) -> NoReturn:
    """Run a command body and exit with the status of what happened.

    ``body`` returns an exit status (None means 0) or raises; ``err`` prints one line to stderr.
    """
    run = CommandRun()
    previous = _handle_interrupts(run)
    try:
        code = int(body(run) or ExitStatus.OK)
    except KeyboardInterrupt:
        where = f"; continue with  rsb-sweep resume {run.experiment_root}" if run.experiment_root else ""
        err(f"interrupted{where}")
        code = ExitStatus.INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:
        fault = operational_fault(exc, run.experiment_root)
        if fault is not None:
            err(fault)
            code = ExitStatus.UNFINISHED
        elif isinstance(exc, user_error_types()) and not run.dispatched:
            err(f"error: {exc}")
            code = ExitStatus.USAGE
        else:
            code = _crash(exc, run, err)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(int(code))


def operational_fault(exc: BaseException, root: Optional[Path]) -> Optional[str]:
    """The one line for a fault of the machine, not of rsb-sweep (exit 3), or None: a full disk or a
    store that refuses writes, or :class:`~rsb_sweep.errors.Unfinished`, anywhere in the exception's chain."""
    from rsb_sweep.errors import Unfinished
    from rsb_sweep.experiment.faults import chain, refused_write

    unfinished = [e for e in chain(exc) if isinstance(e, Unfinished)]
    if unfinished:
        return str(unfinished[0])
    return refused_write(exc, f"rsb-sweep resume {root if root is not None else 'DIR'}", root)


def _handle_interrupts(run: CommandRun) -> dict[int, Any]:
    """Ctrl-C and SIGTERM both stop the command the same way; return the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, run.interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}


def _crash(exc: BaseException, run: CommandRun, err: Callable[[str], None]) -> ExitStatus:
    """An internal error: save the traceback in the experiment folder (or print it when there is none)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    saved = None
    if run.experiment_root is not None and run.experiment_root.is_dir():
        saved = run.experiment_root / CRASH_FILE
        try:
            with open(saved, "a") as fh:
                fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n{text}\n")
        except OSError:
            saved = None
    if saved is None:
        err(text.rstrip())
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    err(f"internal error: {type(exc).__name__}: {first}")
    if saved is not None:
        err(f"traceback saved in {saved}; continue with  rsb-sweep resume {run.experiment_root}  once it is fixed")
    return ExitStatus.INTERNAL
