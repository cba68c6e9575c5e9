"""The race figure (:func:`plot_race`): every configuration's confidence sequence against the
leader's, look by look, the dropped ones greyed from the wave they were dropped at."""

from __future__ import annotations

from typing import Any, Mapping

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..errors import AnalysisError
from .style import COLORS, STYLE, metric_label


def race_leader(doc: Mapping[str, Any]) -> int:
    """The configuration the figure measures the others against: the survivor with the best mean."""
    sign = 1.0 if doc.get("higher_is_better", True) else -1.0
    alive = [c for c, entry in enumerate(doc["configurations"]) if entry["alive"]]
    means = {c: doc["configurations"][c]["mean"] for c in alive}
    return max(alive, key=lambda c: sign * (means[c] if means[c] is not None else -np.inf * sign))


def _series(doc: Mapping[str, Any], c: int, leader: int) -> tuple[np.ndarray, ...]:
    """Seeds, mean difference, low and high of μ_c − μ_leader at every look (NaN where unbounded)."""
    looks = doc["looks"]
    n = np.array([look["n"] for look in looks], dtype=float)
    nan = float("nan")
    mean = np.array([(look["mean"][c] if look["mean"][c] is not None else nan)
                     - (look["mean"][leader] if look["mean"][leader] is not None else nan) for look in looks])
    low = np.array([nan if look["low"][c][leader] is None else look["low"][c][leader] for look in looks])
    high = np.array([nan if look["high"][c][leader] is None else look["high"][c][leader] for look in looks])
    return n, mean, low, high


def plot_race(doc: Mapping[str, Any]) -> Figure:
    """race.json's looks: for each configuration, the interval of its mean minus the leader's (the
    best surviving mean) against seeds; ``−δ`` marked (a configuration whose upper bound against
    some other falls below it is dropped); dropped configurations grey from their wave on."""
    if not doc.get("looks"):
        raise AnalysisError("plot_race needs race.json with at least one look (a finished wave).")
    leader = race_leader(doc)
    configs = doc["configurations"]
    delta = float(doc["delta"])
    sign = 1.0 if doc.get("higher_is_better", True) else -1.0
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(7.0, 4.6), layout="constrained")
        ax = fig.subplots()
        ax.axhline(0, color="0.15", lw=1.2, label=f"leader: {configs[leader]['name']}")
        if delta > 0:
            ax.axhline(-sign * delta, color="#2ca02c", lw=1, ls="--", label=f"{'−' if sign > 0 else '+'}δ = {-sign * delta:g}")
        others = [c for c in range(len(configs)) if c != leader]
        unbounded = False
        width = 0.6 / max(len(others), 1)
        for k, c in enumerate(others):
            n, mean, low, high = _series(doc, c, leader)
            x = n + (k - (len(others) - 1) / 2) * width
            drop = configs[c]["dropped_at_wave"]
            live = np.arange(n.size) < (drop if drop is not None else n.size)  # looks before its drop look
            color = COLORS[k % len(COLORS)]
            for part, shade, alpha in ((live, color, 0.8), (~live, "0.6", 0.5)):
                if part.any():
                    bounded = part & np.isfinite(low) & np.isfinite(high)
                    ax.vlines(x[bounded], low[bounded], high[bounded], color=shade, lw=2.5, alpha=alpha)
                    ax.plot(x[part], mean[part], ls="none", marker="o", ms=3.5, color=shade)
            loose = ~(np.isfinite(low) & np.isfinite(high))
            if loose.any():
                ax.plot(x[loose], mean[loose], ls="none", marker="^", ms=6, color="0.45", zorder=3,
                        label=None if unbounded else "interval unbounded yet")
                unbounded = True
            label = configs[c]["name"] + (f" (dropped at wave {drop})" if drop is not None else "")
            ax.plot(x[live], mean[live], color=color, lw=1.2, label=label)
            if drop is not None:
                ax.plot(x[drop - 1:], mean[drop - 1:], color="0.6", lw=1.0, ls=":")
        ax.set_xlabel("seeds per configuration")
        ax.set_ylabel(f"{metric_label(doc.get('metric', 'top1'))}: configuration − leader")
        ax.set_title(f"Race: {doc['verdict']} after {doc['n']} seeds "
                     f"({100 * (1 - float(doc['alpha'])):g}% confidence sequences, pairs at α/{_pairs(len(configs))})")
        ax.set_xlim(0, max(n.max() + 1, 2))
        fig.legend(loc="outside lower center", ncols=2, fontsize=8)
        return fig


def _pairs(k: int) -> int:
    return k * (k - 1) // 2
