"""How a sweep's trials run: resources, concurrency, retries, packing. Not part of any result."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

from rsb_sweep.errors import SweepError


@dataclass(frozen=True, kw_only=True)
class Execution:
    """How trials run: resources, concurrency, retries, packing. Not part of any result."""

    workers_per_trial: int = 1
    cpus_per_trial: Optional[float] = None  # None: one CPU per worker
    gpus_per_worker: float = 0.0
    max_concurrent: Optional[int] = None  # None: as many as the resources allow
    max_failures: int = 3  # retries of a trial process that died (SIGKILL, OOM, lost node)
    pack: Optional[int] = None  # trials run one after another per Tune trial; None: automatic

    def __post_init__(self) -> None:
        if self.workers_per_trial < 1:
            raise SweepError(f"workers_per_trial={self.workers_per_trial} must be >= 1")
        if self.cpus_per_trial is not None and self.cpus_per_trial <= 0:
            raise SweepError(f"cpus_per_trial={self.cpus_per_trial} must be > 0")
        if self.gpus_per_worker < 0:
            raise SweepError(f"gpus_per_worker={self.gpus_per_worker} must be >= 0")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise SweepError(f"max_concurrent={self.max_concurrent} must be >= 1")
        if self.max_failures < 0:
            raise SweepError(f"max_failures={self.max_failures} must be >= 0")
        if self.pack is not None and self.pack < 1:
            raise SweepError(f"pack={self.pack} must be >= 1")

    @property
    def trial_cpus(self) -> float:
        """CPUs a whole trial holds (all its workers together)."""
        return float(self.cpus_per_trial) if self.cpus_per_trial is not None else float(self.workers_per_trial)

    @property
    def worker_cpus(self) -> float:
        """CPUs each DDP worker holds."""
        return self.trial_cpus / self.workers_per_trial

    @property
    def torch_threads(self) -> int:
        """Intra-op threads each worker process uses: its CPU share, at least one."""
        return max(1, int(self.worker_cpus))

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def with_overrides(self, **values: Any) -> "Execution":
        """A copy with the values that are not None replaced (command-line options over the file or manifest)."""
        unknown = sorted(set(values) - set(self.__dataclass_fields__))
        if unknown:
            raise SweepError(f"unknown execution setting(s) {', '.join(unknown)}")
        return replace(self, **{k: v for k, v in values.items() if v is not None})
