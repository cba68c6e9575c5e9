"""Thread counts: the intra-op count is part of what a CPU run reproduces, so it is pinned and recorded.

On CPU torch splits its reductions over the intra-op threads, so the same config and seeds give
other bits with another count: seed 0 of the digits A2 preset, 6 epochs, ended at 55.56 % top-1
with one thread (a sweep trial: Ray gives each worker one) and 61.11 % with two (``python -m
trainer`` on a 2-core machine), and matched to the last bit with one thread in both. So the run
resolves the count before it starts (the config's ``threads``, else the stored run's on a
resume, else what the process has), pins it with ``torch.set_num_threads`` and records it in
config.json. The inter-op count is recorded as well; torch lets a process set it once and only
before its first inter-op parallel work, so it is pinned when the process can still take it (a
fresh ``python -m trainer``) and otherwise recorded as the process has it (a reused Ray actor).
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Iterator, Optional

import torch

from trainer.config import TrainConfig


def resolve_threads(config: TrainConfig, stored: Optional[TrainConfig] = None) -> tuple[TrainConfig, list[str]]:
    """``config`` with ``threads`` and ``interop_threads`` as this run uses them (pinned), and notices.

    ``stored``: the config of the run this one continues (a resume). Unset counts take its
    values, else the process's; a count that differs from the stored one is said (results differ).
    """
    intra = config.threads or (stored.threads if stored is not None else None) or torch.get_num_threads()
    torch.set_num_threads(intra)
    wanted = config.interop_threads or (stored.interop_threads if stored is not None else None)
    inter, notices = _pin_interop(wanted)
    if stored is not None:
        notices += [line for line in [thread_change_notice(stored.threads, intra, "the checkpoint")] if line]
    return dataclasses.replace(config, threads=intra, interop_threads=inter), notices


def thread_change_notice(stored: Optional[int], now: int, source: str) -> Optional[str]:
    """What to say when a run reproduces ``source`` (a checkpoint, a stored config) with ``now``
    intra-op threads where it recorded ``stored`` (None: recorded none); None when they agree."""
    if stored is None:
        return (f"{source} records no intra-op thread count (written before the trainer recorded it): running "
                f"with {now}; the results equal the stored run's only if it ran with {now} too")
    if stored == now:
        return None
    return (f"threads: {source} was run with {stored} intra-op thread(s), this run uses {now}: results will differ "
            f"from the stored run's (its own count reproduces them)")


@contextmanager
def threads_restored() -> Iterator[None]:
    """Give the process its intra-op thread count back on leaving (a run pins its own meanwhile)."""
    before = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pin_interop(wanted: Optional[int]) -> tuple[int, list[str]]:
    """The inter-op count this process runs with: ``wanted`` if torch still lets it be set."""
    current = torch.get_num_interop_threads()
    if wanted is None or wanted == current:
        return current, []
    try:
        torch.set_num_interop_threads(wanted)
    except RuntimeError:
        return current, [f"interop_threads={wanted}: this process already runs {current} inter-op threads (torch "
                         f"fixes the count at its first inter-op parallel work, as in a reused Ray actor); "
                         f"recorded {current}"]
    return wanted, []
