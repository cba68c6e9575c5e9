"""Studentized permutation tests of two independent samples: Welch's t (Janssen 1997) and the
Brunner-Munzel statistic (Neubert & Brunner 2007), vectorised over many pairs at once.

A permutation test of a *studentized* statistic is exact when the two arms are exchangeable
(equal distributions) and asymptotically right when they only share the null of the statistic
(equal means for Welch, P(A>B) = ½ for Brunner-Munzel) with unequal spreads, where a
permutation test of a raw statistic (or Mann-Whitney) is not. The Monte-Carlo p-value
(1 + #{|T*| ≥ |T|}) / (B + 1) is exactly valid under exchangeability for any B (the observed
split counts as one of the B + 1). Which one decides a comparison, and the small-sample rule
around it, is :mod:`analysis.stats.rank`'s, measured by ``benchmarks/stats_calibration.py``.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
from scipy import stats

#: Enumerate every split of the pooled seeds when there are at most this many.
MAX_SPLITS = 20_000
#: Random splits (besides the observed one) above :data:`MAX_SPLITS`.
N_PERMUTATIONS = 9_999
#: Array cells (rows × splits × seeds) handled at once: bounds the memory to ~100 MB.
_CELLS = 3_000_000
#: The studentized statistics, by name.
STATISTICS = ("welch", "brunner_munzel")


def welch_statistic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch's t of ``a`` against ``b`` along the last axis (0 where both spreads are 0 and the
    means equal, ±inf where only the spreads are 0)."""
    na, nb = a.shape[-1], b.shape[-1]
    se2 = a.var(axis=-1, ddof=1) / na + b.var(axis=-1, ddof=1) / nb
    diff = a.mean(axis=-1) - b.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / np.sqrt(se2)
    return np.where(np.isnan(t), 0.0, t)


def brunner_munzel_statistic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Brunner-Munzel statistic along the last axis (scipy.stats.brunnermunzel's, sign
    so that positive means A tends to be larger; 0 where its variance estimate is 0 and
    P̂ = ½, ±inf where only the variance is 0)."""
    na, nb = a.shape[-1], b.shape[-1]
    both = np.concatenate([a, b], axis=-1)
    r = stats.rankdata(both, axis=-1)
    ra, rb = r[..., :na], r[..., na:]
    ia, ib = stats.rankdata(a, axis=-1), stats.rankdata(b, axis=-1)
    ma, mb = ra.mean(axis=-1), rb.mean(axis=-1)
    sa = ((ra - ia - ma[..., None] + (na + 1) / 2) ** 2).sum(axis=-1) / (na - 1)
    sb = ((rb - ib - mb[..., None] + (nb + 1) / 2) ** 2).sum(axis=-1) / (nb - 1)
    n = na + nb
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ma - mb) / (n * np.sqrt(sa / (na * nb ** 2) + sb / (nb * na ** 2)))
    return np.where(np.isnan(t), 0.0, t)


def _statistic(name: str):
    if name == "welch":
        return welch_statistic
    if name == "brunner_munzel":
        return brunner_munzel_statistic
    raise ValueError(f"statistic must be one of {STATISTICS}, not {name!r}")


def splits(n_a: int, n_b: int, n_permutations: int = N_PERMUTATIONS,
           rng: np.random.Generator | None = None) -> tuple[np.ndarray, bool]:
    """Index arrays (S × (n_a + n_b)) of relabellings of the pooled seeds, the first n_a taken
    as A: every split (the observed one included) when there are at most :data:`MAX_SPLITS`
    (``True``), else the observed one followed by ``n_permutations`` random ones (``False``)."""
    n = n_a + n_b
    if math.comb(n, n_a) <= MAX_SPLITS:
        rows = []
        for idx in itertools.combinations(range(n), n_a):
            mask = np.zeros(n, bool)
            mask[list(idx)] = True
            rows.append(np.r_[np.flatnonzero(mask), np.flatnonzero(~mask)])
        return np.array(rows), True
    rng = rng if rng is not None else np.random.default_rng(0)
    perm = rng.permuted(np.broadcast_to(np.arange(n), (n_permutations, n)), axis=1)
    return np.vstack([np.arange(n)[None], perm]), False


def permutation_p(pooled: np.ndarray, n_a: int, idx: np.ndarray, statistic: str = "welch") -> np.ndarray:
    """Two-sided studentized permutation p of each row of ``pooled`` ((R × N): A's n_a seeds
    first, then B's) over the splits ``idx`` (:func:`splits`; its first row the observed one):
    the share of splits with |T*| ≥ |T| (the observed included), with a relative tolerance
    of 1e-9 for ties of the statistic."""
    pooled = np.atleast_2d(np.asarray(pooled, dtype=float))
    n = pooled.shape[1]
    obs = np.abs(_stat_splits(pooled, n_a, idx[:1], statistic))[:, 0]
    hits = np.zeros(len(pooled))
    rows = max(1, _CELLS // idx.size)                 # rows a block when every split fits
    cols = max(1, _CELLS // n) if rows == 1 else len(idx)   # else splits a block, one row at a time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r0 in range(0, len(pooled), rows):
            for c0 in range(0, len(idx), cols):
                t = np.abs(_stat_splits(pooled[r0:r0 + rows], n_a, idx[c0:c0 + cols], statistic))
                hits[r0:r0 + rows] += np.sum(t >= obs[r0:r0 + rows, None] * (1 - 1e-9), axis=1)
    return hits / len(idx)


def _stat_splits(rows: np.ndarray, n_a: int, idx: np.ndarray, statistic: str) -> np.ndarray:
    """The statistic of every split in ``idx`` of every row: (rows × splits)."""
    if statistic == "brunner_munzel":
        return _bm_splits(rows, n_a, idx)
    x = rows[:, idx]
    return _statistic(statistic)(x[..., :n_a], x[..., n_a:])


def _bm_splits(rows: np.ndarray, n_a: int, idx: np.ndarray) -> np.ndarray:
    """:func:`brunner_munzel_statistic` of every split of every row, without sorting per split.

    The pooled midranks do not change under relabelling; each seed's midrank within its own
    arm follows from the count of its arm's seeds before and inside its tie group in the
    pooled order (cumulative sums of the split's labels in that order).
    """
    r, n = rows.shape
    n_b = n - n_a
    order = np.argsort(rows, axis=1, kind="stable")
    v = np.take_along_axis(rows, order, axis=1)
    new = np.ones((r, n), bool)
    new[:, 1:] = v[:, 1:] != v[:, :-1]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0), axis=1)       # tie group's first
    ends = np.ones((r, n), bool)
    ends[:, :-1] = v[:, :-1] != v[:, 1:]
    last = np.minimum.accumulate(np.where(ends, np.arange(n), n)[:, ::-1], axis=1)[:, ::-1]   # its last
    pooled_rank = (start + last) / 2 + 1                                          # (r, N)
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(n)[None].repeat(r, 0), axis=1)       # sorted position
    lab = np.zeros((r, len(idx), n), bool)
    a_pos = np.take_along_axis(pos[:, None, :].repeat(len(idx), 1), idx[None, :, :n_a].repeat(r, 0), axis=2)
    np.put_along_axis(lab, a_pos, True, axis=2)                                   # (r, S, N): in A
    ca = np.concatenate([np.zeros((r, len(idx), 1)), np.cumsum(lab, axis=2)], axis=2)
    st, la = start[:, None, :], last[:, None, :]
    a_before = np.take_along_axis(ca, st.repeat(len(idx), 1), axis=2)
    a_in = np.take_along_axis(ca, (la + 1).repeat(len(idx), 1), axis=2) - a_before
    b_before, b_in = st - a_before, (la - st + 1) - a_in
    own = np.where(lab, a_before + (a_in + 1) / 2, b_before + (b_in + 1) / 2)      # within-arm midrank
    pr = pooled_rank[:, None, :]
    ma = (pr * lab).sum(axis=2) / n_a
    mb = (pr * ~lab).sum(axis=2) / n_b
    dev = pr - own
    sa = (((dev - ma[..., None] + (n_a + 1) / 2) ** 2) * lab).sum(axis=2) / (n_a - 1)
    sb = (((dev - mb[..., None] + (n_b + 1) / 2) ** 2) * ~lab).sum(axis=2) / (n_b - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ma - mb) / (n * np.sqrt(sa / (n_a * n_b ** 2) + sb / (n_b * n_a ** 2)))
    return np.where(np.isnan(t), 0.0, t)


def permutation_test(a: np.ndarray, b: np.ndarray, statistic: str = "welch",
                     n_permutations: int = N_PERMUTATIONS,
                     random_state: int | None = 0) -> tuple[float, str]:
    """Two-sided studentized permutation test of ``a`` against ``b``: (p, how it was computed)."""
    idx, every = splits(len(a), len(b), n_permutations, np.random.default_rng(random_state))
    p = float(permutation_p(np.r_[a, b][None], len(a), idx, statistic)[0])
    how = f"all {len(idx):,} splits" if every else f"{n_permutations:,} random splits"
    return p, how


def smallest_permutation_p(n_a: int, n_b: int, n_permutations: int = N_PERMUTATIONS) -> float:
    """The smallest p :func:`permutation_test` can give: 1 / #splits (2 / #splits with equal
    arms, where swapping the labels gives the same |T|), 1 / (B + 1) with random splits."""
    total = math.comb(n_a + n_b, n_a)
    if total > MAX_SPLITS:
        return 1 / (n_permutations + 1)
    return min(1.0, (2 if n_a == n_b else 1) / total)
