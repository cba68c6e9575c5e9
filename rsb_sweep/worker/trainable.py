"""Worker side, Ray glue: the Tune function trainable that runs a pack (:mod:`rsb_sweep.worker.pack`),
the Ray Train DDP job for multi-worker trials, and the :class:`~rsb_sweep.worker.pack.Reporter` implementations that
turn pack events into Tune results. Runs in the Tune trial process and the Train workers.

Tune checkpoints. The trainer writes every epoch's full checkpoint once, into the trial
folder on the sweep's storage; that folder is what a restarted or resumed trial reads. Tune
is given a small *reference* checkpoint (``pointer.json``: trial, epoch, trial folder) so that
it tracks each trial's progress and hands it back on a retry (``tune.get_checkpoint``); the
pack resumes from whichever of the two is newer (the trial folder, unless files were lost).
Copying the 18 MB state into Tune's folder as well would double disk use and costs ≈20 ms
per report on the 2-core demo machine, so references are reported at most every
``POINTER_EVERY_S`` seconds (every epoch when epochs are longer than that, as on ImageNet).

Ray API boundaries (Ray 2.60): ``ray.tune.*`` only in the Tune function, ``ray.train.*`` only
inside the Train worker function.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from rsb_sweep.errors import one_line
from analysis.contract import ENDED, RUNNING
from rsb_sweep.experiment.store import TrialStore
from rsb_sweep.worker.pack import PackJob, run_pack

POINTER_EVERY_S = 10.0
POINTER_FILE = "pointer.json"


def pointer_dir(trial_id: str, epoch: int, checkpoint_dir: Optional[Path]) -> str:
    folder = tempfile.mkdtemp(prefix="rsb-pointer-")
    Path(folder, POINTER_FILE).write_text(json.dumps(
        {"trial_id": trial_id, "epoch": epoch, "checkpoint": str(checkpoint_dir) if checkpoint_dir else None}))
    return folder


def read_pointer(checkpoint: Any, trial_id: str) -> int:
    if checkpoint is None:
        return 0
    try:
        with checkpoint.as_directory() as folder:
            info = json.loads(Path(folder, POINTER_FILE).read_text())
    except (OSError, ValueError):
        return 0
    return int(info.get("epoch", 0)) if info.get("trial_id") == trial_id else 0


#: Keys Tune gives a meaning of its own (``done`` stops a trial, ``trial_id`` is Tune's id).
_TUNE_RESERVED = {"done", "trial_id", "training_iteration", "timestamp", "time_this_iter_s", "time_total_s", "pid",
                  "hostname", "node_ip", "config", "date", "should_checkpoint", "checkpoint_dir_name", "episodes_total",
                  "timesteps_total", "experiment_id", "time_since_restore", "iterations_since_restore"}
TRIAL_KEY, EVENT_KEY = "rsb_trial", "rsb_event"


def tune_result(trial_id: str, event: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """A Tune result for a pack event: our trial id and event under our own keys, Tune's keys left alone."""
    out = {k: v for k, v in metrics.items() if k not in _TUNE_RESERVED}
    out.update({TRIAL_KEY: trial_id, EVENT_KEY: event, "trial_done": bool(metrics.get("done", event == "done"))})
    return out


class _Throttle:
    def __init__(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last >= POINTER_EVERY_S:
            self.last = now
            return True
        return False


class TuneReporter:
    """Progress events as ``ray.tune.report`` results; reference checkpoints now and then."""

    def __init__(self) -> None:
        self.throttle = _Throttle()

    def event(self, trial_id: str, event: str, metrics: dict[str, Any], checkpoint_dir: Optional[Path]) -> None:
        from ray import tune

        result = tune_result(trial_id, event, metrics)
        if checkpoint_dir is not None and self.throttle.due():
            folder = pointer_dir(trial_id, int(metrics.get("epochs_done", 0)), checkpoint_dir)
            try:
                tune.report(result, checkpoint=tune.Checkpoint.from_directory(folder))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        else:
            tune.report(result)

    def pointer_epoch(self, trial_id: str) -> int:
        from ray import tune

        return read_pointer(tune.get_checkpoint(), trial_id)


class TrainReporter:
    """The same events from a DDP rank: ``ray.train.report`` on every rank (it must be called
    equally often everywhere); rank 0 attaches the reference checkpoint."""

    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.throttle = _Throttle()

    def event(self, trial_id: str, event: str, metrics: dict[str, Any], checkpoint_dir: Optional[Path]) -> None:
        import ray.train

        result = tune_result(trial_id, event, metrics)
        folder = None
        if self.rank == 0 and checkpoint_dir is not None and self.throttle.due():
            folder = pointer_dir(trial_id, int(metrics.get("epochs_done", 0)), checkpoint_dir)
        try:
            ray.train.report(result, checkpoint=ray.train.Checkpoint.from_directory(folder) if folder else None)
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)

    def pointer_epoch(self, trial_id: str) -> int:
        import ray.train

        return read_pointer(ray.train.get_checkpoint(), trial_id)


def pack_trainable(config: dict[str, Any], jobs: Optional[dict[int, dict[str, Any]]] = None) -> None:
    """Tune function trainable: run the pack named by ``config["pack"]``."""
    job = PackJob.from_dict(jobs[config["pack"]])
    if job.workers == 1:
        run_pack(job, TuneReporter())
    else:
        run_ddp_pack(job)


# ---------------------------------------------------------------------------------------
# multi-worker trials: a Ray Train TorchTrainer per pack, launched from the Tune trial


def run_ddp_pack(job: PackJob) -> None:
    """Run the pack as one DDP job of ``job.workers`` workers (gloo on CPU, NCCL on GPU).

    Ray Train restarts a failed worker group up to ``max_failures`` times, each time from
    the trial folder's newest checkpoint. If the job still fails, the trial it was running
    is recorded as ERROR and a new job continues with the rest of the pack.
    """
    from ray import tune
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    store = TrialStore(job.store_root)
    attempt = 0
    trial_name = tune.get_context().get_trial_name()
    while True:
        files = store.read_all(m.trial_id for m in job.members)
        if all(f.status in ENDED for f in files.values()):
            return
        attempt += 1
        use_gpu = job.gpus_per_worker > 0
        resources = {"CPU": job.worker_cpus, **({"GPU": job.gpus_per_worker} if use_gpu else {})}
        trainer = TorchTrainer(
            _ddp_worker,
            train_loop_config={"job": job.to_dict()},
            scaling_config=ScalingConfig(num_workers=job.workers, use_gpu=use_gpu, resources_per_worker=resources),
            run_config=RunConfig(
                name=f"{trial_name}-ddp{attempt}",
                storage_path=f"{job.tune_root.rstrip('/')}/ddp",
                failure_config=FailureConfig(max_failures=job.max_failures, controller_failure_limit=2),
                callbacks=[TuneReportCallback()],
            ),
        )
        try:
            trainer.fit()
            return
        except Exception as exc:  # the worker group failed more than max_failures times
            running = [t for t, f in store.read_all(m.trial_id for m in job.members).items() if f.status == RUNNING]
            if not running:
                raise
            store.record_error(running[0], f"DDP job failed after {job.max_failures} restarts: {one_line(exc)}",
                               type(exc).__name__)


def _ddp_worker(config: dict[str, Any]) -> None:
    """Ray Train worker function: every rank runs the pack; rank 0's decisions rule."""
    import ray.train
    import torch.distributed as dist

    job = PackJob.from_dict(config["job"])
    rank = ray.train.get_context().get_world_rank()

    def agree(value: Any) -> Any:
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    run_pack(job, TrainReporter(rank), rank=rank, agree=agree)
