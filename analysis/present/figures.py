"""Figures for a paper: seed distribution (the RSB paper's Figure 2), grids, sweeps, expected
best-of-n and training curves.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, no GUI backend: saving renders with Agg), so it works in scripts, tests and notebooks alike; save it with
:func:`save_figure` (PNG and PDF).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from ..errors import AnalysisError, require_columns
from ..groups.frames import (
    By,
    StatusSpec,
    as_list,
    describe_exclusions,
    group_keys,
    grouped,
    lookup,
    split_usable,
)
from ..text.formatting import fmt_p, fmt_value, label
from ..load.io import config_columns
from ..stats.gaussian import expected_max

_STYLE = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6,
}
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22"]

_METRIC_LABELS = {"top1": "top-1 accuracy (%)", "top5": "top-5 accuracy (%)",
                  "top1_real": "ReaL top-1 (%)", "top1_v2": "V2 top-1 (%)",
                  "eval_loss": "validation loss"}


def _metric_label(metric: str) -> str:
    return _METRIC_LABELS.get(metric, metric)


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 200) -> list[Path]:
    """Write ``fig`` as ``<path>.png`` and ``<path>.pdf`` (any suffix of ``path`` is replaced)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in (".png", ".pdf"):
        target = p.with_suffix(ext)
        fig.savefig(target, dpi=dpi, bbox_inches="tight")
        out.append(target)
    return out


def _usable_groups(df, metric, bys, status):
    usable, excluded = split_usable(df, metric, status)
    if usable.empty:
        raise AnalysisError(f"no usable trials (status {status}, finite {metric}) to plot.")
    ug = grouped(usable, bys)
    keys = [k for k in group_keys(df, bys) if len(lookup(ug, k, usable))]
    return usable, excluded, [(k, lookup(ug, k, usable)) for k in keys]


def _excluded_note(fig: Figure, excluded: pd.DataFrame) -> None:
    if len(excluded):
        # below everything: save_figure's bbox_inches="tight" grows the image to include it
        fig.text(0.01, -0.01, f"excluded trials: {describe_exclusions(excluded['reason'])}",
                 fontsize=7.5, color="0.35", ha="left", va="top")


def plot_seed_distribution(
    df: pd.DataFrame,
    metric: str = "top1",
    by: By = None,
    *,
    status: StatusSpec = "TERMINATED",
    qq: bool = True,
    bins: int | str = "auto",
    title: str | None = None,
) -> Figure:
    """The paper's Figure 2: histogram of the seeds with the fitted Gaussian.

    The Gaussian (mean, std ddof=1) is scaled to the histogram (pdf × n × bin width); solid
    and dashed lines mark the mean and ±1σ; the legend gives N, μ, σ and the Shapiro-Wilk p.
    One colour per group of ``by``. ``qq`` adds a normal Q-Q panel (standardised when grouped).
    """
    with matplotlib.rc_context(_STYLE):
        bys = as_list(by)
        require_columns(df, bys, "plot_seed_distribution(by=...)")
        _, excluded, groups = _usable_groups(df, metric, bys, status)
        allx = np.concatenate([g[metric].to_numpy(dtype=float) for _, g in groups])
        if np.ptp(allx) == 0:
            edges = np.array([allx[0] - 0.05, allx[0] + 0.05])
        else:
            edges = np.histogram_bin_edges(allx, bins=bins)
        width = edges[1] - edges[0]
        fig = Figure(figsize=(10, 4.4) if qq else (6.8, 4.4), layout="constrained")
        if qq:
            ax, axq = fig.subplots(1, 2, width_ratios=[2.1, 1])
        else:
            ax, axq = fig.subplots(), None
        multi = len(groups) > 1
        pad = 0.15 * (edges[-1] - edges[0]) + width
        xs = np.linspace(edges[0] - pad, edges[-1] + pad, 400)
        handles = []
        vlines: list[tuple[float, str, str, float]] = []
        peak = 0.0
        for i, (key, g) in enumerate(groups):
            c = _COLORS[i % len(_COLORS)]
            x = g[metric].to_numpy(dtype=float)
            n = len(x)
            m = x.mean()
            s = x.std(ddof=1) if n > 1 else float("nan")
            if multi:
                ax.hist(x, bins=edges, color=c, alpha=0.22, zorder=2)
                ax.hist(x, bins=edges, color=c, histtype="step", linewidth=1.4, zorder=2)
            else:
                ax.hist(x, bins=edges, color=c, alpha=0.55, edgecolor="white", linewidth=0.6,
                        zorder=2)
            name = label(bys, key) + ": " if multi else ""
            if n >= 3 and np.ptp(x) > 0:
                sp = stats.shapiro(x).pvalue
                ptxt = f", Shapiro p={fmt_p(sp)}"
            else:
                ptxt = ""
            counts, _ = np.histogram(x, bins=edges)
            if n > 1 and s > 0:
                curve = stats.norm.pdf(xs, m, s) * n * width
                ax.plot(xs, curve, color=c, lw=2.2, zorder=3)
                vlines.append((m, c, "-", 1.6))
                vlines += [(m - s, c, "--", 1.1), (m + s, c, "--", 1.1)]
                peak = max(peak, curve.max())
            else:
                vlines.append((m, c, "-", 1.6))
            peak = max(peak, counts.max())
            stxt = f"{s:.2f}" if np.isfinite(s) else "n/a"
            handles.append(Line2D([], [], color=c, lw=6, alpha=0.6,
                                  label=f"{name}N={n}, μ={m:.2f}, σ={stxt}{ptxt}"))
            if axq is not None and n >= 3 and np.ptp(x) > 0:
                if multi:
                    z = (x - m) / s
                    (osm, osr), _ = stats.probplot(z, dist="norm")
                    axq.plot(osm, osr, "o", ms=3.5, color=c, alpha=0.75)
                else:
                    (osm, osr), (slope, icpt, _) = stats.probplot(x, dist="norm")
                    axq.plot(osm, osr, "o", ms=3.5, color=c, alpha=0.75)
                    axq.plot(osm, slope * osm + icpt, color="0.2", lw=1.2)
        for v, c, ls, lw in vlines:  # stop below the legend
            ax.vlines(v, 0, peak * 1.08, colors=c, linestyles=ls, lw=lw, zorder=3)
        style = [Line2D([], [], color="0.2", lw=2.2, label="fitted Gaussian"),
                 Line2D([], [], color="0.2", lw=0, marker="|", ms=13, mew=1.6, label="mean"),
                 Line2D([], [], color="0.2", ls="--", lw=1.1, label="±1σ")]
        ax.legend(handles=handles + style, loc="upper left", frameon=True, framealpha=0.95,
                  ncols=1)
        ax.set_ylim(0, peak * (1.3 + 0.12 * len(handles)))
        ax.set_xlabel(_metric_label(metric))
        ax.set_ylabel("number of seeds")
        ax.set_title(title or f"{_metric_label(metric)[:1].upper()}{_metric_label(metric)[1:]} "
                              "over seeds")
        if axq is not None:
            lim = 2.7
            if multi:
                axq.plot([-lim, lim], [-lim, lim], color="0.2", lw=1.2)
                axq.set_ylabel("standardised value")
            else:
                axq.set_ylabel(_metric_label(metric))
            axq.set_xlabel("theoretical N(0, 1) quantile")
            axq.set_title("Normal Q-Q")
        _excluded_note(fig, excluded)
        return fig


def plot_grid(
    df: pd.DataFrame,
    x: str,
    y: str,
    metric: str = "top1",
    *,
    facet: By = None,
    status: StatusSpec = "TERMINATED",
    digits: int = 2,
) -> Figure:
    """Heat map of the mean (± std over seeds) of ``metric`` per (x, y) cell, Table-6 style.

    ``facet`` columns make one panel per value; by default every other configuration column
    that varies (e.g. loss and repeated augmentation for an LR × WD map).
    """
    with matplotlib.rc_context({**_STYLE, "axes.grid": False}):
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
            mean = np.full((len(ys), len(xs)), np.nan)
            text = [["" for _ in xs] for _ in ys]
            for r in part.itertuples(index=False):
                i, j = ys.index(getattr(r, y)), xs.index(getattr(r, x))
                mean[i, j] = r.mean
                sd = f"\n±{r.std:.{digits}f}" if r.count > 1 and np.isfinite(r.std) else ""
                text[i][j] = f"{r.mean:.{digits}f}{sd}"
            im = ax.imshow(mean, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto",
                           origin="lower")
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
            if facets:
                ax.set_title(label(facets, key))
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.colorbar(im, ax=list(axes[:len(panels)]), label=f"mean {_metric_label(metric)}",
                     shrink=0.9)
        _excluded_note(fig, excluded)
        return fig


def plot_vs(
    df: pd.DataFrame,
    x: str = "crop_pct",
    metric: str | Sequence[str] = "top1",
    *,
    by: By = None,
    status: StatusSpec = "TERMINATED",
) -> Figure:
    """Mean ± std (error bars) and the min–max band of ``metric`` against a swept value.

    One line per metric (evaluation set) and per group of ``by``; a text ``x`` (recipe, loss)
    is drawn at evenly spaced positions in sorted order.
    """
    with matplotlib.rc_context(_STYLE):
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
                c = _COLORS[i % len(_COLORS)]
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
            ax.set_ylabel(_metric_label(m))
        handles, labels = axes[0].get_legend_handles_labels()
        handles.append(Patch(color="0.5", alpha=0.2, label="min–max"))
        axes[0].legend(handles=handles, loc="best")
        _excluded_note(fig, all_excluded[0])
        return fig


def plot_expected_max(
    df: pd.DataFrame, metric: str = "top1", *, by: By = None, status: StatusSpec = "TERMINATED"
) -> Figure:
    """Expected best of n distinct seeds (± its std) against n, one curve per group (unbiased,
    without replacement; Dodge et al. 2019 draw with replacement)."""
    with matplotlib.rc_context(_STYLE):
        bys = as_list(by)
        _, excluded, groups = _usable_groups(df, metric, bys, status)
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig.subplots()
        nmax = 1
        for i, (key, g) in enumerate(groups):
            c = _COLORS[i % len(_COLORS)]
            e = expected_max(g[metric].to_numpy(dtype=float))
            nmax = max(nmax, int(e["n"].max()))
            ax.plot(e["n"], e["expected_max"], color=c, lw=2,
                    label=label(bys, key) if bys else "expected max")
            ax.fill_between(e["n"], e["expected_max"] - e["std"], e["expected_max"] + e["std"],
                            color=c, alpha=0.18, lw=0)
        if nmax > 20:
            ax.set_xscale("log")
        ax.set_xlabel("n (distinct seeds trained, best one kept)")
        ax.set_ylabel(f"expected best {_metric_label(metric)}")
        ax.set_title("Expected best-of-n (± std)")
        ax.legend(loc="lower right")
        _excluded_note(fig, excluded)
        return fig


def plot_history(
    history: pd.DataFrame,
    metric: str = "top1",
    *,
    results: pd.DataFrame | None = None,
    by: By = None,
) -> Figure:
    """Per-epoch ``metric``: mean over trials with a ± std band (one band per group of ``by``,
    taken from ``results`` joined on trial_id)."""
    with matplotlib.rc_context(_STYLE):
        require_columns(history, ["trial_id", "epoch", metric], "plot_history")
        bys = as_list(by)
        h = history
        if bys:
            if results is None:
                raise AnalysisError("plot_history(by=...) needs results= to look up the groups.")
            require_columns(results, ["trial_id", *bys], "plot_history(by=...)")
            # history's own per-epoch columns (e.g. the scheduled lr) give way to the config's
            h = history.drop(columns=[c for c in bys if c in history.columns and c != metric])
            h = h.merge(results[["trial_id", *bys]], on="trial_id", how="left")
        h = h[np.isfinite(pd.to_numeric(h[metric], errors="coerce"))]
        if h.empty:
            raise AnalysisError(f"plot_history: no finite {metric} values.")
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig.subplots()
        for i, (key, g) in enumerate(grouped(h, bys).items()):
            c = _COLORS[i % len(_COLORS)]
            agg = g.groupby("epoch")[metric].agg(["mean", "std", "count"]).sort_index()
            ep = agg.index.to_numpy(dtype=float)
            sd = agg["std"].fillna(0)
            n = g["trial_id"].nunique()
            ax.plot(ep, agg["mean"], color=c, lw=1.8,
                    label=(label(bys, key) + f" ({n} trials)") if bys else f"mean of {n} trials")
            ax.fill_between(ep, agg["mean"] - sd, agg["mean"] + sd, color=c, alpha=0.2, lw=0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_metric_label(metric))
        ax.set_title(f"{_metric_label(metric)} per epoch (mean ± std over trials)")
        ax.legend(loc="lower right")
        return fig
