"""Figures over configurations: the Table-6 heat map of a grid (:func:`plot_grid`) and a metric
against one swept value (:func:`plot_vs`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..contract import TERMINATED
from ..errors import AnalysisError, require_columns
from ..groups.frames import By, StatusSpec, as_list, group_keys, grouped, split_usable
from ..load.io import config_columns
from ..text.formatting import fmt_value, label
from .style import COLORS, STYLE, excluded_note, metric_label


def plot_grid(
    df: pd.DataFrame,
    x: str,
    y: str,
    metric: str = "top1",
    *,
    facet: By = None,
    status: StatusSpec = TERMINATED,
    digits: int = 2,
) -> Figure:
    """Heat map of the mean (± std over seeds) of ``metric`` per (x, y) cell, Table-6 style.

    ``facet`` columns make one panel per value; by default every other configuration column
    that varies (e.g. loss and repeated augmentation for an LR × WD map).
    """
    with matplotlib.rc_context({**STYLE, "axes.grid": False}):
        require_columns(df, [x, y], "plot_grid")
        facets = as_list(facet) if facet is not None else [
            c for c in config_columns(df) if c not in (x, y)]
        usable, excluded = split_usable(df, metric, status)
        if usable.empty:
            raise AnalysisError(f"plot_grid: no usable trials with a finite {metric}.")
        agg = usable.groupby([*facets, y, x], dropna=False)[metric].agg(["mean", "std", "count"])
        agg = agg.reset_index()
        panels = group_keys(agg, facets)
        xs = sorted(agg[x].unique())
        ys = sorted(agg[y].unique())
        vmin, vmax = agg["mean"].min(), agg["mean"].max()
        if vmin == vmax:
            vmin, vmax = vmin - 0.5, vmax + 0.5
        ncol = min(3, math.ceil(math.sqrt(len(panels))))
        nrow = -(-len(panels) // ncol)
        fig = Figure(figsize=(1.2 + 1.35 * len(xs) * ncol, 0.9 + 0.95 * len(ys) * nrow + 0.5),
                     layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False).ravel())
        im = None
        for ax, key in zip(axes, panels):
            part = agg
            for c, v in zip(facets, key):
                part = part[part[c] == v]
            im = _heat_map(ax, part, x, y, xs, ys, (vmin, vmax), digits)
            if facets:
                ax.set_title(label(facets, key))
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.colorbar(im, ax=list(axes[:len(panels)]), label=f"mean {metric_label(metric)}",
                     shrink=0.9)
        excluded_note(fig, excluded)
        return fig


def _heat_map(ax, part: pd.DataFrame, x: str, y: str, xs: list, ys: list, limits: tuple[float, float],
              digits: int):
    """One panel of :func:`plot_grid`: the cell means of ``part`` coloured on the shared ``limits``,
    each cell written as mean (± std over seeds); returns the image for the colour bar."""
    vmin, vmax = limits
    mean = np.full((len(ys), len(xs)), np.nan)
    text = [["" for _ in xs] for _ in ys]
    for r in part.itertuples(index=False):
        i, j = ys.index(getattr(r, y)), xs.index(getattr(r, x))
        mean[i, j] = r.mean
        sd = f"\n±{r.std:.{digits}f}" if r.count > 1 and np.isfinite(r.std) else ""
        text[i][j] = f"{r.mean:.{digits}f}{sd}"
    im = ax.imshow(mean, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
    for i in range(len(ys)):
        for j in range(len(xs)):
            if text[i][j]:
                dark = (mean[i, j] - vmin) / (vmax - vmin) < 0.55
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8.5,
                        color="white" if dark else "black")
    ax.set_xticks(range(len(xs)), [fmt_value(v) for v in xs])
    ax.set_yticks(range(len(ys)), [fmt_value(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return im


def plot_vs(
    df: pd.DataFrame,
    x: str = "crop_pct",
    metric: str | Sequence[str] = "top1",
    *,
    by: By = None,
    status: StatusSpec = TERMINATED,
) -> Figure:
    """Mean ± std (error bars) and the min–max band of ``metric`` against a swept value.

    One line per metric (evaluation set) and per group of ``by``; a text ``x`` (recipe, loss)
    is drawn at evenly spaced positions in sorted order.
    """
    with matplotlib.rc_context(STYLE):
        metrics = [metric] if isinstance(metric, str) else list(metric)
        bys = as_list(by)
        require_columns(df, [x, *bys], "plot_vs")
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        axes = [fig.subplots()]
        if len(metrics) > 1:
            fig.clear()
            axes = list(np.atleast_1d(fig.subplots(1, len(metrics), sharex=True)))
            fig.set_size_inches(3.6 * len(metrics), 3.8)
        all_excluded = []
        for ax, m in zip(axes, metrics):
            usable, excluded = split_usable(df, m, status)
            all_excluded.append(excluded)
            if usable.empty:
                raise AnalysisError(f"plot_vs: no usable trials with a finite {m}.")
            numeric = pd.api.types.is_numeric_dtype(usable[x])
            names = [] if numeric else sorted(map(str, usable[x].dropna().unique()))
            for i, (key, g) in enumerate(grouped(usable, bys).items()):
                c = COLORS[i % len(COLORS)]
                agg = g.groupby(x)[m].agg(["mean", "std", "min", "max", "count"]).sort_index()
                # a text column (recipe, loss) is drawn at evenly spaced positions, named below
                xv = (agg.index.to_numpy(dtype=float) if numeric else
                      np.array([names.index(str(v)) for v in agg.index], dtype=float))
                ax.fill_between(xv, agg["min"], agg["max"], color=c, alpha=0.15, lw=0)
                ax.errorbar(xv, agg["mean"], yerr=agg["std"].fillna(0), color=c, marker="o",
                            ms=4, capsize=3, lw=1.5, label=label(bys, key) if bys else "mean ± std")
            values = np.sort(pd.to_numeric(usable[x], errors="coerce").dropna().unique())
            if not numeric:
                ax.set_xticks(range(len(names)), names)
            elif 1 < len(values) <= 12:
                ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.set_xlabel(x)
            ax.set_ylabel(metric_label(m))
        handles, labels = axes[0].get_legend_handles_labels()
        handles.append(Patch(color="0.5", alpha=0.2, label="min–max"))
        axes[0].legend(handles=handles, loc="best")
        excluded_note(fig, all_excluded[0])
        return fig
