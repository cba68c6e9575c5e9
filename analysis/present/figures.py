"""Figures over seeds: the seed distribution (the RSB paper's Figure 2), expected best-of-n and
training curves; :func:`save_figure` for every figure of the package.

Each plotting function of :mod:`analysis.present` returns a :class:`matplotlib.figure.Figure`
built without pyplot (no global state, no GUI backend: saving renders with Agg), so it works in
scripts, tests and notebooks alike; save it with :func:`save_figure` (PNG and PDF). Grids and
sweeps are in :mod:`.figures_grid`, Figure 4 in :mod:`.figures_paired`, the stopping path in
:mod:`.figures_sequential`, the shared look in :mod:`.style`.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from ..contract import TERMINATED
from ..errors import AnalysisError, require_columns
from ..groups.frames import (
    By,
    StatusSpec,
    as_list,
    group_keys,
    grouped,
    lookup,
    split_usable,
)
from ..groups.summaries import expected_max_table, normality
from ..text.formatting import fmt_p, label
from .style import COLORS, STYLE, excluded_note, metric_label


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


def plot_seed_distribution(
    df: pd.DataFrame,
    metric: str = "top1",
    by: By = None,
    *,
    status: StatusSpec = TERMINATED,
    qq: bool = True,
    bins: int | str = "auto",
    title: str | None = None,
    fits: pd.DataFrame | None = None,
) -> Figure:
    """The paper's Figure 2: histogram of the seeds with the fitted Gaussian.

    The Gaussian (mean, std ddof=1) is scaled to the histogram (pdf × n × bin width); solid
    and dashed lines mark the mean and ±1σ; the legend gives N, μ, σ and the Shapiro-Wilk p
    the normality verdict uses (lattice-calibrated when the metric is coarse), from ``fits``
    (:func:`analysis.normality`'s table, computed when None; :func:`seed_distribution_annotations`).
    One colour per group of ``by``. ``qq`` adds a normal Q-Q panel (standardised when grouped).
    """
    with matplotlib.rc_context(STYLE):
        bys = as_list(by)
        require_columns(df, bys, "plot_seed_distribution(by=...)")
        _, excluded, groups = _usable_groups(df, metric, bys, status)
        if fits is None:
            fits = normality(df, by=bys or None, metric=metric, status=status)
        notes = seed_distribution_annotations(fits, bys)
        edges = _bin_edges(np.concatenate([g[metric].to_numpy(dtype=float) for _, g in groups]), bins)
        fig = Figure(figsize=(10, 4.4) if qq else (6.8, 4.4), layout="constrained")
        if qq:
            ax, axq = fig.subplots(1, 2, width_ratios=[2.1, 1])
        else:
            ax, axq = fig.subplots(), None
        multi = len(groups) > 1
        handles, vlines, peak = [], [], 0.0
        for i, (key, g) in enumerate(groups):
            c = COLORS[i % len(COLORS)]
            x = g[metric].to_numpy(dtype=float)
            handle, lines, top = _histogram(ax, x, edges, c, label(bys, key) + ": " if multi else "", multi,
                                            notes.get(label(bys, key), {}))
            handles.append(handle)
            vlines += lines
            peak = max(peak, top)
            if axq is not None and len(x) >= 3 and np.ptp(x) > 0:
                _qq_points(axq, x, c, multi)
        _finish_histogram(ax, handles, vlines, peak, metric, title)
        if axq is not None:
            _finish_qq(axq, metric, multi)
        excluded_note(fig, excluded)
        return fig


def _bin_edges(allx: np.ndarray, bins: int | str) -> np.ndarray:
    """Histogram bin edges shared by every group (one 0.1-wide bin when all values are equal)."""
    if np.ptp(allx) == 0:
        return np.array([allx[0] - 0.05, allx[0] + 0.05])
    return np.histogram_bin_edges(allx, bins=bins)


def seed_distribution_annotations(fits: pd.DataFrame, by: list[str]) -> dict[str, dict[str, object]]:
    """What Figure 2's legend says per group, from :func:`analysis.normality`'s table (the
    numbers the normality sentences use): N, μ, σ and the Shapiro-Wilk p of the verdict (the
    lattice-calibrated one when it was computed). report.json keeps it as ``figures.figure2``."""
    out: dict[str, dict[str, object]] = {}
    for _, r in fits.iterrows():
        if not r.get("n", 0):
            continue
        lattice = "shapiro_p_lattice" in r and np.isfinite(r["shapiro_p_lattice"])
        p = r["shapiro_p_lattice"] if lattice else r.get("shapiro_p", np.nan)
        out[label(by, tuple(r[c] for c in by))] = {
            "n": int(r["n"]), "mean": float(r["mean"]), "std": float(r["std"]),
            "test": "lattice-calibrated Shapiro" if lattice else "Shapiro",
            "p": float(p) if np.isfinite(p) else None}
    return out


def _histogram(ax, x: np.ndarray, edges: np.ndarray, c: str, name: str, multi: bool,
               note: dict[str, object]) -> tuple[Line2D, list[tuple[float, str, str, float]], float]:
    """One group's histogram and scaled Gaussian: (legend handle, mean/±1σ lines, highest point)."""
    width = edges[1] - edges[0]
    pad = 0.15 * (edges[-1] - edges[0]) + width
    xs = np.linspace(edges[0] - pad, edges[-1] + pad, 400)
    n = len(x)
    m = x.mean()
    s = x.std(ddof=1) if n > 1 else float("nan")
    if multi:
        ax.hist(x, bins=edges, color=c, alpha=0.22, zorder=2)
        ax.hist(x, bins=edges, color=c, histtype="step", linewidth=1.4, zorder=2)
    else:
        ax.hist(x, bins=edges, color=c, alpha=0.55, edgecolor="white", linewidth=0.6, zorder=2)
    ptxt = f", {note['test']} p={fmt_p(note['p'])}" if note.get("p") is not None else ""
    counts, _ = np.histogram(x, bins=edges)
    lines = [(m, c, "-", 1.6)]
    peak = 0.0
    if n > 1 and s > 0:
        curve = stats.norm.pdf(xs, m, s) * n * width
        ax.plot(xs, curve, color=c, lw=2.2, zorder=3)
        lines += [(m - s, c, "--", 1.1), (m + s, c, "--", 1.1)]
        peak = curve.max()
    stxt = f"{s:.2f}" if np.isfinite(s) else "n/a"
    handle = Line2D([], [], color=c, lw=6, alpha=0.6, label=f"{name}N={n}, μ={m:.2f}, σ={stxt}{ptxt}")
    return handle, lines, max(peak, counts.max())


def _qq_points(axq, x: np.ndarray, c: str, multi: bool) -> None:
    """One group's normal Q-Q points (standardised when several groups share the panel)."""
    if multi:
        (osm, osr), _ = stats.probplot((x - x.mean()) / x.std(ddof=1), dist="norm")
        axq.plot(osm, osr, "o", ms=3.5, color=c, alpha=0.75)
    else:
        (osm, osr), (slope, icpt, _) = stats.probplot(x, dist="norm")
        axq.plot(osm, osr, "o", ms=3.5, color=c, alpha=0.75)
        axq.plot(osm, slope * osm + icpt, color="0.2", lw=1.2)


def _finish_histogram(ax, handles: list, vlines: list, peak: float, metric: str, title: str | None) -> None:
    """Mean and ±1σ lines (stopping below the legend), the legend, limits and labels."""
    for v, c, ls, lw in vlines:
        ax.vlines(v, 0, peak * 1.08, colors=c, linestyles=ls, lw=lw, zorder=3)
    style = [Line2D([], [], color="0.2", lw=2.2, label="fitted Gaussian"),
             Line2D([], [], color="0.2", lw=0, marker="|", ms=13, mew=1.6, label="mean"),
             Line2D([], [], color="0.2", ls="--", lw=1.1, label="±1σ")]
    ax.legend(handles=handles + style, loc="upper left", frameon=True, framealpha=0.95, ncols=1)
    ax.set_ylim(0, peak * (1.3 + 0.12 * len(handles)))
    ax.set_xlabel(metric_label(metric))
    ax.set_ylabel("number of seeds")
    ax.set_title(title or f"{metric_label(metric)[:1].upper()}{metric_label(metric)[1:]} over seeds")


def _finish_qq(axq, metric: str, multi: bool) -> None:
    """The Q-Q panel's diagonal (standardised panel), labels and title."""
    if multi:
        lim = 2.7
        axq.plot([-lim, lim], [-lim, lim], color="0.2", lw=1.2)
        axq.set_ylabel("standardised value")
    else:
        axq.set_ylabel(metric_label(metric))
    axq.set_xlabel("theoretical N(0, 1) quantile")
    axq.set_title("Normal Q-Q")


def plot_expected_max(
    df: pd.DataFrame, metric: str = "top1", *, by: By = None, status: StatusSpec = TERMINATED,
    table: pd.DataFrame | None = None,
) -> Figure:
    """Expected best of n distinct seeds (± its std) against n, one curve per group (unbiased,
    without replacement; Dodge et al. 2019 draw with replacement), from ``table``
    (:func:`analysis.expected_max_table`'s, the numbers the sentences quote; computed when None)."""
    with matplotlib.rc_context(STYLE):
        bys = as_list(by)
        _, excluded, groups = _usable_groups(df, metric, bys, status)
        if table is None:
            table = expected_max_table(df, by=bys or None, metric=metric, status=status)
        curves = grouped(table, bys)
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig.subplots()
        nmax = 1
        for i, (key, _) in enumerate(groups):
            c = COLORS[i % len(COLORS)]
            e = lookup(curves, key, table)
            nmax = max(nmax, int(e["n"].max()))
            ax.plot(e["n"], e["expected_max"], color=c, lw=2,
                    label=label(bys, key) if bys else "expected max")
            ax.fill_between(e["n"], e["expected_max"] - e["std"], e["expected_max"] + e["std"],
                            color=c, alpha=0.18, lw=0)
        if nmax > 20:
            ax.set_xscale("log")
        ax.set_xlabel("n (distinct seeds trained, best one kept)")
        ax.set_ylabel(f"expected best {metric_label(metric)}")
        ax.set_title("Expected best-of-n (± std)")
        ax.legend(loc="lower right")
        excluded_note(fig, excluded)
        return fig


def expected_max_annotations(table: pd.DataFrame, by: list[str]) -> dict[str, dict[str, float]]:
    """The ends of each curve of :func:`plot_expected_max` (what the sentences quote): expected
    best of 1 and of the largest n. report.json keeps it as ``figures.expected_max``."""
    out = {}
    for key, g in grouped(table, by).items():
        first, last = g.iloc[0], g.iloc[-1]
        out[label(by, key)] = {"n": int(last["n"]), "expected_best_of_1": float(first["expected_max"]),
                               "expected_best_of_n": float(last["expected_max"])}
    return out


def plot_history(
    history: pd.DataFrame,
    metric: str = "top1",
    *,
    results: pd.DataFrame | None = None,
    by: By = None,
) -> Figure:
    """Per-epoch ``metric``: mean over trials with a ± std band (one band per group of ``by``,
    taken from ``results`` joined on trial_id)."""
    with matplotlib.rc_context(STYLE):
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
            c = COLORS[i % len(COLORS)]
            agg = g.groupby("epoch")[metric].agg(["mean", "std", "count"]).sort_index()
            ep = agg.index.to_numpy(dtype=float)
            sd = agg["std"].fillna(0)
            n = g["trial_id"].nunique()
            ax.plot(ep, agg["mean"], color=c, lw=1.8,
                    label=(label(bys, key) + f" ({n} trials)") if bys else f"mean of {n} trials")
            ax.fill_between(ep, agg["mean"] - sd, agg["mean"] + sd, color=c, alpha=0.2, lw=0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric_label(metric))
        ax.set_title(f"{metric_label(metric)} per epoch (mean ± std over trials)")
        ax.legend(loc="lower right")
        return fig
