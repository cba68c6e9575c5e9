"""Sweep progress: counts, running mean ± std of top-1, ETA; shown live in a terminal.

:class:`Progress` is the model (fed from trial folders at the start and from Tune results
as they arrive); :class:`LiveView` draws it with rich (a live table on a terminal, one line
per finished or failed trial otherwise, so that logs stay readable).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from analysis.contract import ERROR, PENDING, RUNNING, TERMINATED
from rsb_sweep.experiment.store import TrialFiles


@dataclass(kw_only=True)
class TrialProgress:
    status: str = PENDING
    epochs: int = 0
    epochs_done: int = 0
    top1: Optional[float] = None  # final top-1 (TERMINATED) or last epoch's (RUNNING)
    error: Optional[str] = None
    active: bool = False  # a process is working on it now


@dataclass
class Progress:
    """Thread-safe sweep state for display and ETA."""

    name: str
    trials: dict[str, TrialProgress] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    epochs_at_start: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_files(cls, name: str, configs: Mapping[str, Mapping[str, Any]], files: Mapping[str, TrialFiles]) -> "Progress":
        p = cls(name)
        for tid, cfg in configs.items():
            f = files[tid]
            metrics = f.metrics or {}
            last = f.history[-1] if f.history else {}
            p.trials[tid] = TrialProgress(
                status=f.status if f.status != RUNNING else PENDING, epochs=int(cfg.get("epochs", 0)) + int(cfg.get("cooldown_epochs") or 0),
                epochs_done=f.epochs_done, top1=metrics.get("top1", last.get("top1")),
                error=(f.error or {}).get("error"))
        p.epochs_at_start = p.epochs_done
        return p

    @property
    def epochs_done(self) -> int:
        return sum(t.epochs_done for t in self.trials.values())

    def update(self, result: Mapping[str, Any]) -> Optional[str]:
        """Apply one Tune result (an event of :mod:`rsb_sweep.worker.pack`, as :func:`rsb_sweep.worker.trainable.tune_result` carries it); return the event if a trial ended."""
        tid = result.get("rsb_trial")
        if tid not in self.trials:
            return None
        event = result.get("rsb_event")
        with self.lock:
            t = self.trials[tid]
            t.epochs = int(result.get("epochs", t.epochs) or t.epochs)
            if "epochs_done" in result and result["epochs_done"] is not None:
                t.epochs_done = int(result["epochs_done"])
            if event in ("start", "epoch"):
                t.status, t.active = RUNNING, True
                if event == "epoch":
                    t.top1 = result.get("top1")
            elif event == "done":
                t.status, t.active, t.top1 = TERMINATED, False, result.get("top1")
                t.epochs_done = t.epochs
            elif event == "error":
                t.status, t.active, t.error = ERROR, False, result.get("error")
        return event if event in ("done", "error") else None

    def mark(self, tid: str, status: str, error: Optional[str] = None) -> None:
        with self.lock:
            t = self.trials[tid]
            t.status, t.active = status, False
            if error:
                t.error = error

    def idle(self) -> None:
        """No process is working on any trial (between rounds, at the end)."""
        with self.lock:
            for t in self.trials.values():
                t.active = False

    def counts(self) -> dict[str, int]:
        out = {TERMINATED: 0, RUNNING: 0, ERROR: 0, PENDING: 0}
        for t in self.trials.values():
            out[t.status] += 1
        return out

    def top1_stats(self) -> tuple[int, float, float]:
        """(n, mean, std) of final top-1 over finished trials (std is nan below two)."""
        values = [t.top1 for t in self.trials.values() if t.status == TERMINATED and t.top1 is not None]
        if not values:
            return 0, math.nan, math.nan
        return len(values), statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan

    def eta_seconds(self) -> Optional[float]:
        """Remaining epochs / epochs per second so far in this session."""
        done = self.epochs_done - self.epochs_at_start
        elapsed = time.time() - self.started
        if done <= 0 or elapsed <= 0:
            return None
        remaining = sum(max(0, t.epochs - t.epochs_done) for t in self.trials.values()
                        if t.status in (PENDING, RUNNING))
        return remaining / (done / elapsed)

    def summary_parts(self) -> tuple[str, str]:
        """(counts, top-1 and timing): the two halves of the summary."""
        c = self.counts()
        n, mean, std = self.top1_stats()
        top1 = f"top-1 {mean:.2f} ± {std:.2f} % (n={n})" if n > 1 else (f"top-1 {mean:.2f} % (n=1)" if n else "top-1 –")
        eta = self.eta_seconds()
        counts = (f"{self.name}: {c[TERMINATED]}/{len(self.trials)} done, {c[RUNNING]} running, "
                  f"{c[ERROR]} failed, {c[PENDING]} pending")
        timing = (f"{top1} | elapsed {fmt_seconds(time.time() - self.started)}"
                  f" | ETA {fmt_seconds(eta) if eta is not None else '–'}")
        return counts, timing

    def summary_line(self) -> str:
        return " | ".join(self.summary_parts())


def fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LiveView:
    """Draws a :class:`Progress`: a rich live table on a terminal, plain lines elsewhere."""

    def __init__(self, progress: Progress, console: Console, live: Optional[bool] = None, quiet: bool = False):
        self.progress = progress
        self.console = console
        self.quiet = quiet
        self.live_mode = (console.is_terminal if live is None else live) and not quiet
        self._live: Optional[Live] = None
        self._last_line = 0.0

    def __enter__(self) -> "LiveView":
        if self.live_mode:
            self._live = Live(_Renderable(self.progress), console=self.console, refresh_per_second=2, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def ended(self, tid: str, event: str) -> None:
        """A trial finished or failed: one line when not live."""
        if self.live_mode or self.quiet:
            return
        t = self.progress.trials[tid]
        c = self.progress.counts()
        what = f"done  top-1 {t.top1:.2f}" if event == "done" and t.top1 is not None else f"ERROR {t.error}"
        self.console.print(f"[{c[TERMINATED] + c[ERROR]}/{len(self.progress.trials)}] {tid} {what}",
                           highlight=False, markup=False)
        now = time.time()
        if now - self._last_line > 15:
            self._last_line = now
            self.console.print(self.progress.summary_line(), highlight=False, markup=False)

    def final(self) -> None:
        """The closing summary (the live table already shows it)."""
        if not self.quiet and not self.live_mode:
            self.console.print(self.progress.summary_line(), highlight=False, markup=False)


class _Renderable:
    """Re-rendered by rich on every refresh."""

    def __init__(self, progress: Progress):
        self.progress = progress

    def __rich__(self) -> Group:
        p = self.progress
        with p.lock:
            running = [(tid, t) for tid, t in p.trials.items() if t.status == RUNNING and t.active]
            failed = [(tid, t) for tid, t in p.trials.items() if t.status == ERROR]
            counts, timing = p.summary_parts()
            header = Text(f"{counts}\n{timing}", style="bold")
            table = Table(show_header=True, header_style="dim", box=None, pad_edge=False)
            table.add_column("running trial")
            table.add_column("epoch", justify="right")
            table.add_column("top-1", justify="right")
            for tid, t in running[:12]:
                table.add_row(tid, f"{t.epochs_done}/{t.epochs}", f"{t.top1:.2f}" if t.top1 is not None else "–")
            parts: list[Any] = [header, table]
            for tid, t in failed[-3:]:
                parts.append(Text(f"failed {tid}: {t.error}", style="red"))
        return Group(*parts)
