"""The figures' shared look: matplotlib rc settings, the colour cycle, metric axis labels and the
note of excluded trials under a figure. Public so that every figure module draws the same way."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ..groups.frames import describe_exclusions

STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6,
}


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22"]


METRIC_LABELS = {"top1": "top-1 accuracy (%)", "top5": "top-5 accuracy (%)",
                  "top1_real": "ReaL top-1 (%)", "top1_v2": "V2 top-1 (%)",
                  "eval_loss": "validation loss"}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def excluded_note(fig: Figure, excluded: pd.DataFrame) -> None:
    if len(excluded):
        # below everything: save_figure's bbox_inches="tight" grows the image to include it
        fig.text(0.01, -0.01, f"excluded trials: {describe_exclusions(excluded['reason'])}",
                 fontsize=7.5, color="0.35", ha="left", va="top")
