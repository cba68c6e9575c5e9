"""The driver's half of train once, evaluate many: hand every finished trial with missing
evaluations to Ray, in parallel, one task per trial (:func:`rsb_sweep.worker.evaluate.evaluate_trial`),
and keep ``<experiment>/evaluations.parquet`` current while they run. Runs in the driver process.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pandas as pd

from rsb_sweep.driver.preflight import check_data_here, check_data_on_cluster
from rsb_sweep.driver.raysession import CommandRay, RaySession, command_ray
from rsb_sweep.errors import one_line
from rsb_sweep.experiment.evaluations import EvalKey, clear_failures, counts_of, missing_keys, record_failures
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.tables import write_evaluations
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.model import EvalPlan
from rsb_sweep.worker.evaluate import evaluate_trial

#: How often (seconds) the driver rewrites the table and beats the heartbeat while evaluations run.
REFRESH_S = 2.0


@dataclass(frozen=True)
class EvaluationOutcome:
    table: Optional[pd.DataFrame]
    counts: dict[str, int]
    evaluated: int  # evaluations computed in this launch
    wall_seconds: float


def run_evaluations(exp: Experiment, options: Any, say: Callable[[str], None],
                    on_dispatch: Callable[[], None] = lambda: None, ray: Optional[CommandRay] = None) -> EvaluationOutcome:
    """Evaluate every finished trial of ``exp`` at every setting of its plan that it lacks, on Ray.

    ``options`` is the driver's :class:`~rsb_sweep.driver.options.LaunchOptions` (address, CPUs,
    concurrency, retries); ``say`` prints a progress line. One Ray task per trial, as many at
    once as the execution settings allow; a task whose process dies is retried
    (``max_failures``), then its missing evaluations are recorded ERROR. Trials that have not
    finished training keep PENDING rows; nothing is ever dropped. ``ray`` is the command's Ray
    session (:mod:`rsb_sweep.driver.command`); without one, Ray is started for this call only, and
    only if an evaluation is missing.
    """
    start = time.time()
    plan = exp.evaluate
    if not plan:
        return EvaluationOutcome(None, {}, 0, 0.0)
    with exp.lock() as lock:
        if options.retry_failed:
            clear_failures(exp)
        files = exp.store.read_all(exp.trial_ids)
        jobs = {t["trial_id"]: missing_keys(t["config"], files[t["trial_id"]], plan) for t in exp.trials}
        jobs = {tid: keys for tid, keys in jobs.items() if keys}
        evaluated = 0
        if jobs:
            try:
                evaluated = _dispatch(exp, jobs, plan, options, say, lock, on_dispatch, ray)
            except BaseException:
                write_evaluations(exp)
                raise
        table = write_evaluations(exp)
    return EvaluationOutcome(table, counts_of(table), evaluated, time.time() - start)


def _dispatch(exp: Experiment, jobs: dict[str, list[EvalKey]], plan: EvalPlan, options: Any,
              say: Callable[[str], None], lock: Any, on_dispatch: Callable[[], None],
              ray_source: Optional[CommandRay]) -> int:
    """Run one Ray task per trial in ``jobs`` (the extra sets checked first, where the tasks will read
    them); returns the number of evaluations they computed."""
    execution = exp.execution.with_overrides(max_concurrent=options.max_concurrent, max_failures=options.max_failures)
    sets_use = [{"data": t["config"].get("data"), "eval_sets": plan.eval_sets} for t in exp.trials[:1]] if plan.eval_sets else []
    if sets_use and not options.address:
        check_data_here(sets_use)  # before Ray starts
    with command_ray(ray_source, options.address, options.dashboard, options.num_cpus, say) as source:
        session = source.session()
        if sets_use and options.address:
            check_data_on_cluster(sets_use)
        return _run_tasks(exp, jobs, plan, execution, _slots(execution, session), say, lock, on_dispatch)


def _slots(execution: Execution, session: RaySession) -> int:
    """How many evaluation tasks fit at once (one worker's resources each)."""
    cpus, gpus = execution.worker_cpus, execution.gpus_per_worker
    slots = max(1, math.floor(session.cpus / cpus + 1e-9))
    if gpus:
        slots = min(slots, max(1, math.floor(session.gpus / gpus + 1e-9)))
    if execution.max_concurrent:
        slots = min(slots, execution.max_concurrent)
    return slots


def _run_tasks(exp: Experiment, jobs: dict[str, list[EvalKey]], plan: EvalPlan, execution: Execution, slots: int,
               say: Callable[[str], None], lock: Any, on_dispatch: Callable[[], None]) -> int:
    """The dispatch loop: at most ``slots`` tasks at once; the table and heartbeat refreshed as they end."""
    import ray

    n = sum(len(k) for k in jobs.values())
    cpus, gpus = execution.worker_cpus, execution.gpus_per_worker
    say(f"evaluating {n} settings of {len(jobs)} trials from their final checkpoints (no retraining), "
        f"{slots} at a time")
    task = ray.remote(evaluate_trial).options(num_cpus=cpus, num_gpus=gpus, max_retries=execution.max_failures,
                                              retry_exceptions=False)
    queue = list(jobs.items())
    running: dict[Any, str] = {}
    finished = computed = 0
    on_dispatch()
    last = time.monotonic()
    while queue or running:
        while queue and len(running) < slots:
            tid, keys = queue.pop(0)
            ref = task.remote(exp.store.root, tid, [k.as_tuple() for k in keys], list(plan.eval_sets),
                              None if gpus else "cpu", execution.torch_threads)  # no GPU here: CPU
            running[ref] = tid
        ready, _ = ray.wait(list(running), num_returns=1, timeout=REFRESH_S)
        for ref in ready:
            tid = running.pop(ref)
            finished += 1
            try:
                summary = ray.get(ref)
                computed += summary["evaluated"]
                say(f"  [{finished}/{len(jobs)}] {tid}: {summary['evaluated']} evaluations in "
                    f"{summary['seconds']:.1f} s")
            except ray.exceptions.RayError as exc:  # the task's process died for good, or a bug in it
                left = [k for k in jobs[tid] if k.stem not in exp.store.read_evaluations(tid)]
                record_failures(exp.store, tid, left, one_line(exc))
                say(f"  [{finished}/{len(jobs)}] {tid}: failed ({one_line(exc)})")
        if ready or time.monotonic() - last >= REFRESH_S:
            write_evaluations(exp)
            lock.beat(evaluations={"finished": finished, "trials": len(jobs)})
            last = time.monotonic()
    return computed
