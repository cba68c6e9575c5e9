"""Executed report notebooks: ``make_report(experiment_dir)`` → report.ipynb, report.html, report.json.

The notebook is generated with nbformat; its cells load the results table and call the public
functions of :mod:`analysis`, so a reader can rerun or edit any step. It is executed with
nbclient on a ``python3`` kernel that runs *this* interpreter (``sys.executable``) with this
package importable, rendered to HTML with nbconvert (input cells hidden), and its last cell
writes report.json with every number the report shows.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._common import CONFIG_COLUMNS, AnalysisError, describe_exclusions, split_usable
from .io import PathLike, _resolve, load_results

#: The paper's recipes (Table 2 of "ResNet strikes back", as in DESIGN.md), used only to show
#: which effective hyper-parameters differ from the paper. trainer/recipes.py stays the source
#: of truth for training; analysis must not import it.
PAPER_RECIPES: dict[str, dict[str, Any]] = {
    "a1": dict(epochs=600, train_res=224, test_res=224, crop_pct=0.95, batch_size=2048, lr=5e-3,
               weight_decay=0.01, loss="bce", smoothing=0.1, mixup=0.2, cutmix=1.0,
               aug_repeats=3, drop_path=0.05),
    "a2": dict(epochs=300, train_res=224, test_res=224, crop_pct=0.95, batch_size=2048, lr=5e-3,
               weight_decay=0.02, loss="bce", smoothing=0.0, mixup=0.1, cutmix=1.0,
               aug_repeats=3, drop_path=0.05),
    "a3": dict(epochs=100, train_res=160, test_res=224, crop_pct=0.95, batch_size=2048, lr=8e-3,
               weight_decay=0.02, loss="bce", smoothing=0.0, mixup=0.1, cutmix=1.0,
               aug_repeats=0, drop_path=0.0),
}

_VERSIONED = ("rsb-sweep", "numpy", "scipy", "pandas", "statsmodels", "matplotlib", "torch",
              "timm", "ray", "nbclient", "nbconvert")
_MAX_GROUPS_PLOTTED = 6


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`make_report` wrote its outputs."""

    notebook: Path
    html: Path
    json: Path
    figures: tuple[Path, ...]


# --------------------------------------------------------------------------- helpers used by cells

def to_jsonable(obj: Any) -> Any:
    """Convert DataFrames, dataclasses, numpy and pandas values to strict JSON (NaN → null)."""
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(obj.to_dict() if hasattr(obj, "to_dict") else asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str | int):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def write_json(report: dict[str, Any], path: PathLike) -> Path:
    """Write the report dict as strict JSON (NaN become null; notes explain them)."""
    p = Path(path)
    p.write_text(json.dumps(to_jsonable(report), indent=1, allow_nan=False))
    return p


def show(df: pd.DataFrame, digits: int = 3, max_rows: int = 60) -> None:
    """Display a table rounded for reading (notebook helper)."""
    from IPython.display import display

    d = df.head(max_rows).copy()
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            d[c] = d[c].round(digits)
    display(d.reset_index(drop=True))
    if len(df) > max_rows:
        display(f"… {len(df) - max_rows} more rows in report.json")


def versions() -> dict[str, str]:
    """Versions of the packages that produced the numbers (without importing them)."""
    out = {"python": platform.python_version(), "executable": sys.executable,
           "platform": platform.platform()}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        return bool(np.isclose(float(a), float(b)))
    return str(a).lower() == str(b).lower()


def provenance(df: pd.DataFrame, experiment_dir: PathLike, metric: str = "top1") -> dict[str, Any]:
    """What ran, with what, on what, at what cost (the paper's Table 3), and what was excluded."""
    exp = Path(experiment_dir)
    names = sorted(df["experiment"].dropna().astype(str).unique()) if "experiment" in df else []
    usable, excluded = split_usable(df, metric)
    hp = [c for c in CONFIG_COLUMNS if c in df.columns]
    constant = {c: df[c].dropna().iloc[0] for c in hp if df[c].nunique() == 1}
    varied = {c: sorted(df[c].dropna().unique().tolist(), key=str) for c in hp
              if df[c].nunique() > 1}
    overrides = {}
    for rec in sorted(df["recipe"].dropna().astype(str).str.lower().unique()) \
            if "recipe" in df else []:
        paper = PAPER_RECIPES.get(rec)
        if not paper:
            continue
        rows = df[df["recipe"].astype(str).str.lower() == rec]
        diff = {}
        for k, v in paper.items():
            if k in rows.columns:
                vals = rows[k].dropna().unique().tolist()
                changed = [x for x in vals if not _same(x, v)]
                if changed:
                    diff[k] = {"paper": v, "here": sorted(vals, key=str)}
        overrides[rec] = diff
    seeds = {}
    for c in ("seed", "seed_init", "seed_data", "seed_aug"):
        if c in df.columns:
            s = pd.to_numeric(df[c], errors="coerce").dropna()
            seeds[c] = {"distinct": int(s.nunique()),
                        "min": s.min() if len(s) else None, "max": s.max() if len(s) else None}
    hardware = {}
    for c in ("device", "n_workers"):
        if c in df.columns:
            hardware[c] = sorted(df[c].dropna().unique().tolist(), key=str)
    cost = _cost_table(df)
    status_counts = df["status"].astype(str).value_counts().to_dict() if "status" in df else {}
    excl_cols = [c for c in ("trial_id", "status", "reason", "error") if c in excluded.columns]
    lines = [
        f"- **experiment**: {', '.join(names) or exp.name} (`{df.attrs.get('source', exp)}`)",
        f"- **trials**: {len(df)} ({', '.join(f'{k}: {v}' for k, v in status_counts.items())})",
        f"- **used for statistics**: {len(usable)} (TERMINATED with a finite {metric}); "
        f"excluded: {describe_exclusions(excluded['reason']) if len(excluded) else 'none'}",
    ]
    if constant:
        lines.append("- **hyper-parameters (all trials)**: "
                     + ", ".join(f"{k}={v}" for k, v in constant.items()))
    if varied:
        lines.append("- **varied**: " + "; ".join(f"{k} ∈ {{{', '.join(map(str, v))}}}"
                                                  for k, v in varied.items()))
    for rec, diff in overrides.items():
        txt = ", ".join(f"{k} {d['paper']} → {'/'.join(map(str, d['here']))}"
                        for k, d in diff.items()) or "none"
        lines.append(f"- **differences from the paper's {rec.upper()}**: {txt}")
    if seeds:
        lines.append("- **seeds**: " + "; ".join(
            f"{k}: {v['distinct']} distinct ({v['min']:g}–{v['max']:g})" if v["distinct"] else
            f"{k}: none" for k, v in seeds.items()))
    if hardware:
        lines.append("- **hardware**: " + "; ".join(f"{k}: {', '.join(map(str, v))}"
                                                   for k, v in hardware.items()))
    ver = versions()
    lines.append("- **software**: " + ", ".join(f"{k} {v}" for k, v in ver.items()
                                               if k not in ("executable", "platform"))
                 + f" on {ver['platform']}")
    spec_files = sorted(p.name for p in exp.glob("*.y*ml")) if exp.is_dir() else []
    if spec_files:
        lines.append("- **sweep files in the experiment folder**: " + ", ".join(spec_files))
    return {
        "experiment": names or [exp.name],
        "source": str(df.attrs.get("source", exp)),
        "n_trials": len(df),
        "n_used": len(usable),
        "status_counts": status_counts,
        "excluded": excluded[excl_cols].to_dict(orient="records"),
        "constant_hyperparameters": constant,
        "varied_hyperparameters": varied,
        "differences_from_paper": overrides,
        "seeds": seeds,
        "hardware": hardware,
        "versions": ver,
        "cost": cost,
        "markdown": "\n".join(lines),
    }


def _cost_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: trials, GPU/CPU hours (total, per trial), workers, peak memory."""
    cols = [c for c in ("train_hours", "n_workers", "peak_mem_gb") if c in df.columns]
    if not cols:
        return pd.DataFrame()
    by = [c for c in ("recipe", *[c for c in CONFIG_COLUMNS if c != "recipe"])
          if c in df.columns and df[c].nunique() > 1] or None
    g = df.groupby(by, dropna=False) if by else df.assign(_all="all trials").groupby("_all")
    agg = {"trials": ("trial_id", "count")}
    if "train_hours" in cols:
        agg["hours_total"] = ("train_hours", "sum")
        agg["hours_per_trial"] = ("train_hours", "mean")
    if "n_workers" in cols:
        agg["workers"] = ("n_workers", "max")
    if "peak_mem_gb" in cols:
        agg["peak_mem_gb"] = ("peak_mem_gb", "max")
    out = g.agg(**agg).reset_index()
    if "train_hours" in cols and "n_workers" in cols:
        wh = (df["train_hours"] * df["n_workers"]).groupby(
            [df[c] for c in by] if by else np.zeros(len(df))).sum()
        out["worker_hours"] = wh.to_numpy()
    return out.rename(columns={"_all": "group"})


def distribution_groups(summary: pd.DataFrame, by: list[str], min_n: int = 3,
                        max_groups: int = _MAX_GROUPS_PLOTTED) -> tuple[list[dict], str]:
    """Groups worth a seed-distribution plot (≥ ``min_n`` seeds, the largest ``max_groups``)."""
    s = summary[summary["n"] >= min_n].sort_values("n", ascending=False, kind="stable")
    note = ""
    if len(s) > max_groups:
        note = f"showing the {max_groups} configurations with the most seeds of {len(s)}"
        s = s.head(max_groups)
    return [dict(zip(by, (r[c] for c in by))) for _, r in s.iterrows()], note


def restrict(df: pd.DataFrame, groups: list[dict]) -> pd.DataFrame:
    """Rows of ``df`` belonging to any of ``groups`` (dicts column → value)."""
    if not groups or not groups[0]:
        return df
    mask = np.zeros(len(df), dtype=bool)
    for g in groups:
        m = np.ones(len(df), dtype=bool)
        for c, v in g.items():
            m &= (df[c].isna() if pd.isna(v) else (df[c] == v)).to_numpy()
        mask |= m
    return df[mask]


# --------------------------------------------------------------------------- the notebook

def _cells(results: Path, experiment: Path, out: Path, baseline: Any) -> list[tuple[str, str]]:
    """(kind, source) of every cell; code cells only call public analysis functions."""
    hist = None
    try:
        hist = _resolve(experiment, "history") if experiment.is_dir() else None
    except AnalysisError:
        hist = None
    setup = f'''\
import warnings
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display

import analysis as A
from analysis import conclusions as C
from analysis.report import distribution_groups, provenance, restrict, show, write_json

warnings.filterwarnings("ignore", category=FutureWarning)
RESULTS = Path({str(results)!r})
EXPERIMENT = Path({str(experiment)!r})
HISTORY = {str(hist) if hist else None!r}
OUT = Path({str(out)!r})
FIGURES = OUT / "figures"
BASELINE = {baseline!r}
METRIC = "top1"

df = A.load_results(RESULTS)
BY = A.config_columns(df)          # configuration columns that vary: the groups compared
SETS = A.metric_columns(df, METRIC)  # top1 and the extra evaluation sets (top1_real, ...)
REPORT = {{"conclusions": {{}}, "figures": {{}}}}
def conclude(section, sentences):
    REPORT["conclusions"][section] = list(sentences)
    display(Markdown(C.bullets(sentences)))
'''
    cells: list[tuple[str, str]] = [
        ("md", "# Seed-variance report\n\nGenerated by `analysis.make_report` "
               "(`rsb-sweep report <experiment dir>`). Every statistic uses the TERMINATED trials "
               "with a finite metric; excluded trials are counted below. All numbers are in "
               "`report.json`."),
        ("code", setup),
        ("md", "## 1. Provenance\nWhat ran, with which software, on what hardware, at what cost "
               "(the RSB paper's Table 3)."),
        ("code", '''\
prov = provenance(df, EXPERIMENT)
REPORT["provenance"] = prov
display(Markdown(prov["markdown"]))
if len(prov["cost"]):
    show(prov["cost"], digits=2)
if prov["excluded"]:
    show(pd.DataFrame(prov["excluded"]))
conclude("provenance", C.describe_status(df))
'''),
        ("md", "## 2. Summary\nMean, std (ddof=1), 95 % BCa bootstrap CI of the mean, range and "
               "the seed-0 value, per configuration and evaluation set; then the paper's Table 9 "
               "layout."),
        ("code", '''\
summary = A.summarize(df, by=BY or None, metric=SETS)
top1 = summary[summary["metric"] == METRIC]
REPORT["summary"] = summary
show(summary)
t9 = A.format_table9(summary)
REPORT["table9"] = {"markdown": t9.markdown, "latex": t9.latex}
display(Markdown(t9.markdown))
conclude("summary", C.describe_summary(top1, BY))
'''),
        ("md", "## 3. Figure 2: distribution over seeds\nHistogram of the seeds, the fitted "
               "Gaussian scaled to it, the mean and ±1σ, and a normal Q-Q panel."),
        ("code", '''\
groups, note = distribution_groups(top1, BY)
if groups:
    fig = A.plot_seed_distribution(restrict(df, groups), METRIC, by=BY or None)
    paths = A.save_figure(fig, FIGURES / "figure2_seed_distribution")
    REPORT["figures"]["figure2"] = paths
    display(Image(filename=str(paths[0]), width=900))
    if note:
        display(Markdown(f"*{note}*"))
else:
    conclude("figure2", ["No configuration has 3 or more seeds: there is no seed distribution to plot."])
'''),
        ("md", "## 4. Normality\nShapiro-Wilk (primary), D'Agostino K² (n ≥ 8) and "
               "Kolmogorov-Smirnov against the fitted Gaussian; skewness and excess kurtosis."),
        ("code", '''\
fits = A.normality(df, by=BY or None, metric=METRIC)
REPORT["normality"] = fits
cols = [*BY, "n", "mean", "std", "shapiro_w", "shapiro_p", "normaltest_p", "ks_p", "skewness",
        "excess_kurtosis", "notes"]
show(fits[[c for c in cols if c in fits.columns]])
conclude("normality", C.describe_normality(fits, BY))
'''),
        ("md", "## 5. Outlier seeds\nRobust z-score (median / MAD, Iglewicz-Hoaglin, flagged "
               "above 3.5) and the probability of a value that far under the fitted Gaussian."),
        ("code", '''\
out = A.outlier_seeds(df, METRIC, by=BY or None)
REPORT["outliers"] = out
flagged = out[out["outlier"]]
show(flagged if len(flagged) else out.head(5))
conclude("outliers", C.describe_outliers(out, METRIC))
'''),
        ("md", "## 6. Test-set noise\nThe std that sampling a finite validation set causes on its "
               "own (binomial), against the observed seed std."),
        ("code", '''\
if "n_val" in df.columns:
    noise = A.test_set_noise(df, METRIC, by=BY or None)
    REPORT["test_set_noise"] = noise
    show(noise)
    conclude("test_set_noise", C.describe_noise(noise, BY))
else:
    conclude("test_set_noise", ["The table has no n_val column: test-set noise cannot be estimated."])
'''),
        ("md", "## 7. Sources of seed variance\nShare of the variance per seed source "
               "(init, data order, augmentation) when the sweep varied them separately."),
        ("code", '''\
vc_sentences, fails, REPORT["variance_components"] = [], [], []
vc_groups = distribution_groups(top1, BY, min_n=3, max_groups=4)[0] if BY else [{}]
if not vc_groups:
    vc_sentences.append("No configuration has 3 or more trials: the seed sources cannot be separated.")
for g in vc_groups:
    name = ", ".join(f"{k}={v}" for k, v in g.items())
    try:
        vc = A.variance_components(restrict(df, [g]) if g else df, metric=METRIC)
    except A.AnalysisError as e:
        fails.append((name, str(e)))
        continue
    REPORT["variance_components"].append({"group": g, **vc.to_dict()})
    show(vc.table)
    vc_sentences.append((f"{name}: " if name else "") + vc.sentence)
if len(fails) == 1:
    vc_sentences.append((f"{fails[0][0]}: " if fails[0][0] else "") + f"Not identifiable: {fails[0][1]}")
elif fails:
    vc_sentences.append(f"Not identifiable in {len(fails)} configurations; for {fails[0][0]}: {fails[0][1]}")
conclude("variance_components", vc_sentences)
'''),
        ("md", "## 8. Comparisons\nEvery configuration against the baseline: mean difference "
               "(BCa CI), Welch t, Mann-Whitney U, P(A>B) with its Brunner-Munzel CI, Cohen's d; "
               "p-values Holm-adjusted. *Meaningful* (Bouthillier et al. 2021): P(A>B) differs "
               "from 0.5 (Holm) and max(P, 1−P) ≥ γ = 0.75."),
        ("code", '''\
usable_groups = top1[top1["n"] > 0]
if BY and len(usable_groups) > 1:
    base = BASELINE if BASELINE is not None else A.default_baseline(usable_groups, BY)
    try:
        cmp = A.compare_all(df, base, by=BY, metric=METRIC)
    except A.AnalysisError as e:
        cmp = None
        conclude("comparisons", [f"No comparison possible: {e}"])
    if cmp is not None:
        REPORT["comparisons"] = cmp
        REPORT["baseline"] = {"spec": base, "chosen": "given" if BASELINE is not None else
                              "automatically: the configuration with the most trials"}
        show(cmp[[*BY, "n_a", "n_b", "diff", "diff_ci_low", "diff_ci_high", "welch_p_holm",
                  "mwu_p_holm", "p_a_gt_b", "pab_ci_low", "pab_ci_high", "pab_p_holm",
                  "cohen_d", "meaningful"]])
        conclude("comparisons", list(cmp["sentence"]))
    if len(BY) >= 2:
        lr_wd = [c for c in ("lr", "weight_decay") if c in BY]
        rows = lr_wd if len(lr_wd) == 2 and len(BY) > 2 else BY[:1]
        cols = [c for c in BY if c not in rows]
        t6 = A.format_table6(top1, rows=rows, cols=cols, comparisons=cmp)
        REPORT["table6"] = {"markdown": t6.markdown, "latex": t6.latex}
        display(Markdown(t6.markdown))
        fig = A.plot_grid(df, x=BY[0], y=BY[1], metric=METRIC)
        paths = A.save_figure(fig, FIGURES / "grid")
    else:
        fig = A.plot_vs(df, x=BY[0], metric=SETS)
        paths = A.save_figure(fig, FIGURES / f"vs_{BY[0]}")
    REPORT["figures"]["comparison"] = paths
    display(Image(filename=str(paths[0]), width=800))
else:
    conclude("comparisons", ["A single configuration was run: there is nothing to compare."])
'''),
        ("md", "## 9. Seeds needed\nSeeds per arm to detect a 0.1 / 0.2 / 0.5-point difference "
               "at the observed (pooled) seed std, and to show P(A>B) ≥ 0.75."),
        ("code", '''\
std, dof = A.pooled_std(top1)
n_for_p = A.seeds_needed_for_p()
REPORT["seeds_needed"] = {"pooled_std": std, "pooled_dof": dof, "for_p_a_gt_b": n_for_p}
if dof > 0 and std > 0:
    need = A.seeds_needed_table(std, (0.1, 0.2, 0.5))
    REPORT["seeds_needed"]["table"] = need
    show(need)
    conclude("seeds_needed", C.describe_seeds_needed(need, std, n_for_p))
else:
    conclude("seeds_needed", [f"No configuration has two seeds with different results, so the seed std is unknown; showing P(A>B) ≥ 0.75 needs {n_for_p} seeds per arm (Noether)."])
'''),
        ("md", "## 10. Expected best-of-n\nExpected best result of n runs (Dodge et al. 2019): "
               "what reporting the best seed instead of the mean adds."),
        ("code", '''\
groups, _ = distribution_groups(top1, BY, min_n=2)
if groups:
    sub, by_em, over = restrict(df, groups), BY or None, "seeds"
else:  # one seed per configuration: best-of-n over configurations (Dodge's original use)
    sub, by_em, over = df, None, "configurations"
em = A.expected_max_table(sub, by=by_em, metric=METRIC)
REPORT["expected_max"] = em
ns = [n for n in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if n <= em["n"].max()]
show(em[em["n"].isin(ns) | (em["n"] == em["n"].max())])
fig = A.plot_expected_max(sub, METRIC, by=by_em)
paths = A.save_figure(fig, FIGURES / "expected_max")
REPORT["figures"]["expected_max"] = paths
display(Image(filename=str(paths[0]), width=700))
conclude("expected_max", C.describe_expected_max(em, BY if by_em else [], over))
'''),
    ]
    if hist:
        cells += [
            ("md", "## 11. Training curves\nTop-1 per epoch, mean ± std over trials."),
            ("code", '''\
history = A.load_history(HISTORY)
groups, _ = distribution_groups(top1, BY, min_n=1)
fig = A.plot_history(history, METRIC, results=df, by=BY if BY and len(groups) <= 6 else None)
paths = A.save_figure(fig, FIGURES / "history")
REPORT["figures"]["history"] = paths
display(Image(filename=str(paths[0]), width=700))
'''),
        ]
    cells += [
        ("md", "## Conclusions\nEvery sentence above, in one place (also in report.json)."),
        ("code", '''\
display(Markdown("\\n".join(f"**{k}**\\n\\n" + C.bullets(v) + "\\n"
                            for k, v in REPORT["conclusions"].items())))
write_json(REPORT, OUT / "report.json")
'''),
    ]
    return cells


def build_notebook(results: PathLike, out: PathLike, baseline: Any = None,
                   experiment: PathLike | None = None):
    """The report notebook (nbformat v4, not executed) for a results file."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    exp = Path(experiment) if experiment is not None else Path(results).parent
    for kind, src in _cells(Path(results), exp, Path(out), baseline):
        cell = (nbformat.v4.new_markdown_cell(src) if kind == "md"
                else nbformat.v4.new_code_cell(src))
        nb.cells.append(cell)
    return nb


def _kernel_manager(workdir: Path):
    """A KernelManager whose 'python3' kernel is this interpreter (sys.executable).

    Why: the 'python3' kernelspec found on the Jupyter path may belong to another Python that
    lacks this package; a private kernelspec pins the report to the interpreter calling it.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = workdir / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python",
        "metadata": {"debugger": False},
    }))
    ksm = KernelSpecManager(kernel_dirs=[str(workdir / "kernels")], ensure_native_kernel=False)
    # IPC sockets in the private folder: local only, no TCP port left open to other users
    return KernelManager(kernel_name="python3", kernel_spec_manager=ksm, transport="ipc",
                         ip=str(workdir / "kernel"))


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    pkg_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [pkg_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    env["MPLBACKEND"] = "Agg"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def make_report(experiment_dir: PathLike, out: PathLike | None = None,
                baseline: Any = None, *, timeout: int = 600) -> ReportPaths:
    """Generate, execute and render the report of an experiment.

    ``experiment_dir``: an experiment folder (results.parquet or results.csv, optional
    history.parquet) or a results file. ``out``: output folder (default: the experiment folder,
    or the file's folder). ``baseline``: the configuration the comparisons use, e.g.
    ``"crop_pct=0.875"`` or ``{"crop_pct": 0.875}`` (default: the one with the most trials).
    Returns the paths of report.ipynb, report.html, report.json and the figures. If a cell
    fails, the partly executed notebook is still written and the error re-raised.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    exp = Path(experiment_dir).resolve()
    results = _resolve(exp, "results")
    df = load_results(results)  # fail early, with the loader's message, before any kernel starts
    if baseline is not None and not isinstance(baseline, str | dict | tuple | int | float):
        raise AnalysisError(f"baseline must be a string, dict or tuple, not {type(baseline)}.")
    del df
    out_dir = Path(out).resolve() if out is not None else (exp if exp.is_dir() else exp.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.unlink(missing_ok=True)
    nb = build_notebook(results, out_dir, baseline, experiment=exp)
    nb_path = out_dir / "report.ipynb"
    work = Path(tempfile.mkdtemp(prefix="rsb-report-"))
    km = _kernel_manager(work)
    try:
        client = NotebookClient(nb, km=km, timeout=timeout,
                                resources={"metadata": {"path": str(out_dir)}})
        try:
            client.execute(env=_kernel_env())
        except CellExecutionError:
            nbformat.write(nb, nb_path)
            raise
    finally:
        if km.has_kernel:  # a km we pass in is ours to shut down, not nbclient's
            km.shutdown_kernel(now=True)
        km.cleanup_resources()
        shutil.rmtree(work, ignore_errors=True)
    nbformat.write(nb, nb_path)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    html_path = out_dir / "report.html"
    html_path.write_text(body, encoding="utf-8")
    if not json_path.is_file():
        raise AnalysisError(f"the report notebook ran but did not write {json_path}.")
    figures = tuple(sorted((out_dir / "figures").glob("*.png")))
    return ReportPaths(nb_path, html_path, json_path, figures)
