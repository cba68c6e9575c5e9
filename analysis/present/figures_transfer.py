"""The transfer figure: per target, the pretraining recipes' fine-tuned top-1 side by side, each
point a fine-tuning coloured by its pretrained model, each model's mean a short bar
(:func:`plot_transfer`). Reads the table only; the statistics live in :mod:`analysis.groups.transfer`."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..contract import PRETRAIN_RECIPE, PRETRAIN_TRIAL, TERMINATED
from ..groups.frames import StatusSpec, split_usable
from ..groups.transfer import recipes, transfer_rows
from .style import COLORS, STYLE, excluded_note, metric_label

#: Width of a recipe's strip; each pretrained model gets its own slot within it.
_STRIP = 0.7


def plot_transfer(df: pd.DataFrame, metric: str = "top1", *, status: StatusSpec = TERMINATED,
                  title: str | None = None) -> Figure:
    """One panel per target (``dataset``): for each pretraining recipe, its fine-tunings as points,
    grouped and coloured by pretrained model (the n-th model of each recipe shares the n-th
    colour), each model's mean as a bar and the recipe's mean over all fine-tunings as a black
    line. Each panel has its own y range: the targets' accuracies differ by far more than the
    seeds."""
    with matplotlib.rc_context(STYLE):
        usable, _ = transfer_rows(df, metric, status)
        _, excluded = split_usable(df, metric, status)
        targets = sorted(usable["dataset"].unique())
        cols = min(3, max(1, len(targets)))
        nrows = max(1, math.ceil(len(targets) / cols))
        fig = Figure(figsize=(3.6 * cols, 3.0 * nrows), layout="constrained")
        axes = fig.subplots(nrows, cols, squeeze=False).ravel()
        names = recipes(usable)
        for ax, target in zip(axes, targets):
            _panel(ax, usable[usable["dataset"] == target], names, metric)
            ax.set_title(str(target))
        for ax in axes[len(targets):]:
            ax.set_visible(False)
        fig.supylabel(metric_label(metric), fontsize=10)
        fig.suptitle(title or "Fine-tuned top-1 per target: points = fine-tuning seeds, colour = pretrained model",
                     fontsize=10)
        excluded_note(fig, excluded)
        return fig


def _panel(ax: Any, t: pd.DataFrame, names: list[str], metric: str) -> None:
    rng = np.random.default_rng(0)  # jitter only; fixed so that the figure is reproducible
    for i, recipe in enumerate(names):
        g = t[t[PRETRAIN_RECIPE] == recipe]
        if not len(g):
            continue
        models = sorted(g[PRETRAIN_TRIAL].unique())
        slot = _STRIP / max(1, len(models))
        for j, m in enumerate(models):
            y = g.loc[g[PRETRAIN_TRIAL] == m, metric].to_numpy(dtype=float)
            x0 = i - _STRIP / 2 + slot * (j + 0.5)
            ax.scatter(x0 + rng.uniform(-0.25, 0.25, len(y)) * slot, y, s=14, color=COLORS[j % len(COLORS)],
                       alpha=0.8, linewidths=0, zorder=3)
            ax.hlines(y.mean(), x0 - 0.4 * slot, x0 + 0.4 * slot, color=COLORS[j % len(COLORS)], lw=2, zorder=4)
        ax.hlines(g[metric].mean(), i - _STRIP / 2, i + _STRIP / 2, color="black", lw=1, zorder=5)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlim(-0.6, len(names) - 0.4)
