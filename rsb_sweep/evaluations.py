"""Train once, evaluate many: each finished trial's final checkpoint evaluated at other test-time settings.

The test crop ratio, the test resolution and extra evaluation sets change evaluation only
(RSB Table 9, Figure 4), so an experiment trains one model per (configuration, seed) and
evaluates it at every setting of its plan (the manifest's ``evaluate``,
:class:`~rsb_sweep.spec.model.EvalPlan`). This module is both halves of that:

* the worker half, :func:`evaluate_trial` (a Ray task): evaluates what a trial still lacks
  with :func:`trainer.evaluate.evaluate_run` and writes one record per (set, crop_pct,
  test_res) into ``<trial>/evaluations/`` as soon as it exists (predictions first, then the
  JSON that marks it complete), so a killed evaluation re-does only what is missing;
* the driver half, :func:`run_evaluations`: hands every finished trial with missing
  evaluations to Ray, in parallel, and writes ``<experiment>/evaluations.parquet``
  (:func:`build_evaluations`, DESIGN.md's contract, one row per (trial, set, crop_pct,
  test_res), always, whatever its state) and gathers the per-image predictions.

The trial's own setting is a row too, taken from its final epoch (``source`` ``training``),
never recomputed: on CPU a recomputation gives exactly the same numbers (tested), and on a
cluster it would cost a pass over the validation set per trial for nothing.
"""

from __future__ import annotations

import io
import itertools
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

import pandas as pd

from analysis.contract import (EVALUATION_COLUMNS, EVALUATION_CONFIG_COLUMNS, EVALUATIONS_STEM,
                              with_contract_dtypes)
from rsb_sweep.experiment import Experiment
from rsb_sweep.spec.model import EvalPlan
from rsb_sweep.store import (CONFIG, ERROR_STATUS, EVALUATIONS_DIR, PENDING, PREDICTIONS, TERMINATED, TrialFiles,
                             TrialStore)

EVALUATIONS_PARQUET = f"{EVALUATIONS_STEM}.parquet"
#: The main validation set's name in the evaluations and predictions tables.
MAIN_SET = "val"
#: How often (seconds) the driver rewrites the table and beats the heartbeat while evaluations run.
REFRESH_S = 2.0


@dataclass(frozen=True, order=True)
class EvalKey:
    """One evaluation of one trial: a set at a (crop_pct, test_res)."""

    eval_set: str
    crop_pct: float
    test_res: int

    @property
    def stem(self) -> str:
        """The record's file stem in ``<trial>/evaluations/`` (file-system safe)."""
        text = f"{self.eval_set}-crop{self.crop_pct:g}-res{self.test_res}"
        return "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in text)

    def as_tuple(self) -> tuple[str, float, int]:
        return (self.eval_set, self.crop_pct, self.test_res)


def trial_keys(config: Mapping[str, Any], plan: EvalPlan) -> list[tuple[EvalKey, bool]]:
    """Every evaluation of a trial under ``plan``, and whether its numbers come from training.

    The trial's own crop_pct / test_res are always among the settings (its row from
    training); the plan's values are added in ascending order; the sets are the main set, the
    trial's own extra sets, then the plan's.
    """
    own_crop, own_res = float(config["crop_pct"]), int(config["test_res"])
    crops = sorted({own_crop, *plan.crop_pct})
    resolutions = sorted({own_res, *plan.test_res})
    trained_sets = [MAIN_SET, *(name for name, _ in config.get("eval_sets") or ())]
    sets = list(dict.fromkeys([*trained_sets, *(name for name, _ in plan.eval_sets)]))
    out = []
    for crop, res, name in itertools.product(crops, resolutions, sets):
        from_training = crop == own_crop and res == own_res and name in trained_sets
        out.append((EvalKey(name, crop, res), from_training))
    return out


def missing_keys(config: Mapping[str, Any], files: TrialFiles, plan: EvalPlan) -> list[EvalKey]:
    """The evaluations a finished trial still lacks (failed ones count as done; ``--retry-failed`` clears them)."""
    if files.status != TERMINATED:
        return []
    return [k for k, from_training in trial_keys(config, plan) if not from_training and k.stem not in files.evaluations]


# --------------------------------------------------------------------------- the table

def evaluation_rows(experiment: str, trial_id: str, config: Mapping[str, Any], files: TrialFiles,
                    plan: EvalPlan) -> list[dict[str, Any]]:
    """The trial's rows of ``evaluations.parquet``: one per key of :func:`trial_keys`, in any state."""
    base = {c: config.get(c) for c in EVALUATION_CONFIG_COLUMNS}
    metrics = files.metrics or {}
    rows = []
    for key, from_training in trial_keys(config, plan):
        row: dict[str, Any] = {"experiment": experiment, "trial_id": trial_id, "eval_set": key.eval_set,
                               "crop_pct": key.crop_pct, "test_res": key.test_res,
                               "source": "training" if from_training else "evaluation", **base}
        record = files.evaluations.get(key.stem)
        if files.status == ERROR_STATUS:
            row.update(status=ERROR_STATUS, error=f"not evaluated: the trial failed in training "
                                                  f"({(files.error or {}).get('error', 'see its error.json')})")
        elif files.status != TERMINATED:
            row.update(status=PENDING)
        elif from_training:
            name = "" if key.eval_set == MAIN_SET else f"_{key.eval_set}"
            row.update(status=TERMINATED, top1=metrics.get(f"top1{name}"), top5=metrics.get(f"top5{name}"),
                       eval_loss=metrics.get(f"eval_loss{name}"),
                       n_val=metrics.get("n_val") if key.eval_set == MAIN_SET else None)
        elif record is None:
            row.update(status=PENDING)
        elif "error" in record:
            row.update(status=ERROR_STATUS, error=record["error"])
        else:
            row.update(status=TERMINATED, **{k: record[k] for k in ("top1", "top5", "eval_loss", "n_val")})
        rows.append(row)
    return rows


def build_evaluations(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """``evaluations.parquet`` of ``exp``: every manifest trial × every evaluation of its plan."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    plan = exp.evaluate
    rows = [r for t in exp.trials for r in evaluation_rows(exp.name, t["trial_id"], t["config"], files[t["trial_id"]], plan)]
    return with_contract_dtypes(pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS)))


def write_evaluations(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> Optional[pd.DataFrame]:
    """(Re)write ``evaluations.parquet`` atomically and gather the predictions; None for an
    experiment without an evaluation plan (nothing is written)."""
    from rsb_sweep.results import write_frame

    if not exp.evaluate:
        return None
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    table = build_evaluations(exp, files)
    write_frame(table, exp.root / EVALUATIONS_PARQUET)
    gather_evaluation_predictions(exp, files)
    return table


def gather_evaluation_predictions(exp: Experiment, files: Mapping[str, TrialFiles]) -> None:
    """Copy each evaluation's per-image predictions to ``<experiment>/predictions.parquet/<trial>.<key>.parquet``
    (once; the trial's own setting is already there as ``<trial>.parquet``)."""
    import pyarrow.parquet as pq

    from trainer.predictions import with_trial_id, write_predictions

    store = exp.store
    for trial_id, f in files.items():
        for stem, record in f.evaluations.items():
            if "error" in record:
                continue
            dest = exp.root / PREDICTIONS / f"{trial_id}.{stem}.parquet"
            if dest.is_file():
                continue
            data = store.read_bytes(store.path(trial_id, EVALUATIONS_DIR, f"{stem}.parquet"))
            if data is None:
                continue
            dest.parent.mkdir(exist_ok=True)
            write_predictions(dest, with_trial_id(pq.read_table(io.BytesIO(data)), trial_id))


# --------------------------------------------------------------------------- the worker half

def evaluate_trial(store_root: str, trial_id: str, keys: list[tuple[str, float, int]],
                   eval_sets: list[tuple[str, str]], device: Optional[str] = None, threads: int = 1) -> dict[str, Any]:
    """Evaluate ``keys`` of one finished trial (a Ray task, or any process); returns a summary.

    Keys already recorded are skipped (a retried or resumed task re-does only what is missing).
    A trainer error (unreadable set, corrupt image, missing checkpoint) is recorded for every
    key it left undone: the table shows those rows ERROR with the message.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from trainer.errors import TrainerError
    from trainer.evaluate import evaluate_run, evaluation_predictions

    torch.set_num_threads(max(1, int(threads)))
    store = TrialStore(store_root)
    done = store.read_evaluations(trial_id)
    todo = {k for k in map(lambda t: EvalKey(*t), keys) if k.stem not in done}
    saved: list[EvalKey] = []
    start = time.time()

    def save(ev: Any) -> None:
        key = EvalKey(ev.eval_set, ev.crop_pct, ev.test_res)
        buf = pa.BufferOutputStream()
        pq.write_table(evaluation_predictions(trial_id, [ev]), buf)
        store.write_file(trial_id, f"{EVALUATIONS_DIR}/{key.stem}.parquet", buf.getvalue().to_pybytes())
        store.write_json(trial_id, f"{EVALUATIONS_DIR}/{key.stem}.json", {**ev.row(), "seconds": ev.seconds,
                                                                          "time": time.time()})
        saved.append(key)

    if todo:
        run_dir = _local_run(store, trial_id)
        try:
            evaluate_run(run_dir, sorted({k.crop_pct for k in todo}), sorted({k.test_res for k in todo}),
                         eval_sets=eval_sets, device=device, only={k.as_tuple() for k in todo}, on_evaluation=save)
        except TrainerError as exc:
            record_failures(store, trial_id, sorted(todo - set(saved)), f"{type(exc).__name__}: {exc}")
        finally:
            if store.remote:  # the scratch copy of a URI store's checkpoint is not kept
                shutil.rmtree(run_dir, ignore_errors=True)
    return {"trial_id": trial_id, "evaluated": len(saved), "seconds": time.time() - start}


def record_failures(store: TrialStore, trial_id: str, keys: Iterable[EvalKey], message: str) -> None:
    """Mark evaluations failed, with the error text (their rows become ERROR)."""
    for key in keys:
        store.write_json(trial_id, f"{EVALUATIONS_DIR}/{key.stem}.json",
                         {"error": message, **dict(zip(("eval_set", "crop_pct", "test_res"), key.as_tuple())),
                          "time": time.time()})


def _local_run(store: TrialStore, trial_id: str) -> Path:
    """A local run folder holding the trial's config and final checkpoint (copied from a URI store)."""
    local = store.local_dir(trial_id)
    if store.remote:
        local.mkdir(parents=True, exist_ok=True)
        data = store.read_bytes(store.path(trial_id, CONFIG))
        if data is not None:
            (local / CONFIG).write_bytes(data)
        store.pull(trial_id, local)
    return local


# --------------------------------------------------------------------------- the driver half

@dataclass(frozen=True)
class EvaluationOutcome:
    table: Optional[pd.DataFrame]
    counts: dict[str, int]
    evaluated: int  # evaluations computed in this launch
    wall_seconds: float


def counts_of(table: Optional[pd.DataFrame]) -> dict[str, int]:
    """Rows per status (TERMINATED, ERROR, PENDING) of an evaluations table."""
    if table is None:
        return {}
    counts = table["status"].value_counts().to_dict()
    return {k: int(counts.get(k, 0)) for k in (TERMINATED, ERROR_STATUS, PENDING)}


def clear_failures(exp: Experiment) -> int:
    """Delete the failed evaluation records (``--retry-failed``); returns how many."""
    store = exp.store
    n = 0
    for tid, f in store.read_all(exp.trial_ids).items():
        for stem, record in f.evaluations.items():
            if "error" in record:
                store.delete(tid, f"{EVALUATIONS_DIR}/{stem}.json")
                n += 1
    return n


def run_evaluations(exp: Experiment, options: Any, say: Callable[[str], None],
                    on_dispatch: Callable[[], None] = lambda: None) -> EvaluationOutcome:
    """Evaluate every finished trial of ``exp`` at every setting of its plan that it lacks, on Ray.

    ``options`` is the driver's :class:`~rsb_sweep.driver.LaunchOptions` (address, CPUs,
    concurrency, retries); ``say`` prints a progress line. One Ray task per trial, as many at
    once as the execution settings allow; a task whose process dies is retried
    (``max_failures``), then its missing evaluations are recorded ERROR. Trials that have not
    finished training keep PENDING rows; nothing is ever dropped.
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
                evaluated = _dispatch(exp, jobs, plan, options, say, lock, on_dispatch)
            except BaseException:
                write_evaluations(exp)
                raise
        table = write_evaluations(exp)
    return EvaluationOutcome(table, counts_of(table), evaluated, time.time() - start)


def _dispatch(exp: Experiment, jobs: dict[str, list[EvalKey]], plan: EvalPlan, options: Any,
              say: Callable[[str], None], lock: Any, on_dispatch: Callable[[], None]) -> int:
    """Run one Ray task per trial in ``jobs``; returns the number of evaluations they computed."""
    import ray

    from rsb_sweep.errors import one_line
    from rsb_sweep.preflight import check_data_here, check_data_on_cluster
    from rsb_sweep.raysession import ray_session

    execution = exp.execution.with_overrides(max_concurrent=options.max_concurrent, max_failures=options.max_failures)
    sets_use = [{"data": t["config"].get("data"), "eval_sets": plan.eval_sets} for t in exp.trials[:1]] if plan.eval_sets else []
    if sets_use and not options.address:
        check_data_here(sets_use)
    n = sum(len(k) for k in jobs.values())
    with ray_session(options.address, options.dashboard, options.num_cpus) as session:
        if sets_use and options.address:
            check_data_on_cluster(sets_use)
        cpus, gpus = execution.worker_cpus, execution.gpus_per_worker
        slots = max(1, math.floor(session.cpus / cpus + 1e-9))
        if gpus:
            slots = min(slots, max(1, math.floor(session.gpus / gpus + 1e-9)))
        if execution.max_concurrent:
            slots = min(slots, execution.max_concurrent)
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

