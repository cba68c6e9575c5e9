"""Executed report notebooks: ``make_report(experiment_dir)`` → report.ipynb, report.html, report.json.

The notebook is generated with nbformat; its cells load the results table and call the public
functions of :mod:`analysis`, so a reader can rerun or edit any step. It is executed with
nbclient on a ``python3`` kernel that runs *this* interpreter (``sys.executable``) with this
package importable, rendered to HTML with nbconvert (input cells hidden), and its last cell
writes report.json with every number the report shows.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..load.io import PathLike, _resolve, evaluations_file, load_results
from ..contract import DECISION_FILE
from ..groups.evaluations import split_baseline
from .sections import Section, find_evaluations, record

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


# --------------------------------------------------------------------------- the notebook

def present(report: dict[str, Any], sec: Section, digits: int = 3) -> None:
    """Notebook helper: record a section in the report dict, show its table and sentences."""
    from IPython.display import Markdown, display

    from ..present.conclusions import bullets

    record(report, sec)
    if sec.table is not None and len(sec.table):
        show(sec.table, digits=digits)
    display(Markdown(bullets(sec.sentences)))


def _cells(results: Path, experiment: Path, out: Path, baseline: Any) -> list[tuple[str, str]]:
    """(kind, source) of every cell; code cells only call public analysis functions."""
    hist = None
    try:
        hist = _resolve(experiment, "history") if experiment.is_dir() else None
    except AnalysisError:
        hist = None
    setup = f"""\
import warnings
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display

import analysis as A
from analysis.report import sections as S
from analysis.groups.provenance import distribution_groups, restrict
from analysis.report.notebook import present, show, write_json

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
PREDICTIONS = S.find_predictions(EXPERIMENT)  # per-image predictions, if the run wrote them
EVALUATIONS = S.find_evaluations(EXPERIMENT)  # evaluations.parquet (rsb-sweep evaluate), if any
REPORT = {{"conclusions": {{}}, "figures": {{}}}}
"""
    cells: list[tuple[str, str]] = [
        ("md", "# Seed-variance report\n\nGenerated by `analysis.make_report` "
               "(`rsb-sweep report <experiment dir>`). Every statistic uses the TERMINATED trials "
               "with a finite metric; excluded trials are counted below. Each section is one "
               "function of `analysis.sections`; all numbers are in `report.json`."),
        ("code", setup),
        ("md", "## 1. Provenance\nWhat ran, with which software, on what hardware, at what cost "
               "(the RSB paper's Table 3); recipe settings as the results rows record them."),
        ("code", """\
sec = S.provenance_section(df, EXPERIMENT)
display(Markdown(sec.data["markdown"]))
present(REPORT, sec, digits=2)
if sec.data["excluded"]:
    show(pd.DataFrame(sec.data["excluded"]))
"""),
        ("md", "## 2. Summary\nMean, std (ddof=1), 95 % CI of the mean (Student t below 30 "
               "seeds, BCa bootstrap from 30), range and the seed-0 value, per configuration and "
               "evaluation set; then the paper's Table 9 layout (from evaluations.parquet when the "
               "experiment has one: every crop ratio of each trained model, paired difference)."),
        ("code", """\
sec = S.summary_section(df, BY, EVALUATIONS, BASELINE)
top1 = sec.extra["top1"]
present(REPORT, sec)
display(Markdown(sec.extra["table9"]["markdown"]))
"""),
        ("md", "## 3. Figure 2: distribution over seeds\nHistogram of the seeds, the fitted "
               "Gaussian scaled to it, the mean and ±1σ, and a normal Q-Q panel."),
        ("code", """\
groups, note = distribution_groups(top1, BY)
if groups:
    fig = A.plot_seed_distribution(restrict(df, groups), METRIC, by=BY or None)
    paths = A.save_figure(fig, FIGURES / "figure2_seed_distribution")
    REPORT["figures"]["figure2"] = paths
    display(Image(filename=str(paths[0]), width=900))
    if note:
        display(Markdown(f"*{note}*"))
else:
    display(Markdown("No configuration has 3 or more seeds: there is no seed distribution to plot."))
"""),
        ("md", "## 4. Normality\nShapiro-Wilk (primary; calibrated against lattice-rounded "
               "Gaussians when top-1's step of 100/n_val points is a sizeable fraction of the "
               "std), D'Agostino K² (n ≥ 8) and Kolmogorov-Smirnov; skewness, excess kurtosis."),
        ("code", "present(REPORT, S.normality_section(df, BY))\n"),
        ("md", "## 5. Outlier seeds\nCalled only from 10 seeds, when the robust z-score (median / "
               "MAD) exceeds 3.5 *and* fewer than 0.05 such seeds are expected among n under a "
               "Gaussian fitted to the other seeds."),
        ("code", "present(REPORT, S.outliers_section(df, BY))\n"),
        ("md", "## 6. Test-set noise\nThe binomial std p(1−p)/n_val: an upper bound on the "
               "per-image part of the seed variance on this fixed validation set (Jordan 2023)."),
        ("code", "present(REPORT, S.test_set_noise_section(df, BY))\n"),
        ("md", "## 7. Sources of seed variance\nPer seed source (init, data order, augmentation) "
               "when the sweep varied them separately: shares of a crossed design; for one "
               "source at a time, each source's own (overlapping) variance."),
        ("code", "present(REPORT, S.variance_section(df, BY, top1))\n"),
        ("md", "## 8. Comparisons\nOne factor: every configuration against the baseline. A grid: "
               "each factor within the levels of the others, one Holm family per factor. "
               "Decision: two-sided Mann-Whitney (exact below 10 seeds per arm), Holm-adjusted; "
               "*not resolvable* when the design cannot reach α. *Meaningful* (Bouthillier et "
               "al. 2021): also max(P, 1−P) ≥ γ = 0.75. With per-image predictions, a paired "
               "image-bootstrap CI says whether a difference survives new test images."),
        ("code", """\
cmp = S.comparisons_section(df, BY, top1, BASELINE, PREDICTIONS, EVALUATIONS)
present(REPORT, cmp)
if "table6" in cmp.extra:
    display(Markdown(cmp.extra["table6"]["markdown"]))
if BY and len(top1[top1["n"] > 0]) > 1:
    if len(BY) >= 2:
        fig = A.plot_grid(df, x=BY[0], y=BY[1], metric=METRIC)
        paths = A.save_figure(fig, FIGURES / "grid")
    else:
        fig = A.plot_vs(df, x=BY[0], metric=SETS)
        paths = A.save_figure(fig, FIGURES / f"vs_{BY[0]}")
    REPORT["figures"]["comparison"] = paths
    display(Image(filename=str(paths[0]), width=800))
"""),
    ]
    if (experiment / DECISION_FILE).is_file():
        cells += [
            ("md", "## 8b. Stopping path\nAn `rsb-sweep ab` comparison: the anytime-valid "
                   "confidence sequence of A − B after each wave (Lindon et al. 2022), 0 and "
                   "±δ marked, and the verdict of decision.json."),
            ("code", """\
sec = S.stopping_path_section(S.find_decision(EXPERIMENT))
present(REPORT, sec)
if len(sec.extra["path"]):
    names = sec.extra["names"]
    fig = A.plot_stopping_path(sec.extra["path"], name_a=names["a"], name_b=names["b"],
                               metric=sec.data.get("metric", METRIC))
    paths = A.save_figure(fig, FIGURES / "stopping_path")
    REPORT["figures"]["stopping_path"] = paths
    display(Image(filename=str(paths[0]), width=700))
"""),
        ]
    if evaluations_file(experiment) is not None:
        cells += [
            ("md", "## 8c. Crop ratio and test resolution, paired by trial\nFrom evaluations.parquet "
                   "(`rsb-sweep evaluate`): each trained model evaluated at every setting, each level "
                   "compared with the baseline level on the same models (Wilcoxon signed-rank, exact "
                   "up to 16 pairs, Holm over the levels; *not resolvable* when too few pairs can "
                   "reach α). Table 9 is in section 2; Figure 4 shows top-1 against test resolution, "
                   "a thin line per seed, the mean, the train resolution dotted."),
            ("code", """\
sec = S.paired_section(EVALUATIONS, BASELINE)
present(REPORT, sec)
if "figure4" in sec.extra:
    fig = A.plot_test_res(sec.extra["figure4_rows"], METRIC, by=sec.extra["figure4"]["by"])
    paths = A.save_figure(fig, FIGURES / "figure4_test_res")
    REPORT["figures"]["figure4"] = paths
    display(Image(filename=str(paths[0]), width=900))
"""),
        ]
    cells += [
        ("md", "## 9. Seeds needed\nSeeds per arm to detect a 0.1 / 0.2 / 0.5-point difference "
               "at the observed (pooled) seed std, and for the rank test this report runs to show "
               "P(A>B) ≠ 0.5 when it is 0.75."),
        ("code", """\
present(REPORT, S.seeds_needed_section(top1, S.family_size(cmp.data)))
"""),
        ("md", "## 10. Expected best-of-n\nExpected best result of n distinct seeds (unbiased, "
               "without replacement): what reporting the best seed instead of the mean adds."),
        ("code", """\
sec = S.expected_max_section(df, BY, top1)
present(REPORT, sec)
fig = A.plot_expected_max(sec.extra["subset"], METRIC, by=sec.extra["by"])
paths = A.save_figure(fig, FIGURES / "expected_max")
REPORT["figures"]["expected_max"] = paths
display(Image(filename=str(paths[0]), width=700))
"""),
    ]
    if hist:
        cells += [
            ("md", "## 11. Training curves\nTop-1 per epoch, mean ± std over trials."),
            ("code", """\
history = A.load_history(HISTORY)
groups, _ = distribution_groups(top1, BY, min_n=1)
fig = A.plot_history(history, METRIC, results=df, by=BY if BY and len(groups) <= 6 else None)
paths = A.save_figure(fig, FIGURES / "history")
REPORT["figures"]["history"] = paths
display(Image(filename=str(paths[0]), width=700))
"""),
        ]
    cells += [
        ("md", "## Conclusions\nEvery sentence above, in one place (also in report.json)."),
        ("code", """\
from analysis.present.conclusions import bullets
display(Markdown("\\n".join(f"**{k}**\\n\\n" + bullets(v) + "\\n"
                            for k, v in REPORT["conclusions"].items())))
write_json(REPORT, OUT / "report.json")
"""),
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
    pkg_root = str(Path(__file__).resolve().parents[2])  # the folder holding the analysis package
    env["PYTHONPATH"] = os.pathsep.join(
        [pkg_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    env["MPLBACKEND"] = "Agg"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def make_report(experiment_dir: PathLike, out: PathLike | None = None,
                baseline: Any = None, *, timeout: int = 600) -> ReportPaths:
    """Generate, execute and render the report of an experiment.

    ``experiment_dir``: an experiment folder (results.parquet or results.csv, optional
    history.parquet, decision.json, evaluations.parquet) or a results file. ``out``: output folder (default: the experiment folder,
    or the file's folder). ``baseline``: the configuration the comparisons use, e.g.
    ``"lr=0.005"`` or ``{"lr": 0.005}`` (default: the one with the most trials); with an
    evaluations.parquet its ``crop_pct=``/``test_res=`` part is the paired comparisons'
    baseline (default: the trials' own setting), e.g. ``"recipe=a2,crop_pct=0.875"``.
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
    find_evaluations(exp)  # an off-contract evaluations.parquet too
    if baseline is not None and not isinstance(baseline, str | dict | tuple | int | float):
        raise AnalysisError(f"baseline must be a string, dict or tuple, not {type(baseline)}.")
    split_baseline(baseline)  # a crop_pct=/test_res= part that is not a number fails here
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
