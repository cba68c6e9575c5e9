"""Experiment trackers, one run per trial, written by the driver: TensorBoard (always, unless
``--log none``; :mod:`rsb_sweep.driver.tb_events`), MLflow (``--log mlflow[=URI]``) and W&B
(``--log wandb[=PROJECT]``; both :mod:`rsb_sweep.driver.tracker_clients`).

The driver is the only writer of each tracker's store (no SQLite locking, no worker that must
reach the driver's disk). What a run receives is the trial folder's ``history.jsonl``: on every
epoch event the :class:`TrackerHub` logs the rows that the tracker's run does not hold yet, asked
of the tracker itself (its event files, its metric history), so a restarted trial or a resumed
sweep continues its run with no duplicate step and no gap; the step is the epoch (1, 2, …).
A tracker that fails (unreachable, not logged in, a bug) is switched off with one line and the
sweep goes on: the parquet tables stay the source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol

from rsb_sweep.errors import SweepError, one_line
from trainer.config import SEED_FIELDS

TENSORBOARD, MLFLOW, WANDB, NONE = "tensorboard", "mlflow", "wandb", "none"
#: The trackers ``--log`` names; TensorBoard is on by default.
KINDS = (TENSORBOARD, MLFLOW, WANDB)
TENSORBOARD_DIR = "tensorboard"
SEED_KEYS = ("seed", *SEED_FIELDS)


@dataclass(frozen=True)
class LogSpec:
    """One tracker asked for: its kind and its argument (MLflow's URI, W&B's project), if any."""

    kind: str
    arg: Optional[str] = None

    def text(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}={self.arg}"


def parse_log(values: Iterable[str]) -> tuple[str, ...]:
    """``--log`` values (repeatable, comma lists) -> the tracker specs to store, TensorBoard first.

    ``none`` alone turns every tracker off. An unknown name is a usage error naming the choices.
    """
    items = [v.strip() for value in values for v in str(value).split(",") if v.strip()]
    if items == [NONE]:
        return ()
    specs = {TENSORBOARD: LogSpec(TENSORBOARD)}
    for item in items:
        kind, eq, arg = item.partition("=")
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise SweepError(f"--log {item!r}: expected {', '.join(KINDS)}, mlflow=URI, wandb=PROJECT or none")
        specs[kind] = LogSpec(kind, arg.strip() if eq and arg.strip() else None)
    return tuple(s.text() for s in specs.values())


def log_specs(texts: Iterable[str]) -> list[LogSpec]:
    """Stored spec texts (``mlflow=sqlite:///…``) back to :class:`LogSpec`."""
    out = []
    for text in texts:
        kind, eq, arg = str(text).partition("=")
        out.append(LogSpec(kind, arg if eq else None))
    return out


@dataclass(frozen=True)
class TrialInfo:
    """What a tracker's run is tagged with: the trial id, the values that vary, the seeds, the config."""

    trial_id: str
    params: dict[str, Any]
    config: dict[str, Any]

    @property
    def seeds(self) -> dict[str, Any]:
        return {k: self.config[k] for k in SEED_KEYS if k in self.config}

    @property
    def tags(self) -> dict[str, Any]:
        """The varying configuration and the seeds (plain values), with the trial id."""
        plain = {k: v for k, v in {**self.params, **self.seeds}.items() if isinstance(v, (int, float, str, bool))}
        return {"trial_id": self.trial_id, **plain}


class Tracker(Protocol):
    """One tracker's writer: a run per trial."""

    name: str

    def logged_step(self, trial: TrialInfo) -> int:
        """The last step (epoch) the trial's run already holds; 0 when it holds none."""

    def log(self, trial: TrialInfo, rows: list[dict[str, Any]]) -> None:
        """Log these history rows (consecutive epochs, after :meth:`logged_step`)."""

    def finish(self, trial_id: str, status: str) -> None:
        """The trial ended (TERMINATED or ERROR): close its run."""

    def close(self) -> None:
        """The command ends: close every open run (a resumed trial reopens it)."""


def scalars(row: dict[str, Any]) -> dict[str, float]:
    """A history row's numbers (the epoch is the step, not a metric)."""
    return {k: float(v) for k, v in row.items()
            if k != "epoch" and isinstance(v, (int, float)) and not isinstance(v, bool)}


@dataclass
class TrackerHub:
    """Every tracker of one launch, fed from the trial folders; a tracker that fails is dropped with one line."""

    trackers: list[Tracker]
    trials: dict[str, TrialInfo]
    history: Callable[[str], list[dict[str, Any]]]
    say: Callable[[str], None]
    logged: dict[tuple[str, str], int] = field(default_factory=dict)

    def update(self, trial_id: str, ended: Optional[str] = None) -> None:
        """Log the trial's epochs that each tracker lacks; close its runs when it ``ended``."""
        if not self.trackers or trial_id not in self.trials:
            return
        trial = self.trials[trial_id]
        rows = self.history(trial_id)
        for tracker in list(self.trackers):
            try:
                key = (tracker.name, trial_id)
                if key not in self.logged:
                    self.logged[key] = tracker.logged_step(trial)
                new = [r for r in rows if int(r.get("epoch", 0)) > self.logged[key]]
                if new:
                    tracker.log(trial, new)
                    self.logged[key] = int(new[-1]["epoch"])
                if ended:
                    tracker.finish(trial_id, ended)
            except Exception as exc:  # a tracker never fails a trial
                self.drop(tracker, exc)

    def drop(self, tracker: Tracker, exc: BaseException) -> None:
        """Switch one tracker off for the rest of this command, saying so in one line."""
        self.trackers = [t for t in self.trackers if t is not tracker]
        self.say(f"tracker {tracker.name} failed ({one_line(exc)}); the sweep goes on without it "
                 "(the parquet tables hold every number)")
        try:
            tracker.close()
        except Exception:
            pass

    def close(self) -> None:
        for tracker in self.trackers:
            try:
                tracker.close()
            except Exception as exc:
                self.say(f"tracker {tracker.name}: closing failed ({one_line(exc)})")
        self.trackers = []
