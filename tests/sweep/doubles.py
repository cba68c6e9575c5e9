"""A recording test double for the pack's :class:`~rsb_sweep.worker.pack.Reporter` interface.

It stands where Ray Tune (or Ray Train) would: it keeps every event the real pack code
reports, turns each into the Tune result the real reporter would send
(:func:`rsb_sweep.worker.trainable.tune_result`) and, given a :class:`~rsb_sweep.driver.progress.Progress`,
feeds it there exactly as the driver's Tune callback does. Its ``pointer_epoch`` answers
what Tune's reference checkpoint would say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from rsb_sweep.driver.progress import Progress
from rsb_sweep.worker.trainable import tune_result


@dataclass
class RecordingReporter:
    pointers: dict[str, int] = field(default_factory=dict)  # trial id -> epoch Tune's checkpoint names
    progress: Optional[Progress] = None
    events: list[tuple[str, str, dict[str, Any], Optional[Path]]] = field(default_factory=list)
    ended: list[tuple[str, str]] = field(default_factory=list)  # what the driver's callback would be told

    def event(self, trial_id: str, event: str, metrics: dict[str, Any], checkpoint_dir: Optional[Path]) -> None:
        self.events.append((trial_id, event, dict(metrics), checkpoint_dir))
        if self.progress is not None:
            done = self.progress.update(tune_result(trial_id, event, metrics))
            if done:
                self.ended.append((trial_id, done))

    def pointer_epoch(self, trial_id: str) -> int:
        return self.pointers.get(trial_id, 0)

    def kinds(self, trial_id: str) -> list[str]:
        return [e for t, e, _, _ in self.events if t == trial_id]
