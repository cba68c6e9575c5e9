"""Starting (or joining) Ray for a sweep, and shutting it down again.

* No address: a new local instance (``address="local"``, so that a stale
  ``ray_current_cluster`` file left by a killed head is never picked up), sized to this
  machine, without the dashboard unless asked for.
* ``--address auto`` / ``host:port`` / ``ray://…``: join that cluster. Ray's token
  authentication stays on: ``auto`` finds a local head's token by itself; for an explicit
  address set ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (or ``~/.ray/auth_token``), as
  Ray documents.
* ``--dashboard``: the local instance serves Ray's dashboard on 127.0.0.1 only.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import signal
import threading
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterator, Optional

from rsb_sweep.spec.execution import Execution
from rsb_sweep.errors import SweepError

DASHBOARD_HOST = "127.0.0.1"
DASHBOARD_PORT = 8265


@dataclass(frozen=True)
class RaySession:
    """What the driver needs to know about the Ray it runs on."""

    address: str
    dashboard_url: Optional[str]
    cpus: float
    gpus: float
    started_here: bool


class CommandRay:
    """The one Ray session of a command: started (or joined) the first time a step needs Ray, then
    kept for every later step (training rounds, ``ab`` waves, evaluations), shut down when the
    command's ``with`` block ends. Nothing that needs no Ray starts it.

    Measured (benchmarks/ray_sessions.py): a sweep with an evaluation plan used to start Ray
    twice, once to train and once to evaluate; each local start costs seconds on the 2-core machine.
    """

    def __init__(self, address: Optional[str] = None, dashboard: bool = False, num_cpus: Optional[int] = None,
                 say: Callable[[str], None] = lambda line: None) -> None:
        self.address, self.dashboard, self.num_cpus, self.say = address, dashboard, num_cpus, say
        self._stack = ExitStack()
        self._session: Optional[RaySession] = None

    def session(self) -> RaySession:
        """The running session, started here on first use (the dashboard URL printed when there is one)."""
        if self._session is None:
            self._session = self._stack.enter_context(ray_session(self.address, self.dashboard, self.num_cpus))
            if self._session.dashboard_url:
                self.say(f"Ray dashboard: {self._session.dashboard_url}")
        return self._session

    def __enter__(self) -> "CommandRay":
        return self

    def __exit__(self, *exc: Any) -> Optional[bool]:
        self._session = None
        return self._stack.__exit__(*exc)


def command_ray(ray: Optional[CommandRay], address: Optional[str], dashboard: bool, num_cpus: Optional[int],
                say: Callable[[str], None]) -> ContextManager[CommandRay]:
    """``ray`` when a command shares its session; else a session of this call's own (library use, a test)."""
    return nullcontext(ray) if ray is not None else CommandRay(address, dashboard, num_cpus, say)


@contextmanager
def ray_session(address: Optional[str] = None, dashboard: bool = False, num_cpus: Optional[int] = None) -> Iterator[RaySession]:
    """Start or join Ray for the duration of the ``with`` block; shut down what was started here."""
    _tune_environment()
    import ray

    if ray.is_initialized():  # an embedding program (a notebook, a test) brought its own Ray
        yield _describe(ray, started_here=False, dashboard_url=None)
        return
    common = dict(log_to_driver=False, logging_level=logging.WARNING)
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
    try:
        with _sigterm_handler_kept(callable(sigterm)):
            if address:
                context = ray.init(address=address, **common)
            else:
                ui = dict(include_dashboard=True, dashboard_host=DASHBOARD_HOST, dashboard_port=DASHBOARD_PORT) \
                    if dashboard else dict(include_dashboard=False)
                context = ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1, **ui, **common)
    except ConnectionError as exc:
        ray.shutdown()
        if not address:
            raise
        hint = ""
        if address != "auto" and not str(address).startswith("ray://") and os.environ.get("RAY_AUTH_MODE") != "token":
            hint = ("; with Ray's token authentication an explicit address needs RAY_AUTH_MODE=token and the "
                    "cluster's token in RAY_AUTH_TOKEN or ~/.ray/auth_token (or use --address auto on the head node)")
        raise SweepError(f"cannot join the Ray cluster at {address}: {exc}{hint}") from None
    except SystemExit as exc:  # SIGTERM while Ray starts: ray.init's own handler calls sys.exit(SIGTERM)
        ray.shutdown()
        if exc.code == signal.SIGTERM:
            raise KeyboardInterrupt from None  # the same as Ctrl-C (exit status 130)
        raise
    except BaseException:  # Ctrl-C while Ray starts: stop what it started so far
        ray.shutdown()
        raise
    url = getattr(context, "dashboard_url", None) or None
    if url and not url.startswith("http"):
        url = f"http://{url}"
    if main_thread:  # ray.init installed a SIGTERM handler of its own: SIGTERM stops the sweep like Ctrl-C
        signal.signal(signal.SIGTERM, sigterm if callable(sigterm) else _raise_interrupt)
    try:
        yield _describe(ray, started_here=True, dashboard_url=url if (dashboard or address) else None)
    finally:
        ray.shutdown()
        if main_thread and sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_handler_kept(keep: bool) -> Iterator[None]:
    """While ``ray.init`` runs, keep the command's own SIGTERM handler (when it has one).

    ``ray.init`` replaces it with one that calls ``sys.exit``; when the signal lands inside one
    of Ray's fork or finalizer hooks Python only prints that SystemExit and the sweep ran on to
    exit 0 (seen in CI). The command's handler also records the interrupt, which is honoured
    before any trial is dispatched (:meth:`rsb_sweep.cli.exitstatus.CommandRun.dispatching`).
    """
    try:
        utils = importlib.import_module("ray._private.utils") if keep else None
    except ImportError:  # a Ray without that hook: its handler stays, caught as SystemExit below
        utils = None
    original = getattr(utils, "set_sigterm_handler", None)
    if original is None:
        yield
        return
    utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        utils.set_sigterm_handler = original


def _tune_environment() -> None:
    """Environment Tune reads when it runs (set unless the user set it)."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's console output: ours replaces it (verbose=0)
    # Tune warns when reference checkpoints force frequent state snapshots; they are tiny here.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Ctrl-C raises KeyboardInterrupt (we tell the user to `rsb-sweep resume`) instead of Tune's
    # graceful stop, which would suggest Tuner.restore and let the driver start another round.
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
    # Tune's own loggers see a pack as one trial: its CSV/JSON stay (passed explicitly, Tune's analysis
    # reads them), its pack-level TensorBoard files go; the trackers log per trial (rsb_sweep.driver.trackers).
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")


def _describe(ray, started_here: bool, dashboard_url: Optional[str]) -> RaySession:
    resources = ray.cluster_resources()
    return RaySession(
        address=ray.get_runtime_context().gcs_address,
        dashboard_url=dashboard_url,
        cpus=float(resources.get("CPU", 0.0)),
        gpus=float(resources.get("GPU", 0.0)),
        started_here=started_here,
    )


def trial_slots(execution: Execution, session: RaySession) -> int:
    """How many trials fit at once; an error if one trial needs more than the cluster has."""
    cpus, gpus = execution.trial_cpus, execution.gpus_per_worker * execution.workers_per_trial
    if cpus > session.cpus + 1e-9:
        raise SweepError(f"a trial needs {cpus:g} CPUs but the Ray cluster has {session.cpus:g}; "
                          "lower --cpus-per-trial or --workers-per-trial")
    if gpus > session.gpus + 1e-9:
        raise SweepError(f"a trial needs {gpus:g} GPUs but the Ray cluster has {session.gpus:g}; "
                          "lower --gpus-per-worker or --workers-per-trial")
    slots = math.floor(session.cpus / cpus + 1e-9)
    if gpus > 0:
        slots = min(slots, math.floor(session.gpus / gpus + 1e-9))
    if execution.max_concurrent is not None:
        slots = min(slots, execution.max_concurrent)
    return max(1, slots)
