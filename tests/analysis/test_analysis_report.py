"""make_report end to end: a real notebook executed on a real kernel, HTML and JSON written."""

from __future__ import annotations

import json
import re
import sys
from html import unescape
from pathlib import Path

import nbformat
import numpy as np
import pytest

import analysis as A
from analysis import AnalysisError
from analysis.report.output import to_jsonable
from analysis.sections import build_report
from analysis.synthetic import synthetic_history, synthetic_results

SECTIONS = ["provenance", "summary", "normality", "outliers", "test_set_noise",
            "variance_components", "comparisons", "seeds_needed", "expected_max"]


@pytest.fixture(scope="module")
def crop_report(tmp_path_factory):
    # an LR study (crop_pct only changes evaluation, so the report would not compare it)
    exp = tmp_path_factory.mktemp("lr_study")
    df = synthetic_results(
        15, [dict(lr=5e-3), dict(lr=3e-3, shift=0.05), dict(lr=8e-3, shift=-0.5)],
        n_error=1, n_running=1, seed=11, experiment="lr_study")
    df.to_parquet(exp / "results.parquet")
    synthetic_history(df, n_epochs=8).to_parquet(exp / "history.parquet")
    paths = A.make_report(exp, baseline="lr=0.005")
    return exp, df, paths


def test_report_files_and_notebook_executed(crop_report):
    exp, _, paths = crop_report
    assert paths.notebook == exp / "report.ipynb" and paths.html == exp / "report.html"
    nb = nbformat.read(paths.notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert "import analysis as A" in code[0].source  # cells call the package
    names = sorted(p.name for p in paths.figures)
    assert names == ["expected_max.png", "figure2_seed_distribution.png", "history.png",
                     "vs_lr.png"]
    assert (exp / "figures" / "figure2_seed_distribution.pdf").is_file()


def _page_text(html: str) -> str:
    """The visible text of an HTML page, tags dropped, entities decoded, white space folded."""
    body = re.sub(r"<style.*?</style>|<script.*?</script>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


#: What a comparison's sentence must say for its (verdict, meaningful), A and B by name.
VERDICT_WORDS = {
    ("a_better", True): "{a} beats {b}: the", ("b_better", True): "{a} is worse than {b}: the",
    ("a_better", False): "of {a} over {b} is beyond seed noise", ("b_better", False): "of {a} over {b} is beyond seed noise",
    ("within_seed_noise", False): "of {a} over {b} is within seed noise",
    ("not_resolvable", False): "of {a} over {b} is not resolvable",
}


def test_report_html_hides_code_and_embeds_figures(crop_report):
    _, df, paths = crop_report
    html = paths.html.read_text()
    assert "import analysis" not in html and "A.summarize" not in html
    assert html.count("data:image/png;base64") >= 4
    text = _page_text(html)
    # a reader's order: the answer (headline, verdicts, Figure 2), the evidence, provenance last
    order = ["The answer", "Verdicts", "Figure 2", "1. Summary", "2. Normality", "3. Outlier seeds",
             "4. Test-set noise", "6. Comparisons", "7. Seeds needed", "8. Expected best-of-n",
             "10. Provenance", "Conclusions"]
    at = [text.find(t) for t in order]
    assert -1 not in at and at == sorted(at), dict(zip(order, at))
    rep = json.loads(paths.json.read_text())
    assert rep["headline"]["sentence"] in text and text.find(rep["headline"]["sentence"]) < at[1]
    assert "lr_study: 45 trials of A2" in rep["headline"]["what_ran"]
    assert rep["headline"]["answer"] == rep["conclusions"]["summary"]
    # self-contained: no script or style loaded from elsewhere (nbconvert's default template loads
    # require.js and MathJax from a CDN), every image a data URI
    assert not re.findall(r"<script[^>]*\bsrc=|<link[^>]*\bhref=[\"']?https?:|@import", html)
    assert not re.findall(r"<img(?![^>]*src=\"data:image/png;base64,)[^>]*>", html)
    # tables for people: no pandas index column, no snake_case headers, times in a unit that fits
    assert not re.search(r"<tr[^>]*>\s*<th>\d+</th>", html)  # pandas' index: a row header 0, 1, …
    assert "hours_per_trial" not in html and "training time per trial" in html
    assert re.search(r"<td class=\"num\">[0-9.]+ (s|min|h)</td>", html)
    # the page shows every comparison's sentence as report.json records it ...
    assert len(rep["comparisons"]) == 2
    for row in rep["comparisons"]:
        assert " ".join(row["sentence"].split()) in text, row["sentence"]
    # ... and those sentences state the verdicts the data give, computed here without the report
    # (lr 8e-3 is 0.5 points below the baseline: worse, beyond seed noise and meaningful)
    cmp = A.compare_all(df, "lr=0.005", by=["lr"])
    decided = {(r.lr, r.verdict, r.meaningful) for r in cmp.itertuples()}
    assert (0.008, "b_better", True) in decided
    for r in cmp.itertuples():
        words = VERDICT_WORDS[(r.verdict, bool(r.meaningful))].format(a=r.name_a, b=r.name_b)
        assert words in text, (r.name_a, r.verdict, words)


def test_report_json_has_every_number(crop_report):
    _, df, paths = crop_report
    rep = json.loads(paths.json.read_text())  # strict JSON: NaN would not parse as null
    assert set(SECTIONS) <= set(rep["conclusions"])
    for section, sentences in rep["conclusions"].items():
        assert sentences and all(isinstance(s, str) and s.endswith((".", ")")) for s in sentences)
    # the numbers equal the functions called directly on the same table
    summ = A.summarize(df, by=["lr"], metric=["top1", "top1_real", "top1_v2"])
    got = {(r["lr"], r["metric"]): r for r in rep["summary"]}
    for _, r in summ.iterrows():
        g = got[(r.lr, r.metric)]
        for k in ("n", "mean", "std", "ci_low", "ci_high", "seed0"):
            assert g[k] == pytest.approx(r[k], abs=1e-12)
        assert g["excluded"] == "ERROR: 1, RUNNING: 1"
    cmp = A.compare_all(df, "lr=0.005", by=["lr"])
    assert [c["p_a_gt_b"] for c in rep["comparisons"]] == pytest.approx(list(cmp["p_a_gt_b"]))
    assert [c["mwu_p_holm"] for c in rep["comparisons"]] == pytest.approx(list(cmp["mwu_p_holm"]))
    # every comparison carries a verdict next to its sentence: lr 8e-3 is 0.5 points worse
    verdicts = {c["lr"]: c["verdict"] for c in rep["comparisons"]}
    assert verdicts == dict(zip(cmp["lr"], cmp["verdict"]))
    assert verdicts[0.008] == "b_better" and all(v in A.VERDICTS for v in verdicts.values())
    assert rep["conclusions"]["comparisons"] == [c["sentence"] for c in rep["comparisons"]]
    # the notebook's report.json is what build_report computes without a kernel
    built = json.loads(json.dumps(to_jsonable(build_report(df, paths.json.parent, "lr=0.005"))))
    for section in SECTIONS:
        if section != "provenance":
            assert rep["conclusions"][section] == built["conclusions"][section], section
    assert rep["headline"] == built["headline"]  # the answer shown first, the same without a kernel
    assert rep["seeds_needed"]["for_p_a_gt_b"] == A.seeds_needed_for_p(comparisons=2) == 41
    assert rep["provenance"]["status_counts"] == {"TERMINATED": 39, "ERROR": 3, "RUNNING": 3}
    assert len(rep["provenance"]["excluded"]) == 6
    assert "3 ERROR, 3 RUNNING" in rep["conclusions"]["provenance"][0]
    # the kernel ran this very interpreter
    assert Path(rep["provenance"]["versions"]["executable"]).resolve() == Path(sys.executable).resolve()
    # recipe settings come from the results rows, not from a copied table of the paper
    ran = rep["provenance"]["recipes"]["a2"]
    assert ran["lr"] == [0.003, 0.005, 0.008] and ran["weight_decay"] == 0.02


def test_report_single_seed_grid_to_other_folder(tmp_path):
    # a grid with one seed per cell: no std, no test; the report still runs and says why
    exp = tmp_path / "grid"
    exp.mkdir()
    grid = [dict(lr=lr, weight_decay=wd) for lr in (3e-3, 5e-3) for wd in (0.01, 0.02)]
    synthetic_results(1, grid, seed=5).to_csv(exp / "results.csv", index=False)
    out = tmp_path / "out"
    paths = A.make_report(exp, out=out)
    assert paths.json.parent == out and not (exp / "report.html").exists()
    rep = json.loads(paths.json.read_text())
    c = rep["conclusions"]
    assert all("cannot be compared" in s for s in c["comparisons"])
    assert all(r["verdict"] is None for r in rep["comparisons"])
    assert "seed std is unknown" in c["seeds_needed"][0]
    assert "configurations" in c["expected_max"][0]
    assert "cannot be separated" in c["variance_components"][0]
    assert "table6" in rep


def test_make_report_fails_early_on_bad_input(tmp_path):
    with pytest.raises(AnalysisError, match="neither results.parquet"):
        A.make_report(tmp_path)
    synthetic_results(2).drop(columns="top1").to_parquet(tmp_path / "results.parquet")
    with pytest.raises(AnalysisError, match="top1"):
        A.make_report(tmp_path)
    assert not (tmp_path / "report.ipynb").exists()
    np.testing.assert_equal(sorted(p.name for p in tmp_path.iterdir()), ["results.parquet"])
