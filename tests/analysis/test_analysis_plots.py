"""Figures: the right content, files written, degenerate input handled, no pyplot state."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

import analysis as A
from analysis import AnalysisError
from analysis.synthetic import synthetic_history, synthetic_results


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_figure2_single_group(seed_table, tmp_path):
    df = seed_table.copy()
    df.loc[df.seed == 99, "status"] = "ERROR"
    fig = A.plot_seed_distribution(df)
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # histogram + Q-Q
    ax = fig.axes[0]
    x = df.loc[df.status == "TERMINATED", "top1"].to_numpy()
    label = _legend_texts(ax)[0]
    assert label == (f"N={len(x)}, μ={x.mean():.2f}, σ={x.std(ddof=1):.2f}, "
                     f"Shapiro p={stats.shapiro(x).pvalue:.2f}")
    assert {"fitted Gaussian", "mean", "±1σ"} <= set(_legend_texts(ax))
    # the Gaussian curve is scaled to the histogram: area under it ≈ n × bin width
    heights = [p.get_height() for p in ax.patches]
    width = ax.patches[0].get_width()
    assert sum(heights) == len(x)
    curve = ax.lines[0]
    xs, ys = curve.get_data()
    assert np.trapezoid(ys, xs) == pytest.approx(len(x) * width, rel=0.01)
    assert "excluded trials: ERROR: 1" in [t.get_text() for t in fig.texts]
    paths = A.save_figure(fig, tmp_path / "fig2")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 5000 for p in paths)
    assert "matplotlib.pyplot" not in sys.modules  # no global figure state


def test_figure2_grouped_one_colour_per_group(crop_table):
    fig = A.plot_seed_distribution(crop_table, by="crop_pct", qq=False)
    assert len(fig.axes) == 1
    labels = _legend_texts(fig.axes[0])
    assert [lab.split(":")[0] for lab in labels[:3]] == ["crop_pct=0.875", "crop_pct=0.95", "crop_pct=1"]
    colours = {tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
               for line in fig.axes[0].lines}
    assert len(colours) >= 3


def test_figure2_degenerate_inputs():
    one = synthetic_results(1)
    fig = A.plot_seed_distribution(one)
    assert "σ=n/a" in _legend_texts(fig.axes[0])[0]
    equal = synthetic_results(5).assign(top1=80.0)
    A.plot_seed_distribution(equal)  # no curve, no crash
    with pytest.raises(AnalysisError, match="no usable trials"):
        A.plot_seed_distribution(synthetic_results(3, n_error=3))


def test_plot_grid_cells_show_mean_and_std():
    grid = [dict(lr=lr, weight_decay=wd, loss=loss) for lr in (3e-3, 5e-3) for wd in (0.01, 0.02)
            for loss in ("bce", "ce")]
    df = synthetic_results(4, grid, seed=2)
    fig = A.plot_grid(df, "lr", "weight_decay")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert sorted(ax.get_title() for ax in panels) == ["loss=bce", "loss=ce"]
    cell = df[(df.lr == 3e-3) & (df.weight_decay == 0.01) & (df.loss == "bce")]["top1"]
    texts = [t.get_text() for ax in panels for t in ax.texts]
    assert f"{cell.mean():.2f}\n±{cell.std():.2f}" in texts


def test_plot_vs_history_expected_max(crop_table):
    fig = A.plot_vs(crop_table, "crop_pct", ["top1", "top1_real"])
    assert len(fig.axes) == 2
    line = fig.axes[0].lines[0]
    means = crop_table[crop_table.status == "TERMINATED"].groupby("crop_pct")["top1"].mean()
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), means.to_numpy())
    fig = A.plot_expected_max(crop_table, by="crop_pct")
    assert len(fig.axes[0].lines) == 3
    hist = synthetic_history(crop_table, n_epochs=6)
    fig = A.plot_history(hist, results=crop_table, by="crop_pct")
    assert len(fig.axes[0].lines) == 3
    with pytest.raises(AnalysisError, match="results="):
        A.plot_history(hist, by="crop_pct")


def test_analysis_imports_no_ray_trainer_torch_or_pyplot(tmp_path):
    # a fresh interpreter imports analysis and draws and saves a figure: no ray, trainer,
    # rsb_sweep or torch package, and no pyplot (global figure state) among the loaded modules
    import subprocess

    code = (
        "import sys, analysis\n"
        "from analysis.synthetic import synthetic_results\n"
        "fig = analysis.plot_seed_distribution(synthetic_results(5))\n"
        f"analysis.save_figure(fig, {str(tmp_path / 'f')!r})\n"
        "packages = {m.split('.')[0] for m in sys.modules}\n"
        "bad = sorted(packages & {'ray', 'trainer', 'rsb_sweep', 'torch'})\n"
        "bad += sorted(set(sys.modules) & {'matplotlib.pyplot'})\n"
        "print(bad)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=root)
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "f.png").is_file()
