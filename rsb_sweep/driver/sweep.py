"""Driver side (the ``rsb-sweep`` process): Ray Tune runs the packs of an experiment until every trial has ended.

Resuming is re-launching. Each launch (a new sweep, ``resume``, or another round after a
pack failed for good) reads the trial folders, and hands Tune only the trials that have not
ended: finished trials are never run again, started ones continue from their newest
checkpoint. This needs nothing but the manifest and the trial folders, so it works after
the driver was SIGKILLed, on another machine, or after Tune's own state files were lost.

Failures:

* a trial process that dies (SIGKILL, OOM, lost node): Tune restarts the pack up to
  ``max_failures`` times; the pack resumes from the trial folder.
* a trial that raises (NaN loss, corrupt data, a bug): recorded ERROR with its text by the
  pack itself; the pack goes on with its next trial.
* a pack that Tune gives up on: its running trial is recorded ERROR with Tune's error, and
  its trials not yet started run in the next round (:func:`~rsb_sweep.driver.packs.settle_failed_packs`).

Before anything is dispatched the trials' data is checked (:mod:`rsb_sweep.driver.preflight`);
``on_dispatch`` marks the moment after which an error is a crash, not a usage error.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pandas as pd
from rich.console import Console

from analysis.contract import ERROR, PENDING, RUNNING, STATUSES
from rsb_sweep.driver.callbacks import SweepCallback
from rsb_sweep.driver.options import LaunchOptions
from rsb_sweep.driver.packs import make_packs, pack_jobs, settle_failed_packs
from rsb_sweep.driver.preflight import check_data_here, check_data_on_cluster
from rsb_sweep.driver.progress import LiveView, Progress
from rsb_sweep.driver.raysession import CommandRay, RaySession, command_ray, trial_slots
from rsb_sweep.driver.stall import DEFAULT_RESOURCE_TIMEOUT_S, StallWatch
from rsb_sweep.driver.tracker_clients import open_hub
from rsb_sweep.driver.trackers import TENSORBOARD, TrackerHub
from rsb_sweep.errors import Unfinished, one_line
from rsb_sweep.experiment.faults import as_os_error, is_refused_write, refused_write
from rsb_sweep.experiment.folder import DriverLock, Experiment
from rsb_sweep.experiment.store import ERROR_FILE, TrialFiles
from rsb_sweep.experiment.tables import write_tables
from rsb_sweep.spec.execution import Execution
from rsb_sweep.worker.trainable import pack_trainable

MAX_ROUNDS = 5


@dataclass(frozen=True)
class SweepOutcome:
    results: pd.DataFrame
    counts: dict[str, int]
    wall_seconds: float
    unstarted_error: Optional[str] = None


def _nothing() -> None:
    return None


def run_experiment(exp: Experiment, options: LaunchOptions = LaunchOptions(), console: Optional[Console] = None,
                   on_dispatch: Callable[[], None] = _nothing, ray: Optional[CommandRay] = None) -> SweepOutcome:
    """Run (or continue) every trial of ``exp`` that has not ended; write the result tables.

    The trials' data is checked before anything is dispatched (here, or on the cluster with
    ``options.address``). ``on_dispatch`` is called just before the first trial is handed to
    Ray: errors before it mean nothing started (see :mod:`rsb_sweep.cli.exitstatus`). ``ray`` is
    the command's Ray session (:mod:`rsb_sweep.driver.command`); without one, Ray is started for
    this call only, and only if a trial is left to run.
    """
    console = console or Console(stderr=False)
    start = time.time()
    with exp.lock() as lock:
        store = exp.store
        if options.retry_failed:
            _clear_errors(exp)
        execution = exp.execution.with_overrides(max_concurrent=options.max_concurrent,
                                                 max_failures=options.max_failures, pack=options.pack)
        files = store.read_all(exp.trial_ids)
        unstarted_error = None
        todo = [t["config"] for t in exp.trials if files[t["trial_id"]].status in (PENDING, RUNNING)]
        if todo:
            if not options.address and not options.data_checked:
                check_data_here(todo)  # before Ray starts
            try:
                say = (lambda line: None) if options.quiet else (lambda line: console.print(line, highlight=False))
                with command_ray(ray, options.address, options.dashboard, options.num_cpus, say) as ray:
                    files, unstarted_error = _run_rounds(exp, execution, options, console, lock, files, on_dispatch,
                                                         ray.session())
            except BaseException as exc:  # Ctrl-C, SIGTERM, a crash: keep the table current, let the caller report it
                _raise_if_refused(exp, exc, _write_tables_if_possible(exp))
                raise
        results = write_tables(exp, files)
    counts = results["status"].value_counts().to_dict()
    return SweepOutcome(results=results, counts={k: int(counts.get(k, 0)) for k in STATUSES},
                        wall_seconds=time.time() - start, unstarted_error=unstarted_error)


def _run_rounds(exp: Experiment, execution: Execution, options: LaunchOptions, console: Console, lock: DriverLock,
                files: dict[str, TrialFiles], on_dispatch: Callable[[], None],
                session: RaySession) -> tuple[dict[str, TrialFiles], Optional[str]]:
    """Run Tune rounds on ``session`` until no trial is left to run (or a pack could not start)."""
    store = exp.store
    unstarted_error = None
    slots = trial_slots(execution, session)
    if options.address:
        check_data_on_cluster([t["config"] for t in exp.trials
                               if files[t["trial_id"]].status in (PENDING, RUNNING)])
    on_dispatch()
    progress = Progress.from_files(exp.name, {t["trial_id"]: t["config"] for t in exp.trials}, files)
    say = (lambda line: None) if options.quiet else (lambda line: console.print(line, highlight=False, markup=False))
    specs = options.log if options.log is not None else exp.manifest.get("log", (TENSORBOARD,))
    hub = open_hub(exp.root, exp.name, exp.trials, specs, store.read_history, say)
    with LiveView(progress, console, live=options.live, quiet=options.quiet) as view, _closing(hub):
        for round_no in range(1, MAX_ROUNDS + 1):
            todo = [t for t in exp.trials if files[t["trial_id"]].status in (PENDING, RUNNING)]
            if not todo:
                break
            failed = _run_round(exp, execution, slots, todo, round_no, progress, view, lock, hub,
                                options.resource_timeout)
            files = store.read_all(exp.trial_ids)
            settled = settle_failed_packs(store, failed, files, execution.max_failures)
            for tid, message in settled.errors.items():
                progress.mark(tid, ERROR, message)
            unstarted_error = settled.unstarted
            files = store.read_all(exp.trial_ids)
            if unstarted_error:
                break
        progress.idle()
    view.final()
    return files, unstarted_error


def _write_tables_if_possible(exp: Experiment) -> dict[str, TrialFiles]:
    """The tables, unless the disk refuses them too (the fault that stopped the sweep is reported, not this);
    returns the trial folders they were written from."""
    files = exp.store.read_all(exp.trial_ids)
    try:
        write_tables(exp, files)
    except OSError as exc:
        if not is_refused_write(exc):
            raise
    return files


def _raise_if_refused(exp: Experiment, exc: BaseException, files: dict[str, TrialFiles]) -> None:
    """A full disk or a store that refuses writes: :class:`Unfinished` (exit 3), naming the folder and the
    trials it stopped mid-way (RUNNING in the tables written from ``files``; each resumes from its checkpoint)."""
    line = refused_write(exc, f"rsb-sweep resume {exp.root}", exp.root)
    if line is None:
        return
    stopped = [tid for tid, f in files.items() if f.status == RUNNING]
    more = f" (stopped mid-trial, left RUNNING to resume from their checkpoints: {', '.join(stopped)})" if stopped else ""
    raise Unfinished(line + more) from exc


@contextmanager
def _closing(hub: TrackerHub) -> Iterator[TrackerHub]:
    try:
        yield hub
    finally:
        hub.close()


def _clear_errors(exp: Experiment) -> None:
    store = exp.store
    for tid, f in store.read_all(exp.trial_ids).items():
        if f.status == ERROR:
            store.record_run(tid, {"event": "retry", "previous_error": f.error})
            store.delete(tid, ERROR_FILE)


def _run_round(exp: Experiment, execution: Execution, slots: int, todo: list[dict[str, Any]],
               round_no: int, progress: Progress, view: LiveView, lock: DriverLock, hub: TrackerHub,
               resource_timeout: Optional[float]) -> dict[int, tuple[list[str], str]]:
    """One Tune run over the packs of ``todo``; returns the packs Tune gave up on, with their error.
    Raises :class:`~rsb_sweep.errors.Unfinished` when no trial could be placed for ``resource_timeout`` s."""
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    packs = make_packs([(t["trial_id"], t["config"]) for t in todo], slots, execution.pack, execution.workers_per_trial)
    jobs = pack_jobs(packs, {t["trial_id"]: t["config"] for t in todo}, execution, exp.store.root, exp.tune_root)
    if execution.workers_per_trial == 1:
        resources = {"cpu": execution.trial_cpus, "gpu": execution.gpus_per_worker}
    else:  # the Tune trial only coordinates; Ray Train reserves the workers' CPUs and GPUs
        resources = {"cpu": 0, "memory": 1}
    stall = StallWatch(DEFAULT_RESOURCE_TIMEOUT_S if resource_timeout is None else resource_timeout)
    callback = SweepCallback(exp, progress, view, lock, hub, stall)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(pack_trainable, jobs={i: j.to_dict() for i, j in jobs.items()}),
                            resources),
        param_space={"pack": tune.grid_search(list(jobs))},
        tune_config=tune.TuneConfig(
            reuse_actors=True,
            max_concurrent_trials=slots,
            trial_name_creator=lambda trial: f"pack{trial.config['pack']:04d}",
            trial_dirname_creator=lambda trial: f"pack{trial.config['pack']:04d}",
        ),
        run_config=tune.RunConfig(
            name=f"run-{time.strftime('%Y%m%d-%H%M%S')}-r{round_no}",
            storage_path=exp.tune_root,
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=execution.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            sync_config=tune.SyncConfig(sync_artifacts=False, sync_artifacts_on_checkpoint=False),
            callbacks=[callback, CSVLoggerCallback(), JsonLoggerCallback()],
        ),
    )
    try:
        grid = tuner.fit()
    except Exception:
        if callback.refused is not None:
            raise callback.refused from None
        if stall.message:
            raise Unfinished(f"{stall.message}; `rsb-sweep resume {exp.root}` continues once they are back") from None
        raise
    if stall.message:  # a Tune that caught the callback's error itself
        raise Unfinished(f"{stall.message}; `rsb-sweep resume {exp.root}` continues once they are back")
    failed = {}
    for result in grid:
        if result.error is not None:
            if is_refused_write(result.error):  # a full disk: stop with exit 3, the trial stays to resume
                raise as_os_error(result.error)
            # a pack whose actor never started has no config: its folder (trial_dirname_creator) names it
            pack = int(result.config["pack"]) if result.config else int(Path(result.path).name[len("pack"):])
            failed[pack] = (packs[pack], one_line(result.error))
    return failed
