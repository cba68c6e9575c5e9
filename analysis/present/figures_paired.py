"""The RSB paper's Figure 4 from an evaluations table: a metric against test resolution, the same
trained models at every resolution (:func:`plot_test_res`)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..contract import TERMINATED
from ..errors import AnalysisError, require_columns
from ..groups.frames import By, StatusSpec, as_list, sorted_groups, sorted_unique, split_usable
from ..text.formatting import fmt_value, label
from .style import COLORS, STYLE, excluded_note, metric_label


def plot_test_res(
    evaluations: pd.DataFrame,
    metric: str = "top1",
    by: By = "recipe",
    *,
    status: StatusSpec = TERMINATED,
    title: str | None = None,
) -> Figure:
    """The RSB paper's Figure 4: ``metric`` against test resolution, one panel per ``by`` group.

    A thin line per trial (seed), the mean over trials as a thick line with markers, and the
    trial's training resolution (``train_res``) as a dotted vertical line. The table must hold
    one ``crop_pct`` and one ``eval_set`` (filter it first).
    """
    with matplotlib.rc_context(STYLE):
        bys = as_list(by)
        require_columns(evaluations, ["trial_id", "test_res", metric, *bys], "plot_test_res")
        for col in ("crop_pct", "eval_set"):
            if col in evaluations.columns and evaluations[col].nunique(dropna=False) > 1:
                values = ", ".join(map(fmt_value, sorted_unique(evaluations[col])))
                raise AnalysisError(f"plot_test_res draws one {col} at a time, and the table has {values}; "
                                    f"filter it first, e.g. evaluations[evaluations.{col} == …].")
        usable, excluded = split_usable(evaluations, metric, status)
        if usable.empty:
            raise AnalysisError(f"no usable evaluations (status {status}, finite {metric}) to plot.")
        groups = list(sorted_groups(usable, bys))
        fig = Figure(figsize=(4.2 * len(groups) + 0.6, 4.0), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(groups), sharey=True, squeeze=False)[0])
        for i, ((key, g), ax) in enumerate(zip(groups, axes)):
            c = COLORS[i % len(COLORS)]
            for _, t in g.groupby("trial_id"):
                t = t.sort_values("test_res")
                ax.plot(t["test_res"], t[metric], color=c, lw=0.8, alpha=0.35, zorder=2)
            mean = g.groupby("test_res")[metric].mean().sort_index()
            ax.plot(mean.index, mean.to_numpy(), color=c, lw=2.4, marker="o", ms=5, zorder=3)
            best = mean.idxmax()
            ax.annotate(f"mean peaks at {fmt_value(best)} px", (best, mean.max()), textcoords="offset points", xytext=(0, 8),
                        ha="center", fontsize=8, color=c, bbox=dict(fc="white", ec="none", alpha=0.85, pad=1), zorder=4)
            if "train_res" in g.columns:
                for res in sorted_unique(g["train_res"].dropna()):
                    ax.axvline(res, color="0.3", ls=":", lw=1.3, zorder=1)
            n = g["trial_id"].nunique()
            ax.set_title(f"{label(bys, key) if bys else 'all trials'} (n={n} seeds)")
            ax.set_xlabel("test resolution (px)")
            ax.set_xticks(sorted(g["test_res"].unique()))
        axes[0].set_ylabel(metric_label(metric))
        handles = [Line2D([], [], color="0.3", lw=0.8, alpha=0.6, label="one seed"),
                   Line2D([], [], color="0.3", lw=2.4, marker="o", ms=5, label="mean over seeds")]
        if "train_res" in usable.columns:
            handles.append(Line2D([], [], color="0.3", ls=":", lw=1.3, label="train resolution"))
        axes[-1].legend(handles=handles, loc="lower right", frameon=True, framealpha=0.95)
        if title:
            fig.suptitle(title)
        excluded_note(fig, excluded)
        return fig
