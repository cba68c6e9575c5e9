"""The evaluation task: runs in a Ray worker (or any process), never in the driver.

:func:`evaluate_trial` evaluates what a finished trial still lacks with
:func:`trainer.evaluate.evaluate_run` and writes one record per (set, crop_pct, test_res) into
``<trial>/evaluations/`` as soon as it exists (predictions first, then the JSON that marks it
complete), so a killed evaluation re-does only what is missing. The driver's dispatch loop is
:mod:`rsb_sweep.driver.evaluate`; the records and the table, :mod:`rsb_sweep.experiment.evaluations`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Optional

from rsb_sweep.experiment.evaluations import EvalKey, record_failures
from rsb_sweep.experiment.store import CONFIG, EVALUATIONS_DIR, TrialStore


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
