"""``rsb-sweep status``: what is done, running, failed and pending, from files alone (no Ray, no torch)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Optional

from analysis.contract import ERROR, PENDING, RUNNING, STATUSES, TERMINATED
from rsb_sweep.experiment.folder import Experiment


@dataclass(kw_only=True)
class StatusReport:
    """A snapshot of an experiment, as ``status`` prints it."""

    name: str
    total: int
    counts: dict[str, int]
    driver_running: bool
    driver: Optional[dict[str, Any]]
    top1_n: int
    top1_mean: float
    top1_std: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    running: list[tuple[str, int, int]] = field(default_factory=list)  # (trial, epochs done, epochs)
    evaluations: Optional[dict[str, int]] = None  # rows of evaluations.parquet by status, when the experiment evaluates
    plan: str = ""


def experiment_status(exp: Experiment) -> StatusReport:
    """Read every trial folder of ``exp`` and summarise."""
    files = exp.store.read_all(exp.trial_ids)
    counts = {status: 0 for status in STATUSES}
    top1, failures, running = [], [], []
    for t in exp.trials:
        f = files[t["trial_id"]]
        counts[f.status] += 1
        if f.status == TERMINATED and f.metrics and f.metrics.get("top1") is not None:
            top1.append(float(f.metrics["top1"]))
        elif f.status == ERROR:
            failures.append((t["trial_id"], str((f.error or {}).get("error", "unknown error"))))
        elif f.status == RUNNING:
            running.append((t["trial_id"], f.epochs_done,
                            int(t["config"].get("epochs", 0)) + int(t["config"].get("cooldown_epochs") or 0)))
    mean = statistics.fmean(top1) if top1 else math.nan
    std = statistics.stdev(top1) if len(top1) > 1 else math.nan
    evaluations = None
    plan = exp.evaluate
    if plan:
        from rsb_sweep.experiment.evaluations import evaluation_rows

        evaluations = {TERMINATED: 0, ERROR: 0, PENDING: 0}
        for t in exp.trials:
            for row in evaluation_rows(exp.name, t["trial_id"], t["config"], files[t["trial_id"]], plan):
                evaluations[row["status"]] += 1
    return StatusReport(name=exp.name, total=len(exp.trials), counts=counts, driver_running=exp.driver_alive(),
                        driver=exp.driver_info(), top1_n=len(top1), top1_mean=mean, top1_std=std,
                        failures=failures, running=running, evaluations=evaluations, plan=plan.describe())



def race_line(exp: Experiment) -> str:
    """``status``'s line for an ``rsb-sweep race``: its state and survivors (race.json), from files alone."""
    from rsb_sweep.experiment.race_file import describe_race, read_race

    doc = read_race(exp)
    if doc is None:
        n = len(exp.manifest["race"]["configs"])
        return f"race: running, no wave has finished yet ({n} configurations)"
    return describe_race(doc)
