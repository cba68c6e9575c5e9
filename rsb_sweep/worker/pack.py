"""Worker side of a pack: runs in the Tune trial process (or in every DDP rank), never in the driver.

A *pack* is the unit Ray Tune schedules: one or more sweep trials run one after another
in the same process (``--pack``), each with its own trial folder, checkpoints and result
row. Packing amortises Tune's per-trial cost when a trial lasts seconds; with one trial
per pack this is the usual one-trial-per-Tune-trial layout. The driver side (which trials
go in which pack, what a failed pack means) is :mod:`rsb_sweep.driver.packs`.

:class:`PackJob` is what crosses the process boundary: the driver builds it, Ray carries
it as the plain dict of :meth:`PackJob.to_dict`, the worker rebuilds it with
:meth:`PackJob.from_dict`. Here :func:`run_pack` skips finished trials, resumes started ones
from their newest checkpoint and records failures. The same code runs in a Tune function
trial (one worker) and in every rank of a Ray Train DDP worker group; how progress reaches
Ray is the :class:`Reporter`'s job (:mod:`rsb_sweep.worker.trainable`), so that tests can drive it
with a recording double and no Ray.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from analysis.contract import ENDED
from rsb_sweep.experiment.faults import REFUSED_EVENT, is_refused_write, refused_error
from rsb_sweep.experiment.store import LOG, TrialStore


@dataclass(frozen=True)
class Member:
    """One sweep trial inside a pack."""

    trial_id: str
    config: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class PackJob:
    """Everything a pack's process needs; passed to Ray by value (no shared files needed)."""

    pack: int
    members: tuple[Member, ...]
    store_root: str
    threads: int = 1
    workers: int = 1
    max_failures: int = 3
    tune_root: str = ""
    worker_cpus: float = 1.0
    gpus_per_worker: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain values only: what Ray pickles and hands to the worker."""
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> "PackJob":
        return cls(**{**value, "members": tuple(Member(**m) for m in value["members"])})


class Reporter(Protocol):
    """How a pack tells Ray about progress (Tune session, or Train worker)."""

    def event(self, trial_id: str, event: str, metrics: dict[str, Any], checkpoint_dir: Optional[Path]) -> None: ...

    def pointer_epoch(self, trial_id: str) -> int: ...


def run_pack(job: PackJob, reporter: Reporter, rank: int = 0,
             agree: Callable[[Any], Any] = lambda value: value) -> None:
    """Run ``job``'s members in order; ``agree`` makes every DDP rank follow rank 0's decisions."""
    import torch

    torch.set_num_threads(job.threads)
    store = TrialStore(job.store_root)
    for member in job.members:
        runnable = agree(_runnable(store, member.trial_id) if rank == 0 else None)
        if runnable:
            try:
                run_member(job, member, store, reporter, rank)
            except Exception as exc:
                if is_refused_write(exc):  # a full disk (issue 23): the driver stops, the trial stays to resume
                    reporter.event(member.trial_id, REFUSED_EVENT, {
                        "error": str(exc), "errno": getattr(exc, "errno", None),
                        "path": getattr(exc, "filename", None) or str(store.local_dir(member.trial_id))}, None)
                raise


def _runnable(store: TrialStore, trial_id: str) -> bool:
    """Finished and failed trials are not run again (the driver clears errors it wants retried)."""
    return store.read(trial_id).status not in ENDED


def run_member(job: PackJob, member: Member, store: TrialStore, reporter: Reporter, rank: int) -> None:
    """Train one trial to its end, resuming from its newest checkpoint; record a failure for good."""
    from trainer import TrainConfig, TrainerError, train
    from trainer.checkpoint import checkpoint_epoch, find_checkpoint

    tid = member.trial_id
    local = store.local_dir(tid)
    local.mkdir(parents=True, exist_ok=True)
    store.pull(tid, local)
    found = find_checkpoint(local)
    found_epoch = (checkpoint_epoch(found) or 0) if found is not None else 0
    pointer = reporter.pointer_epoch(tid)
    if pointer > found_epoch:
        _log(local, rank, f"warning: Tune's checkpoint says epoch {pointer} but the trial folder has {found_epoch}; "
                          f"resuming from epoch {found_epoch}")
    # the trial's CPU share (the driver's Execution.torch_threads): pinned and recorded in its config.json
    config = replace(TrainConfig.from_dict(member.config), threads=job.threads)
    if rank == 0:
        store.record_run(tid, {"pid": os.getpid(), "host": socket.gethostname(), "pack": job.pack,
                               "resumed_from_epoch": found_epoch, "n_workers": job.workers})
    reporter.event(tid, "start", {"epochs": config.total_epochs, "epochs_done": found_epoch}, None)
    last_epoch = [found_epoch]

    def report(metrics: dict[str, Any], checkpoint_dir: Optional[Path]) -> None:
        last_epoch[0] = int(metrics.get("epochs_done", last_epoch[0]))
        if rank == 0:
            store.push(tid, local)
        reporter.event(tid, "epoch", _scalars(metrics) | {"epochs": config.total_epochs}, checkpoint_dir)

    try:
        result = train(config, out_dir=local, report=report, resume_from=found, log=lambda line: _log(local, rank, line))
    except TrainerError as exc:
        _fail(job, store, reporter, rank, tid, local, str(exc), type(exc).__name__, last_epoch[0])
        return
    except Exception as exc:  # a bug or an environment problem: record it, keep the sweep going
        refused = refused_error(exc, local)
        if refused is not None:  # a full disk is not the trial's failure: it stays to resume (run_pack)
            raise refused from exc
        if job.workers > 1:
            raise  # a rank-local exception would desynchronise the group; Ray Train handles it
        text = f"{type(exc).__name__}: {exc}"
        tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
        _fail(job, store, reporter, rank, tid, local, text, type(exc).__name__, last_epoch[0], tail)
        return
    if rank == 0:
        _keep_final_checkpoint(local)
        store.push(tid, local)
        _push_final_form(store, tid, local, config)
        _drop_scratch(store, local)
    reporter.event(tid, "done", _scalars(result.metrics) | {"epochs": config.total_epochs}, None)


def _keep_final_checkpoint(local: Path) -> None:
    """A finished trial needs only its final checkpoint (the trained model): halves the disk a sweep uses."""
    import shutil

    from trainer.checkpoint import CHECKPOINTS_DIR, list_checkpoints

    for old in list_checkpoints(local / CHECKPOINTS_DIR)[:-1]:
        shutil.rmtree(old, ignore_errors=True)


def _push_final_form(store: TrialStore, tid: str, local: Path, config: Any) -> None:
    """A URI store got the final checkpoint whole with the last epoch's push; once the trainer kept its
    weights alone (``final_checkpoint='weights'``), that form replaces it there too."""
    from trainer.checkpoint import CHECKPOINTS_DIR, STATE_FILE, find_checkpoint

    final = find_checkpoint(local / CHECKPOINTS_DIR)
    if store.remote and config.final_checkpoint == "weights" and final is not None:
        store.write_file(tid, f"{CHECKPOINTS_DIR}/{final.name}/{STATE_FILE}", (final / STATE_FILE).read_bytes())


def _drop_scratch(store: TrialStore, local: Path) -> None:
    """With a remote store the local folder is a scratch copy; once pushed it is not needed."""
    if store.remote:
        import shutil

        shutil.rmtree(local, ignore_errors=True)


def _fail(job: PackJob, store: TrialStore, reporter: Reporter, rank: int, tid: str, local: Path, message: str,
          kind: str, epoch: int, tb: str = "") -> None:
    if rank == 0:
        _log(local, rank, f"error: {message}\n{tb}")
        store.push(tid, local)
        store.record_error(tid, message, kind, epochs_done=epoch, traceback=tb or None, host=socket.gethostname())
        _drop_scratch(store, local)
    reporter.event(tid, "error", {"error": message, "epochs_done": epoch}, None)


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool)) or v is None}


def _log(local: Path, rank: int, line: str) -> None:
    """The trainer's log lines go to the trial's train.log (rank 0), not the terminal."""
    if rank != 0:
        return
    with open(local / LOG, "a") as fh:
        fh.write(f"{time.strftime('%H:%M:%S')} {line}\n")
