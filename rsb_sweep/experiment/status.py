"""``rsb-sweep status``: what is done, running, failed and pending, from files alone (no Ray, no torch)."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from rich.console import Console
from rich.table import Table

from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.driver.progress import fmt_seconds
from rsb_sweep.experiment.store import ERROR_STATUS, PENDING, RUNNING, TERMINATED


@dataclass
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
    counts = {TERMINATED: 0, RUNNING: 0, ERROR_STATUS: 0, PENDING: 0}
    top1, failures, running = [], [], []
    for t in exp.trials:
        f = files[t["trial_id"]]
        counts[f.status] += 1
        if f.status == TERMINATED and f.metrics and f.metrics.get("top1") is not None:
            top1.append(float(f.metrics["top1"]))
        elif f.status == ERROR_STATUS:
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

        evaluations = {TERMINATED: 0, ERROR_STATUS: 0, PENDING: 0}
        for t in exp.trials:
            for row in evaluation_rows(exp.name, t["trial_id"], t["config"], files[t["trial_id"]], plan):
                evaluations[row["status"]] += 1
    return StatusReport(name=exp.name, total=len(exp.trials), counts=counts, driver_running=exp.driver_alive(),
                        driver=exp.driver_info(), top1_n=len(top1), top1_mean=mean, top1_std=std,
                        failures=failures, running=running, evaluations=evaluations, plan=plan.describe())


def print_status(report: StatusReport, exp: Experiment, console: Console) -> None:
    """Human-readable status."""
    c = report.counts
    console.print(f"[bold]{report.name}[/bold]  ({exp.root})")
    console.print(f"  done {c[TERMINATED]}   running {c[RUNNING]}   failed {c[ERROR_STATUS]}   pending {c[PENDING]}"
                  f"   of {report.total}", highlight=False)
    if report.top1_n:
        spread = f" ± {report.top1_std:.2f}" if report.top1_n > 1 else ""
        console.print(f"  top-1 so far: {report.top1_mean:.2f}{spread} % (mean ± std over {report.top1_n} finished trials)",
                      highlight=False)
    if report.evaluations is not None:
        e = report.evaluations
        console.print(f"  evaluations ({report.plan}): done {e[TERMINATED]}   failed {e[ERROR_STATUS]}   "
                      f"pending {e[PENDING]}   of {sum(e.values())}", highlight=False)
    d = report.driver or {}
    if report.driver_running:
        beat = time.time() - float(d.get("heartbeat", time.time()))
        console.print(f"  driver: running (pid {d.get('pid')} on {d.get('host')}, heartbeat {fmt_seconds(beat)} ago)",
                      highlight=False)
    elif c[RUNNING] or c[PENDING] or (report.evaluations or {}).get(PENDING):
        console.print(f"  driver: not running; continue with  rsb-sweep resume {exp.root}", highlight=False)
    if report.running:
        label = "running" if report.driver_running else "interrupted (will continue from the last checkpoint)"
        table = Table(title=None, box=None, show_header=True, header_style="dim")
        table.add_column(label)
        table.add_column("epoch", justify="right")
        for tid, done, total in report.running[:20]:
            table.add_row(tid, f"{done}/{total}")
        console.print(table)
    if report.failures:
        console.print("  [red]failures[/red]:")
        for tid, error in report.failures:
            console.print(f"    {tid}: {error}", highlight=False, markup=False)
