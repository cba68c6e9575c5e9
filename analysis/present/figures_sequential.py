"""The stopping path of an anytime-valid A/B comparison (:func:`plot_stopping_path`): the
confidence sequence of A − B at each look, 0 and ±δ marked, the verdict annotated."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import AnalysisError
from ..text.verdicts import verdict_sentence
from .style import STYLE, metric_label


def plot_stopping_path(path: pd.DataFrame, *, name_a: str = "A", name_b: str = "B",
                       metric: str = "top1") -> Figure:
    """The "stopping path": the confidence sequence of A − B against seeds, 0 and ±δ marked,
    the verdict annotated at the last look. ``path`` is :func:`sequential_compare`'s result."""
    need = {"n", "diff", "cs_low", "cs_high", "decision"}
    if not need <= set(path.columns) or path.empty:
        raise AnalysisError(
            f"plot_stopping_path needs the non-empty result of sequential_compare (columns "
            f"{sorted(need)}); got columns {list(path.columns)}."
        )
    delta = float(path.attrs.get("delta", 0.0))
    alpha = float(path.attrs.get("alpha", 0.05))
    n = path["n"].to_numpy(dtype=float)
    lo = path["cs_low"].to_numpy(dtype=float)
    hi = path["cs_high"].to_numpy(dtype=float)
    diff = path["diff"].to_numpy(dtype=float)
    finite = np.isfinite(lo) & np.isfinite(hi)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.subplots()
        ax.axhline(0, color="0.15", lw=1.2, label="no difference")
        if delta > 0:
            ax.axhspan(-delta, delta, color="#2ca02c", alpha=0.08, lw=0)
            ax.axhline(delta, color="#2ca02c", lw=1, ls="--", label=f"±δ = ±{delta:g}")
            ax.axhline(-delta, color="#2ca02c", lw=1, ls="--")
        if finite.any():
            ax.fill_between(n, np.where(finite, lo, np.nan), np.where(finite, hi, np.nan),
                            color="#1f77b4", alpha=0.15, lw=0)
            ax.vlines(n[finite], lo[finite], hi[finite], color="#1f77b4", lw=2.5, alpha=0.6,
                      label=f"{100 * (1 - alpha):g}% confidence sequence at each look")
        ax.plot(n, diff, color="#1f77b4", lw=1.5, marker="o", ms=3, label="mean difference")
        if not finite.all():
            ax.plot(n[~finite], np.nan_to_num(diff[~finite]), ls="none", marker="^", color="0.5",
                    ms=5, label="interval unbounded")
        # y-range from the later looks' intervals, 0 and ±δ: the first bounded intervals are
        # wide and would flatten the part where the decision is made (they run off the axes)
        late = finite & (np.arange(n.size) >= min(n.size // 2, max(n.size - 3, 0)))
        vals = np.concatenate([lo[late], hi[late], diff[np.isfinite(diff)], [0.0],
                               [delta, -delta] if delta > 0 else []])
        span = np.ptp(vals) if np.ptp(vals) > 0 else 1.0
        ax.set_ylim(vals.min() - 0.15 * span, vals.max() + 0.15 * span)
        ax.set_xlim(0, max(n.max() + 1, 2))
        ax.set_xlabel("seeds per arm")
        ax.set_ylabel(f"{metric_label(metric)}: {name_a} − {name_b}")
        ax.set_title("Stopping path")
        text = verdict_sentence(path, name_a=name_a, name_b=name_b, metric=metric).split(" (")[0]
        ax.annotate(text, xy=(n[-1], diff[-1] if np.isfinite(diff[-1]) else 0.0),
                    xytext=(-8, 12), textcoords="offset points", ha="right", fontsize=9,
                    arrowprops=dict(arrowstyle="-", color="0.4", lw=0.8))
        fig.legend(loc="outside lower center", ncols=3, fontsize=8)
        return fig
