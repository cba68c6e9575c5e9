"""Executed report notebooks: ``make_report(experiment_dir)`` → report.ipynb, report.html, report.json.

The notebook is generated with nbformat; its cells load the results table and call the public
functions of :mod:`analysis`, so a reader can rerun or edit any step. It is executed with
nbclient on a ``python3`` kernel that runs *this* interpreter (``sys.executable``) with this
package importable, rendered to one self-contained HTML page with nbconvert (input cells hidden, nothing loaded from
the network: :data:`HTML_TEMPLATE`), and its last cell
writes report.json with every number the report shows.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract import RESULTS_STEM
from ..errors import AnalysisError
from ..groups.baseline import split_baseline
from ..load.io import PathLike, load_results, table_file
from .cells import cells
from .output import FIGURES_FOLDER, REPORT_JSON
from .steps import find_evaluations


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`make_report` wrote its outputs."""

    notebook: Path
    html: Path
    json: Path
    figures: tuple[Path, ...]


#: nbconvert's lab template without what it loads from a CDN (require.js, MathJax, mermaid,
#: widgets: the report uses none of them), with the report's table and headline style: the page
#: is one file that opens offline; figures are embedded as data URIs by the notebook itself.
HTML_TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
.rsb-headline { font-size: 1.15em; line-height: 1.5; }
table.rsb-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.rsb-table th { text-align: left; }
.jp-RenderedHTMLCommon details, .jp-RenderedMarkdown details { margin: 0.4em 0 0.8em 0; }
.jp-RenderedHTMLCommon summary, .jp-RenderedMarkdown summary { cursor: pointer; color: #555; }
</style>
{%- endblock extra_css -%}
"""


def render_html(nb: Any) -> str:
    """The executed notebook as one self-contained HTML page (:data:`HTML_TEMPLATE`; code hidden)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[DictLoader({"rsb_report.html.j2": HTML_TEMPLATE})],
                            template_file="rsb_report.html.j2", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


# --------------------------------------------------------------------------- the notebook


def build_notebook(results: PathLike, out: PathLike, baseline: Any = None,
                   experiment: PathLike | None = None):
    """The report notebook (nbformat v4, not executed) for a results file."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    exp = Path(experiment) if experiment is not None else Path(results).parent
    nb.metadata["title"] = f"Seed-variance report: {exp.name}"
    for kind, src in cells(Path(results), exp, Path(out), baseline):
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

    exp = Path(experiment_dir).resolve()
    results = table_file(exp, RESULTS_STEM)
    df = load_results(results)  # fail early, with the loader's message, before any kernel starts
    find_evaluations(exp)  # an off-contract evaluations.parquet too
    if baseline is not None and not isinstance(baseline, str | dict | tuple | int | float):
        raise AnalysisError(f"baseline must be a string, dict or tuple, not {type(baseline)}.")
    split_baseline(baseline)  # a crop_pct=/test_res= part that is not a number fails here
    del df
    out_dir = Path(out).resolve() if out is not None else (exp if exp.is_dir() else exp.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / REPORT_JSON
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
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(nb), encoding="utf-8")
    if not json_path.is_file():
        raise AnalysisError(f"the report notebook ran but did not write {json_path}.")
    figures = tuple(sorted((out_dir / FIGURES_FOLDER).glob("*.png")))
    return ReportPaths(nb_path, html_path, json_path, figures)
