"""The MLflow and W&B trackers (:mod:`rsb_sweep.driver.trackers`), through their own clients, and
:func:`open_hub`, which starts the trackers a launch asks for.

* MLflow: an experiment per sweep (the sweep's name), a run per trial (params = the trial's
  config, tags = trial id, varying values and seeds, metrics per epoch). The run is found again by
  its ``rsb_trial_id`` tag and its metric history says which epochs it holds. Default store: a
  SQLite file in the experiment folder (``mlflow.db``, artifacts in ``mlartifacts/``).
* W&B: a group per sweep, a run per trial whose id is the sweep name and trial id (run ids are
  unique per project), resumed with ``resume="allow"``; ``WANDB_MODE`` (``offline``, ``disabled``) is
  W&B's own. Which epochs a run holds is kept beside the offline files, in
  ``<experiment>/wandb/rsb-steps.json``, since an offline run cannot be asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from analysis.contract import TERMINATED
from rsb_sweep.driver.tb_events import TensorBoardTracker
from rsb_sweep.driver.trackers import (MLFLOW, TENSORBOARD, TENSORBOARD_DIR, WANDB, TrackerHub, TrialInfo, log_specs,
                                       scalars)
from rsb_sweep.errors import one_line
from trainer.files import atomic_write_bytes

TRIAL_TAG = "rsb_trial_id"
_PARAMS_PER_BATCH = 100


def open_hub(root: Path, name: str, trials: list[dict[str, Any]], specs: Iterable[str],
             history: Callable[[str], list[dict[str, Any]]], say: Callable[[str], None]) -> TrackerHub:
    """The trackers of ``specs`` for the experiment at ``root`` (named ``name``); one that cannot start
    is left out with one line."""
    infos = {t["trial_id"]: TrialInfo(t["trial_id"], dict(t.get("params", {})), t["config"]) for t in trials}
    hub = TrackerHub([], infos, history, say)
    for spec in log_specs(specs):
        try:
            if spec.kind == TENSORBOARD:
                hub.trackers.append(TensorBoardTracker(root / TENSORBOARD_DIR))
            elif spec.kind == MLFLOW:
                hub.trackers.append(MlflowTracker(spec.arg or f"sqlite:///{root / 'mlflow.db'}", name,
                                                  artifacts=None if spec.arg else root / "mlartifacts"))
            elif spec.kind == WANDB:
                hub.trackers.append(WandbTracker(root, spec.arg or "rsb-sweep", name))
        except Exception as exc:
            say(f"tracker {spec.kind} could not start ({one_line(exc)}); the sweep goes on without it")
    return hub


class MlflowTracker:
    """One MLflow run per trial in the experiment named after the sweep."""

    name = MLFLOW

    def __init__(self, uri: str, experiment: str, artifacts: Optional[Path] = None):
        # an unreachable server fails in seconds, not after MLflow's default minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # not its "Creating initial MLflow database tables"
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            self.experiment_id = found.experiment_id
        else:
            location = artifacts.as_uri() if artifacts is not None else None
            self.experiment_id = self.client.create_experiment(experiment, artifact_location=location)
        self.runs: dict[str, str] = {}

    def _run(self, trial: TrialInfo) -> str:
        """The trial's run id: found by its tag, or created with the trial's params and tags."""
        if trial.trial_id in self.runs:
            return self.runs[trial.trial_id]
        found = self.client.search_runs([self.experiment_id], filter_string=f"tags.{TRIAL_TAG} = '{trial.trial_id}'",
                                        max_results=1)
        if found:
            run_id = found[0].info.run_id
            if found[0].info.status != "RUNNING":
                self.client.update_run(run_id, status="RUNNING")
        else:
            from mlflow.entities import Param

            tags = {TRIAL_TAG: trial.trial_id, **{k: str(v) for k, v in trial.tags.items()}}
            run_id = self.client.create_run(self.experiment_id, run_name=trial.trial_id, tags=tags).info.run_id
            params = [Param(k, str(v)[:6000]) for k, v in sorted(trial.config.items())]
            for i in range(0, len(params), _PARAMS_PER_BATCH):
                self.client.log_batch(run_id, params=params[i:i + _PARAMS_PER_BATCH])
        self.runs[trial.trial_id] = run_id
        return run_id

    def logged_step(self, trial: TrialInfo) -> int:
        run_id = self._run(trial)
        steps = [m.step for m in self.client.get_metric_history(run_id, "top1")]
        return max(steps, default=0)

    def log(self, trial: TrialInfo, rows: list[dict[str, Any]]) -> None:
        from mlflow.entities import Metric

        run_id, now = self._run(trial), int(time.time() * 1000)
        metrics = [Metric(k, v, now, int(row["epoch"])) for row in rows for k, v in scalars(row).items()]
        self.client.log_batch(run_id, metrics=metrics)

    def finish(self, trial_id: str, status: str) -> None:
        run_id = self.runs.pop(trial_id, None)
        if run_id is not None:
            self.client.set_terminated(run_id, "FINISHED" if status == TERMINATED else "FAILED")

    def close(self) -> None:
        self.runs.clear()  # runs of unfinished trials stay RUNNING; a resume continues them


def wandb_run_id(sweep: str, trial_id: str) -> str:
    """The W&B run id of a trial: ``<sweep>-<trial id>`` (W&B ids are unique per project), shortened with a
    hash past 64 characters."""
    text = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{sweep}-{trial_id}")
    if len(text) <= 64:
        return text
    return f"{text[:47]}-{hashlib.sha1(text.encode()).hexdigest()[:16]}"


class WandbTracker:
    """One W&B run per trial, grouped by sweep, resumable by id."""

    name = WANDB

    def __init__(self, root: Path, project: str, group: str):
        import wandb

        self.wandb, self.root, self.project, self.group = wandb, Path(root), project, group
        self.ledger = self.root / "wandb" / "rsb-steps.json"
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        self.steps: dict[str, int] = json.loads(self.ledger.read_text()) if self.ledger.is_file() else {}
        self.runs: dict[str, Any] = {}

    def _run(self, trial: TrialInfo) -> Any:
        if trial.trial_id not in self.runs:
            self.runs[trial.trial_id] = self.wandb.init(
                project=self.project, group=self.group, id=wandb_run_id(self.group, trial.trial_id),
                name=trial.trial_id, resume="allow", config=trial.config, dir=str(self.root), reinit="create_new",
                tags=[f"{k}={v}" for k, v in trial.tags.items()][:20], settings=self.wandb.Settings(silent=True, console="off"))
        return self.runs[trial.trial_id]

    def logged_step(self, trial: TrialInfo) -> int:
        return int(self.steps.get(trial.trial_id, 0))

    def log(self, trial: TrialInfo, rows: list[dict[str, Any]]) -> None:
        run = self._run(trial)
        for row in rows:
            run.log(scalars(row), step=int(row["epoch"]))
        self.steps[trial.trial_id] = int(rows[-1]["epoch"])
        atomic_write_bytes(self.ledger, json.dumps(self.steps).encode())

    def finish(self, trial_id: str, status: str) -> None:
        run = self.runs.pop(trial_id, None)
        if run is not None:
            run.finish(exit_code=0 if status in (TERMINATED, "") else 1)

    def close(self) -> None:
        for trial_id in list(self.runs):
            self.finish(trial_id, "")
