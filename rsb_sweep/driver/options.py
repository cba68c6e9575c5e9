"""What one command asks of the driver (not stored in the manifest): where Ray runs, concurrency,
retries, output. Light: the command line builds it before the driver's heavy imports."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional


@dataclass(frozen=True, kw_only=True)
class LaunchOptions:
    """Per-launch choices (not stored in the manifest)."""

    address: Optional[str] = None
    dashboard: bool = False
    max_concurrent: Optional[int] = None
    max_failures: Optional[int] = None
    pack: Optional[int] = None
    num_cpus: Optional[int] = None  # size of a local Ray instance (default: this machine's CPUs)
    retry_failed: bool = False
    live: Optional[bool] = None  # None: live table when the console is a terminal
    quiet: bool = False
    log: Optional[tuple[str, ...]] = None  # trackers for this launch (rsb_sweep.driver.trackers); None: the manifest's
    resource_timeout: Optional[float] = None  # seconds without progress while a trial cannot be placed
    data_checked: bool = False  # the caller already checked the data on this machine (local runs)

    @classmethod
    def from_values(cls, values: Mapping[str, Any], **more: Any) -> "LaunchOptions":
        """The options among a command's parsed ``values`` (an option not given, None, keeps its default;
        other keys are ignored), then ``more``: the one way a command builds them."""
        names = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in values.items() if k in names and v is not None}, **more})
