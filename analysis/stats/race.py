"""Racing a grid: which configurations can be dropped, after each wave of seeds, with an
anytime-valid guarantee for the whole grid (``rsb-sweep race``; ``benchmarks/race_sim.py``).

Every pair (i, j) of the K configurations gets the confidence sequence of μ_i − μ_j of
:func:`analysis.stats.sequential.confidence_sequence` (the anytime-valid t-test of Lindon et
al. 2022) at level α/P, P = K(K−1)/2 (Bonferroni over the pairs). Each holds uniformly over all
looks, so by the union bound all P hold at once, at every look, with probability ≥ 1 − α,
whenever the looks are taken and whatever is decided in between (continuous monitoring).

* **Drop rule**: after a look, configuration i stops receiving seeds when, for some surviving
  j, the lower bound of μ_j − μ_i exceeds δ. On the event that every sequence covers, a
  configuration within δ of the best (μ_best − μ_i ≤ δ) has μ_j − μ_i ≤ δ for every j, so it
  is never dropped: P(a configuration within δ of the best is ever dropped) ≤ α (δ = 0: the
  best is never dropped). The configuration with the highest mean is never dropped.
* **Stop rule**: one survivor (``one_survivor``); or every pair of survivors decided
  equivalent within δ, both bounds inside (−δ, δ) (``equivalent``; never with δ = 0); or
  ``max_seeds`` seeds reached (``undecided``, the survivors listed); else ``running``.

Survivors always hold the same seeds, so the pairs a drop is decided on are balanced (and may
be paired, for evaluation-only axes: the same models evaluated twice). A pair's interval is
frozen at the look where one of its configurations was dropped (its running intersection
there). :func:`race` replays every look from the values so far, so the driver calls it after
each wave with everything it has, and the simulation with whole synthetic grids at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..errors import AnalysisError
from .sequential import DEFAULT_PHI, check_looks, confidence_sequence

#: The race's state after its last look (index into this tuple in :attr:`Race.verdict`).
RACE_VERDICTS = ("running", "one_survivor", "equivalent", "undecided")


@dataclass(frozen=True, kw_only=True)
class Race:
    """The race replayed over its looks, from :func:`race`; leading axes ``...`` are independent races.

    ``low``/``high`` [..., i, j] bound μ_i − μ_j (metric's units; ±inf while unbounded; NaN on
    the diagonal), frozen at the look where i or j was dropped. ``dropped_at`` is the look index
    (−1: never dropped), ``dropped_by`` the configuration whose lower bound over it exceeded δ
    by most (−1). ``n`` is the seeds each configuration was given; ``stopped_at`` the look the
    race stopped at (its last look while running or undecided).
    """

    looks: np.ndarray       # (T,) seed counts at the looks
    n: np.ndarray           # (..., K)
    mean: np.ndarray        # (..., K) mean over the configuration's finite results
    low: np.ndarray         # (..., K, K)
    high: np.ndarray        # (..., K, K)
    alive: np.ndarray       # (..., K) bool: still receiving seeds
    dropped_at: np.ndarray  # (..., K) int
    dropped_by: np.ndarray  # (..., K) int
    stopped_at: np.ndarray  # (...,) int
    verdict: np.ndarray     # (...,) int, index into RACE_VERDICTS
    alpha: float
    alpha_pair: float
    delta: float
    paired: bool
    phi: float
    higher_is_better: bool

    @property
    def trainings(self) -> np.ndarray:
        """Seeds given, summed over the configurations (trainings, or models evaluated when paired)."""
        return self.n.sum(axis=-1)


def _check(values: Any, looks: Any, alpha: float, delta: float, max_seeds: Optional[int]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    if x.ndim < 2 or x.shape[-2] < 2 or x.shape[-1] == 0:
        raise AnalysisError(f"values must have shape (..., configurations ≥ 2, seeds ≥ 1) in seed order (NaN for "
                            f"a missing seed); got shape {x.shape}.")
    if np.isinf(x).any():
        raise AnalysisError("values contain inf; a missing seed is NaN, a result is finite.")
    if looks is None:
        raise AnalysisError("looks are required: the seed counts at which the race looked (the wave ends).")
    lk = check_looks(looks, x.shape[-1])
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must lie in (0, 1), got {alpha!r}.")
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta >= 0):
        raise AnalysisError(f"delta must be a number ≥ 0 in the metric's units, got {delta!r}.")
    if max_seeds is not None and max_seeds < 1:
        raise AnalysisError(f"max_seeds must be ≥ 1, got {max_seeds!r}.")
    return x, lk


def race(values: Any, *, looks: Sequence[int], alpha: float = 0.05, delta: float = 0.0, paired: bool = False,
         max_seeds: Optional[int] = None, higher_is_better: bool = True, phi: float = DEFAULT_PHI) -> Race:
    """Replay a race over ``looks`` (see the module docstring for the rules and the guarantee).

    ``values``: shape (..., K, N), configuration k's result for seed s at [..., k, s] (NaN for a
    missing seed or one never run: a dropped configuration's later seeds are ignored). ``looks``:
    the seed counts at the wave ends. ``paired``: per-seed differences (evaluation-only axes: one
    model per seed); otherwise two independent samples. ``max_seeds``: the cap, ``undecided``
    when a look reaches it undecided (default: never).
    """
    x, lk = _check(values, looks, alpha, delta, max_seeds)
    sign = 1.0 if higher_is_better else -1.0
    x = sign * x
    k = x.shape[-2]
    first, second = np.triu_indices(k, 1)
    alpha_pair = alpha / first.size
    cs = confidence_sequence(x[..., first, :], x[..., second, :], alpha=alpha_pair, paired=paired, looks=lk, phi=phi)
    state = _State.start(x.shape[:-2], k)
    for t in range(lk.size):
        lower = np.full((*x.shape[:-2], k, k), -np.inf)  # lower[..., w, l]: lower bound of μ_w − μ_l at this look
        lower[..., first, second] = cs.low[..., t]
        lower[..., second, first] = -cs.high[..., t]
        state.look(t, lower, delta, lk[t] >= max_seeds if max_seeds is not None else False)
    return _result(x, sign, lk, state, alpha=alpha, alpha_pair=alpha_pair, delta=delta, paired=paired, phi=phi,
                   higher_is_better=higher_is_better)


@dataclass(kw_only=True)
class _State:
    """What the replay carries from look to look (mutable; private to :func:`race`)."""

    alive: np.ndarray
    running: np.ndarray
    last: np.ndarray        # (..., K) index of the configuration's last look
    lower: np.ndarray       # (..., K, K) frozen lower bounds of μ_w − μ_l
    dropped_at: np.ndarray
    dropped_by: np.ndarray
    stopped_at: np.ndarray
    verdict: np.ndarray

    @classmethod
    def start(cls, batch: tuple[int, ...], k: int) -> "_State":
        return cls(alive=np.ones((*batch, k), bool), running=np.ones(batch, bool), last=np.zeros((*batch, k), int),
                   lower=np.full((*batch, k, k), -np.inf), dropped_at=np.full((*batch, k), -1),
                   dropped_by=np.full((*batch, k), -1), stopped_at=np.zeros(batch, int),
                   verdict=np.zeros(batch, np.int8))

    def look(self, t: int, lower: np.ndarray, delta: float, at_cap: bool) -> None:
        """Apply the drop rule, then the stop rule, to the races still running at look ``t``."""
        live = self.alive & self.running[..., None]
        both = live[..., :, None] & live[..., None, :]
        self.lower = np.where(both, lower, self.lower)
        self.last = np.where(live, t, self.last)
        self.stopped_at = np.where(self.running, t, self.stopped_at)
        beats = np.where(both, lower, -np.inf)  # [..., w, l]
        best_by = np.argmax(beats, axis=-2)
        lost = live & (np.max(beats, axis=-2) > delta)
        self.dropped_at = np.where(lost, t, self.dropped_at)
        self.dropped_by = np.where(lost, best_by, self.dropped_by)
        self.alive = self.alive & ~lost
        survivors = self.alive & self.running[..., None]
        pairs = survivors[..., :, None] & survivors[..., None, :]
        off = ~np.eye(lower.shape[-1], dtype=bool)
        inside = (lower > -delta) | ~(pairs & off)  # lower bound of μ_w − μ_l > −δ both ways: inside (−δ, δ)
        one = survivors.sum(axis=-1) == 1
        equivalent = ~one & (delta > 0) & inside.all(axis=(-2, -1))
        verdict = np.where(one, 1, np.where(equivalent, 2, 3 if at_cap else 0))
        self.verdict = np.where(self.running, verdict, self.verdict).astype(np.int8)
        self.running = self.running & (verdict == 0)


def _result(x: np.ndarray, sign: float, lk: np.ndarray, state: _State, **settings: Any) -> Race:
    """The :class:`Race` in the metric's own orientation (sign undone), from the replay's state."""
    n = lk[state.last]
    seeds = np.arange(x.shape[-1])
    given = seeds < n[..., None]
    ok = given & np.isfinite(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sign * np.where(ok, x, 0.0).sum(axis=-1) / ok.sum(axis=-1)
    lower = state.lower
    upper = -np.swapaxes(lower, -1, -2)  # upper bound of μ_i − μ_j = −(lower bound of μ_j − μ_i)
    diag = np.eye(x.shape[-2], dtype=bool)
    low, high = (lower, upper) if sign > 0 else (-upper, -lower)
    return Race(looks=lk, n=n, mean=mean, low=np.where(diag, np.nan, low), high=np.where(diag, np.nan, high),
                alive=state.alive, dropped_at=state.dropped_at, dropped_by=state.dropped_by,
                stopped_at=state.stopped_at, verdict=state.verdict, **settings)
