"""A sweep that cannot place a trial: Ray keeps a trial PENDING for as long as its resources are missing
(a lost node that never comes back), and Tune waits with it. :class:`StallWatch` ends that wait after
``timeout`` seconds during which no trial ran and one waited, with a message naming what is missing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

#: Default ``--resource-timeout``: ten minutes with a trial waiting and none running.
DEFAULT_RESOURCE_TIMEOUT_S = 600.0


@dataclass
class StallWatch:
    """Counts the seconds during which a Tune trial waits for resources and none runs."""

    timeout: float = DEFAULT_RESOURCE_TIMEOUT_S
    since: Optional[float] = None
    message: Optional[str] = None

    def check(self, trials: list[Any]) -> bool:
        """Look at Tune's trials (one loop step); True once the wait passed ``timeout`` (see :attr:`message`)."""
        waiting = [t for t in trials if t.status == "PENDING"]
        if not waiting or any(t.status == "RUNNING" for t in trials):
            self.since = None
            return False
        now = time.monotonic()
        if self.since is None:
            self.since = now
            return False
        if now - self.since < self.timeout:
            return False
        self.message = missing_resources(waiting, now - self.since)
        return True


def missing_resources(waiting: list[Any], seconds: float) -> str:
    """One sentence: how many trials wait, what one needs, what the cluster has free and in all."""
    need = _resources(getattr(waiting[0], "placement_group_factory", None))
    free = total = {}
    try:
        import ray

        free, total = ray.available_resources(), ray.cluster_resources()
    except Exception:  # Ray gone: the sentence still names what the trial needs
        pass
    keys = sorted(need) or ["CPU"]
    show = lambda d: ", ".join(f"{k} {float(d.get(k, 0)):g}" for k in keys)  # noqa: E731
    return (f"no trial could be placed for {seconds:.0f} s: {len(waiting)} pack(s) of trials wait for {show(need)} "
            f"each, and the Ray cluster has {show(free)} free of {show(total)} (a node lost and not back?)")


def _resources(factory: Any) -> dict[str, float]:
    try:
        return {k: float(v) for k, v in factory.required_resources.items() if v}
    except Exception:
        return {}
