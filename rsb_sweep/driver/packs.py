"""Driver side of packs: which trials go in which pack (the unit Tune schedules), in what order,
the :class:`~rsb_sweep.worker.pack.PackJob` each pack's process receives, and what a pack
that Tune gave up on means for its trials. Runs in the driver process only; what runs in
the worker is :mod:`rsb_sweep.worker.pack`.

Measured on the 2-core demo machine (benchmarks/sweep_overhead.py), Tune with reused actors
costs a few hundredths of a second of slot time between trials: far below the trials'
seconds. So one trial per Tune trial is the default: it balances best (a slot that falls
behind simply takes fewer trials) and a failure costs one trial's progress at most.

Packing (several sweep trials one after another in one Tune trial, each with its own folder,
checkpoints and row) is for sweeps of very many short trials, where Tune's bookkeeping,
which grows with the number of trials it tracks, would dominate: the automatic rule keeps
Tune below ``MAX_TUNE_TRIALS`` trials, yet with at least ``MIN_PACKS_PER_SLOT`` packs per
slot. Trials are dealt out by estimated cost so that packs cost about the same, and the most
expensive start first (longest-processing-time first shortens the tail). ``--pack N`` forces
a size. Multi-worker (DDP) trials are never packed automatically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from rsb_sweep.spec.execution import Execution
from analysis.contract import PENDING, RUNNING
from rsb_sweep.experiment.store import TrialFiles, TrialStore
from rsb_sweep.worker.pack import Member, PackJob

MAX_TUNE_TRIALS = 200
MIN_PACKS_PER_SLOT = 4


def estimated_cost(config: Mapping[str, Any]) -> float:
    """Relative cost of a trial: epochs × steps per epoch × pixels (only comparisons matter)."""
    steps = config.get("max_steps") or 1_000_000
    return float(config.get("epochs", 1)) * min(steps, 1_000_000) * float(config.get("train_res", 1)) ** 2


def auto_pack_size(n_trials: int, slots: int, workers_per_trial: int) -> int:
    """Trials per pack when ``--pack`` is not given: 1, unless the sweep is very large."""
    if workers_per_trial > 1 or n_trials <= MAX_TUNE_TRIALS:
        return 1
    size = math.ceil(n_trials / MAX_TUNE_TRIALS)
    return max(1, min(size, n_trials // (max(1, slots) * MIN_PACKS_PER_SLOT)))


def make_packs(trials: Sequence[tuple[str, Mapping[str, Any]]], slots: int, pack_size: Optional[int],
               workers_per_trial: int = 1) -> list[list[str]]:
    """Split ``(trial_id, config)`` pairs into packs, most expensive pack first.

    Each pack lists its trials in sweep order. With ``pack_size`` 1 every trial is its own pack.
    """
    n = len(trials)
    if n == 0:
        return []
    size = pack_size or auto_pack_size(n, max(1, slots), workers_per_trial)
    if size <= 1:
        order = sorted(range(n), key=lambda i: -estimated_cost(trials[i][1]))
        return [[trials[i][0]] for i in order]
    n_packs = math.ceil(n / size)
    if pack_size is None:  # automatic: a multiple of the slot count, for balance
        n_packs = min(n, max(1, slots) * math.ceil(n_packs / max(1, slots)))
    order = sorted(range(n), key=lambda i: -estimated_cost(trials[i][1]))
    buckets: list[list[int]] = [[] for _ in range(n_packs)]
    loads = [0.0] * n_packs
    for i in order:  # greedy: the next most expensive trial to the lightest, not yet full pack
        cap = math.ceil(n / n_packs)
        j = min((k for k in range(n_packs) if len(buckets[k]) < cap), key=lambda k: (loads[k], k))
        buckets[j].append(i)
        loads[j] += estimated_cost(trials[i][1])
    packs = sorted((sorted(b) for b in buckets if b), key=lambda b: -sum(estimated_cost(trials[i][1]) for i in b))
    return [[trials[i][0] for i in b] for b in packs]


def pack_jobs(packs: Sequence[Sequence[str]], configs: Mapping[str, Mapping[str, Any]], execution: Execution,
              store_root: str, tune_root: str) -> dict[int, PackJob]:
    """One :class:`PackJob` per pack, numbered in pack order."""
    return {
        i: PackJob(pack=i, members=tuple(Member(tid, dict(configs[tid])) for tid in members), store_root=store_root,
                   threads=execution.torch_threads, workers=execution.workers_per_trial,
                   max_failures=execution.max_failures, tune_root=tune_root, worker_cpus=execution.worker_cpus,
                   gpus_per_worker=execution.gpus_per_worker)
        for i, members in enumerate(packs)
    }


@dataclass
class SettledPacks:
    """What :func:`settle_failed_packs` did: trials it recorded as failed, and a pack that never started."""

    errors: dict[str, str] = field(default_factory=dict)  # trial id -> the error recorded
    unstarted: Optional[str] = None  # why a pack failed before its first trial started


def settle_failed_packs(store: TrialStore, failed: Mapping[int, tuple[Sequence[str], str]],
                        files: Mapping[str, TrialFiles], max_failures: int) -> SettledPacks:
    """Record the running trial of each pack Tune gave up on as ERROR (its process died
    ``max_failures`` + 1 times); its trials not yet started stay PENDING for the next round.
    A pack whose trials are all still PENDING never got going (an environment problem, not a
    trial's): it is reported, and the driver stops rather than retry it round after round."""
    out = SettledPacks()
    for pack, (members, error) in failed.items():
        running = [tid for tid in members if files[tid].status == RUNNING]
        if not running:
            if all(files[tid].status == PENDING for tid in members):
                out.unstarted = f"pack {pack} failed before its first trial started: {error}"
            continue
        message = f"trial process failed and was retried {max_failures} times: {error}"
        store.record_error(running[0], message, "TrialFailure")
        out.errors[running[0]] = message
    return out
