"""Checks made before any trial is dispatched: the data every trial will read.

A data folder that is missing or malformed would make every trial fail, one after the
other, minutes in; it is checked once, up front, with the trainer's own rules
(:func:`trainer.datafolder.check_data`). Where the check runs matters: a local sweep checks
on this machine before Ray starts; with ``--address`` the data lives on the cluster, so one
small Ray task checks it there. ``s3://``/``gs://`` data is left to the trial.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from rsb_sweep.spec.paths import is_uri
from trainer.errors import DataError

#: (data folder or None for the embedded digits, eval sets) pairs
DataUse = tuple[Optional[str], tuple[tuple[str, str], ...]]


def data_uses(configs: Iterable[Mapping[str, Any]]) -> list[DataUse]:
    """The distinct local data a set of trial configs reads (URIs left out)."""
    out: list[DataUse] = []
    for config in configs:
        data = config.get("data")
        eval_sets = tuple((str(n), str(p)) for n, p in config.get("eval_sets") or () if not is_uri(p))
        if data is not None and is_uri(data):
            continue
        use = (data, eval_sets)
        if (data is not None or eval_sets) and use not in out:
            out.append(use)
    return out


def check_uses(uses: list[DataUse]) -> Optional[str]:
    """Check each data use here; the first problem's message, or None when all is well."""
    from trainer.datafolder import check_data

    for data, eval_sets in uses:
        try:
            if data is None:
                from trainer.digits import digits_root

                data = str(digits_root())
            check_data(data, eval_sets)
        except DataError as exc:
            return str(exc)
    return None


def check_data_here(configs: Iterable[Mapping[str, Any]]) -> None:
    """Check the trials' data on this machine; :class:`DataError` naming the fix otherwise."""
    problem = check_uses(data_uses(configs))
    if problem:
        raise DataError(problem)


def check_data_on_cluster(configs: Iterable[Mapping[str, Any]]) -> None:
    """Check the trials' data where the trials will run: one Ray task on the cluster (Ray must be up)."""
    import ray

    uses = data_uses(configs)
    if not uses:
        return
    problem = ray.get(ray.remote(num_cpus=0)(check_uses).remote(uses))
    if problem:
        raise DataError(f"{problem} (checked on the Ray cluster, where the trials run)")
