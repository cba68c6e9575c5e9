"""The driver's Tune callback: feeds Tune results to the progress model and the trackers, rewrites the
result tables every couple of seconds while trials end, beats the experiment's heartbeat, and stops a
sweep that cannot place a trial for ``resource_timeout`` seconds. Runs in the driver process only
(Tune pickles its run config; this callback pickles to nothing)."""

from __future__ import annotations

import time
from typing import Any, Optional

from analysis.contract import ERROR, TERMINATED
from rsb_sweep.driver.progress import LiveView, Progress
from rsb_sweep.driver.stall import StallWatch
from rsb_sweep.driver.trackers import TrackerHub
from rsb_sweep.experiment.faults import REFUSED_EVENT, from_event
from rsb_sweep.experiment.folder import DriverLock, Experiment
from rsb_sweep.experiment.tables import write_tables

RESULTS_EVERY_S = 2.0
HEARTBEAT_EVERY_S = 5.0


class StalledError(RuntimeError):
    """Raised inside Tune's loop when no trial could be placed for the resource timeout."""


def _callback_base():
    from ray import tune

    return tune.Callback


class SweepCallback(_callback_base()):
    """Feeds Tune results to the progress model, rewrites the result tables, beats the heartbeat."""

    def __init__(self, exp: Experiment, progress: Progress, view: LiveView, lock: DriverLock,
                 trackers: Optional[TrackerHub] = None, stall: Optional[StallWatch] = None):
        self.exp, self.progress, self.view, self.lock, self.trackers = exp, progress, view, lock, trackers
        self.stall = stall or StallWatch()
        self.refused: Optional[OSError] = None
        self.dirty = False
        self.last_write = self.last_beat = time.monotonic()

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its run config (tuner.pkl); this callback only lives in the driver process."""
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.exp = None

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if self.exp is None:
            return
        if result.get("rsb_event") == REFUSED_EVENT:  # a full disk: stop now, the trial stays to resume
            self.refused = from_event(result)
            raise self.refused
        ended = self.progress.update(result)
        if ended:
            self.dirty = True
            self.view.ended(result["rsb_trial"], ended)
        if self.trackers is not None and result.get("rsb_event") in ("epoch", "done", "error"):
            self.trackers.update(result["rsb_trial"], {"done": TERMINATED, "error": ERROR}.get(ended or ""))
        self._tick()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.dirty = True

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if self.exp is not None:
            self._tick()
            if self.stall.check(trials):  # Tune would wait for ever: stop it (the driver says why, exit 3)
                raise StalledError(self.stall.message)

    def _tick(self) -> None:
        now = time.monotonic()
        if self.dirty and now - self.last_write >= RESULTS_EVERY_S:
            write_tables(self.exp)
            self.dirty, self.last_write = False, now
        if now - self.last_beat >= HEARTBEAT_EVERY_S:
            self.lock.beat(progress=self.progress.counts())
            self.last_beat = now
