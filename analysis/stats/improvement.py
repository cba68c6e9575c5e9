"""Probability of improvement across tasks with a stratified bootstrap (Agarwal et al. 2021,
"Deep Reinforcement Learning at the Edge of the Statistical Precipice", NeurIPS; rliable's
``metrics.probability_of_improvement`` and ``library.get_interval_estimates``).

P(X > Y) = (1/T) Σ_t P(X_t > Y_t), where P(X_t > Y_t) = U_t / (m_t k_t) is the Mann-Whitney
statistic of task t's m_t runs of X against its k_t runs of Y (a tie counts ½). Each task weighs
the same, whatever its size or its scale: one large data set cannot dominate, and no score needs
normalising. The interval is rliable's: a percentile interval of the statistic over resamples
that draw each task's runs of X and of Y with replacement, independently, within the task (the
stratified independent bootstrap). Written on numpy, because rliable does not import with this
project's pandas; the tests use it as an oracle where it imports. Unlike rliable this accepts
tasks with different numbers of runs.

A percentile bootstrap of few runs is too narrow (a task with 3 runs per side has few distinct
resamples). Simulated (3 tasks, Gaussian runs, 400 studies each; docs/analysis/README.md,
"Transfer"): coverage of the 95 % interval 0.86 with 3 runs per side, 0.91 with 5, 0.96 with 10.
:attr:`ProbabilityOfImprovement.few_runs` says when a task has fewer than :data:`FEW_RUNS`.

When the same runs are scored on every task (a pretrained model fine-tuned on each target), the
tasks are not independent: :func:`clustered_improvement` redraws each run once per resample and
keeps it on every task (a cluster bootstrap); redrawing per task then under-covers (5 targets, 10
models, correlation 0.9 between targets: 0.65 against the cluster bootstrap's 0.93).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AnalysisError
from .image_noise import Interval

#: The interval's method when the same runs (pretrained models) are scored on every task.
CLUSTER_METHOD = "cluster bootstrap, percentile: each run redrawn once per resample, on every task"
#: Below this many runs per side in a task, the percentile interval under-covers (module note).
FEW_RUNS = 10
#: Resamples processed at once (bounds memory: batch × m × k booleans).
_BATCH = 500


@dataclass(frozen=True, kw_only=True)
class ProbabilityOfImprovement:
    """Result of :func:`probability_of_improvement`."""

    statistic: float                    # mean over tasks of P(X_t > Y_t)
    confidence_interval: Interval
    per_task: tuple[float, ...]
    n_x: tuple[int, ...]                # runs of X per task
    n_y: tuple[int, ...]
    confidence_level: float
    n_resamples: int
    method: str = "stratified independent bootstrap, percentile (rliable)"
    tasks: tuple[str, ...] = field(default=())

    @property
    def n_tasks(self) -> int:
        """Number of tasks averaged."""
        return len(self.per_task)

    @property
    def few_runs(self) -> bool:
        """True when a task has fewer than :data:`FEW_RUNS` runs of X or of Y."""
        return min(self.n_x + self.n_y) < FEW_RUNS

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-friendly dict."""
        return {"statistic": self.statistic, "ci_low": self.confidence_interval.low,
                "ci_high": self.confidence_interval.high, "per_task": dict(zip(self.tasks, self.per_task)),
                "n_x": list(self.n_x), "n_y": list(self.n_y), "confidence_level": self.confidence_level,
                "n_resamples": self.n_resamples, "method": self.method, "few_runs": self.few_runs}


def pairwise_improvement(x: Any, y: Any) -> float:
    """P(X > Y) + ½ P(X = Y) over every pair of one task's runs: U / (m k)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])))


def _resampled(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """P(X > Y) of ``n`` resamples of one task (runs drawn with replacement, X and Y apart)."""
    out = np.empty(n)
    for s in range(0, n, _BATCH):
        b = min(_BATCH, n - s)
        xs = x[rng.integers(0, len(x), (b, len(x)))]
        ys = y[rng.integers(0, len(y), (b, len(y)))]
        gt = (xs[:, :, None] > ys[:, None, :]).mean(axis=(1, 2))
        eq = (xs[:, :, None] == ys[:, None, :]).mean(axis=(1, 2))
        out[s:s + b] = gt + 0.5 * eq
    return out


def probability_of_improvement(
    scores_x: Sequence[Any],
    scores_y: Sequence[Any],
    *,
    tasks: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | None = 0,
) -> ProbabilityOfImprovement:
    """rliable's probability that X improves on Y, averaged over tasks, with its stratified
    bootstrap interval (module note).

    ``scores_x`` / ``scores_y``: one array of run scores per task, in the same task order (a task
    may have any number of runs ≥ 1 on each side). ``tasks``: their names. Raises AnalysisError
    for no task, a task missing on one side, an empty task or NaN scores.
    """
    xs = [np.asarray(v, dtype=float).ravel() for v in scores_x]
    ys = [np.asarray(v, dtype=float).ravel() for v in scores_y]
    if not xs or len(xs) != len(ys):
        raise AnalysisError(f"probability_of_improvement needs the same tasks on both sides (got {len(xs)} "
                            f"and {len(ys)}), at least one.")
    if any(len(v) == 0 for v in xs + ys):
        raise AnalysisError("probability_of_improvement: a task has no runs on one side.")
    if not all(np.all(np.isfinite(v)) for v in xs + ys):
        raise AnalysisError("probability_of_improvement: scores hold NaN/inf; pass the usable runs only.")
    names = tuple(str(t) for t in tasks) if tasks is not None else tuple(str(i) for i in range(len(xs)))
    per_task = tuple(pairwise_improvement(x, y) for x, y in zip(xs, ys))
    rng = np.random.default_rng(random_state)
    draws = np.mean([_resampled(x, y, n_resamples, rng) for x, y in zip(xs, ys)], axis=0)
    low, high = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return ProbabilityOfImprovement(
        statistic=float(np.mean(per_task)), confidence_interval=Interval(float(low), float(high)),
        per_task=per_task, n_x=tuple(len(x) for x in xs), n_y=tuple(len(y) for y in ys),
        confidence_level=confidence, n_resamples=n_resamples, tasks=names)


def _clustered(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Mean over tasks of P(X > Y) of ``n`` resamples that redraw the rows (runs) of ``x`` (runs ×
    tasks) and of ``y`` once each, the same rows on every task."""
    out = np.empty(n)
    for s in range(0, n, _BATCH):
        b = min(_BATCH, n - s)
        xs = x[rng.integers(0, len(x), (b, len(x)))]          # b × m × T
        ys = y[rng.integers(0, len(y), (b, len(y)))]          # b × k × T
        gt = (xs[:, :, None, :] > ys[:, None, :, :]).mean(axis=(1, 2))
        eq = (xs[:, :, None, :] == ys[:, None, :, :]).mean(axis=(1, 2))
        out[s:s + b] = (gt + 0.5 * eq).mean(axis=1)
    return out


def clustered_improvement(
    x: Any,
    y: Any,
    *,
    tasks: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | None = 0,
) -> ProbabilityOfImprovement:
    """:func:`probability_of_improvement` when the same runs are scored on every task (a
    pretrained model fine-tuned on each target): ``x`` (runs × tasks) and ``y`` (runs × tasks),
    no NaN. The statistic is the same; the interval redraws each side's runs once per resample
    and keeps them on every task (a cluster bootstrap), so that a run's effect shared across
    tasks is not averaged away as if the tasks had independent runs."""
    x, y = np.atleast_2d(np.asarray(x, dtype=float)), np.atleast_2d(np.asarray(y, dtype=float))
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or 0 in x.shape + y.shape:
        raise AnalysisError(f"clustered_improvement needs runs × tasks arrays with the same tasks "
                            f"(got {x.shape} and {y.shape}).")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise AnalysisError("clustered_improvement: scores hold NaN/inf; every run needs every task.")
    names = tuple(str(t) for t in tasks) if tasks is not None else tuple(str(i) for i in range(x.shape[1]))
    per_task = tuple(pairwise_improvement(x[:, t], y[:, t]) for t in range(x.shape[1]))
    draws = _clustered(x, y, n_resamples, np.random.default_rng(random_state))
    low, high = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    return ProbabilityOfImprovement(
        statistic=float(np.mean(per_task)), confidence_interval=Interval(float(low), float(high)),
        per_task=per_task, n_x=(len(x),) * len(per_task), n_y=(len(y),) * len(per_task),
        confidence_level=confidence, n_resamples=n_resamples, method=CLUSTER_METHOD, tasks=names)
