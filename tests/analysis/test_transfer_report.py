"""Transfer (issue 20): Table 5, the comparisons on pretrained models, the figure, and the report's
Transfer section in a real executed notebook, on a synthetic table with the contract's columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

import analysis as A
from analysis.errors import AnalysisError
from analysis.report.sections_transfer import is_transfer, transfer_section
from analysis.text.transfer import TRANSFER_BESIDE_PAPER
from analysis.synthetic import synthetic_results, synthetic_transfer


def _source():
    """The source experiment's results: 3 seeds of A1/A2/A3, named as synthetic_transfer's models."""
    src = synthetic_results(3, [{"recipe": r} for r in ("a1", "a2", "a3")], extra_sets=())
    src["trial_id"] = [f"src_{r}_{i % 3:02d}" for i, r in enumerate(src["recipe"])]
    return src


@pytest.fixture(scope="module")
def transfer_table():
    return synthetic_transfer(seed=3)


def test_table5_cells_are_mean_std_over_fine_tunings(transfer_table):
    df = transfer_table
    src = _source()
    t5 = A.format_table5(df, source=src, baseline={"cars": 92.5}, baseline_name="torchvision")
    frame = t5.table.frame
    assert list(frame.columns) == ["", "a1", "a2", "a3", "torchvision"]
    assert frame.iloc[0, 0] == "imagenet (source val)"
    g = df[(df["dataset"] == "cars") & (df["pretrain_recipe"] == "a2")]["top1"]
    cell = frame.loc[frame[""] == "cars", "a2"].item()
    assert cell == f"{g.mean():.2f} ({g.std(ddof=1):.2f})"
    assert frame.loc[frame[""] == "cars", "torchvision"].item() == "92.50"
    assert frame.loc[frame[""] == "flowers", "torchvision"].item() == "–"
    num = t5.numbers.set_index(["row", "column"])
    assert num.loc[("cars", "a2"), "n"] == 9 and num.loc[("cars", "a2"), "n_models"] == 3


def test_comparisons_use_pretrained_models_as_units(transfer_table):
    cmp = A.transfer_comparisons(transfer_table, baseline="a2")
    assert set(cmp["name_b"]) == {"a2 on cars", "a2 on cifar100", "a2 on flowers"}
    assert (cmp["n_a"] == 3).all() and (cmp["n_b"] == 3).all()  # 3 models, not 9 fine-tunings
    means = A.model_means(transfer_table)
    row = cmp[cmp["name_a"] == "a1 on cars"].iloc[0]
    direct = (means.query("dataset == 'cars' and pretrain_recipe == 'a1'")["top1"].mean()
              - means.query("dataset == 'cars' and pretrain_recipe == 'a2'")["top1"].mean())
    assert row["diff"] == pytest.approx(direct)
    with pytest.raises(AnalysisError, match="not in the table"):
        A.transfer_comparisons(transfer_table, baseline="a9")
    poi = A.transfer_improvement(transfer_table, "a1", "a3")
    assert poi.tasks == ("cars", "cifar100", "flowers") and poi.n_x == (3, 3, 3)


def test_transfer_variance_unbalanced_and_per_recipe():
    rng_sizes = iter([2, 3, 4, 5] * 30)
    df = synthetic_transfer(n_finetunes=lambda rng: next(rng_sizes), seed=4)
    df.loc[df.index[:2], "status"] = "ERROR"
    var = A.transfer_variance(df, n_draws=2000)
    pooled = var[var["pretrain_recipe"] == "all"]
    assert list(pooled["dataset"]) == ["cars", "cifar100", "flowers"]
    assert (~pooled["balanced"]).all() and pooled["notes"].str.contains("unbalanced").all()
    assert len(var) == 3 * 4 and "ERROR: 2" in var.attrs["excluded"]
    one = var[var["pretrain_recipe"] == "a1"].iloc[0]
    assert one["n_models"] == 3 and one["between_ci_low"] <= one["between"] + 1e-12


def test_plot_transfer_draws_a_panel_per_target(transfer_table):
    fig = A.plot_transfer(transfer_table)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["cars", "cifar100", "flowers"]
    points = [c for c in axes[0].collections if isinstance(c, PathCollection)]
    assert len(points) == 9 and sum(len(c.get_offsets()) for c in points) == 27  # a colour per model


def test_transfer_step_only_for_transfer_tables(tmp_path, transfer_table):
    """The notebook gets the Transfer heading and cell for a table with pretrain_recipe, not otherwise."""
    from analysis.report.cells import cells

    for name, df, want in (("t", transfer_table, True), ("p", synthetic_results(3, extra_sets=()), False)):
        exp = tmp_path / name
        exp.mkdir()
        df.to_parquet(exp / "results.parquet")
        sources = [src for _, src in cells(exp / "results.parquet", exp, exp, None)]
        assert any(src.startswith("## Transfer") for src in sources) is want
        assert any("S.transfer_section(" in src for src in sources) is want
    assert is_transfer(transfer_table) and is_transfer(synthetic_results(2)) is None
    assert is_transfer(tmp_path / "t") and is_transfer(tmp_path / "p") is None


def test_find_transfer_source(tmp_path):
    from analysis.sections import find_transfer_source

    assert find_transfer_source(tmp_path) is None  # no manifest
    (tmp_path / "sweep.json").write_text(json.dumps({"trials": []}))
    assert find_transfer_source(tmp_path) is None  # not a transfer
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "sweep.json").write_text(json.dumps({"transfer": {"source": str(src)}}))
    with pytest.raises(AnalysisError, match="results"):
        find_transfer_source(tmp_path)
    synthetic_results(2, extra_sets=()).to_parquet(src / "results.parquet")
    assert len(find_transfer_source(tmp_path)) == 2


def test_transfer_section_with_predictions(transfer_table):
    """Sentences and report.json entries; per-image predictions add the test-set-noise parts."""
    rng = np.random.default_rng(0)
    rows = []
    for tid in transfer_table["trial_id"].astype(str):
        correct = rng.random(100) < 0.9
        rows.append(pd.DataFrame({"trial_id": tid, "eval_set": "val", "crop_pct": 0.95, "test_res": 224,
                                  "image": np.arange(100), "target": 0, "pred": np.where(correct, 0, 1),
                                  "correct": correct}))
    preds = pd.concat(rows, ignore_index=True)
    sec = transfer_section(transfer_table, preds, baseline="pretrain_recipe=a3")
    said = sec.sentences
    assert said[0].startswith("9 pretrained models (a1, a2, a3) fine-tuned 3 times on each of 3 targets")
    assert sum(s.startswith("On ") and "validation images" not in s for s in said) == 3
    assert sum("100 validation images" in s for s in said) == 3
    assert not any("Without per-image predictions" in s for s in said)
    assert any("unit of replication" in s for s in said)
    assert all("vs 3 pretrained models" in s for s in said if "not resolvable" in s)
    assert {r["name_b"] for r in sec.data["comparisons"]} == {f"a3 on {t}" for t in ("cars", "cifar100", "flowers")}
    pooled = sec.table[sec.table["pretrain_recipe"] == "all"]
    assert np.isfinite(pooled["within_example_share"]).all()
    assert "table5" in sec.json() and sec.after()[0] == sec.table5.markdown
    paper = sec.after()[1].markdown  # the paper's own Table 5, folded, from the packaged values
    assert "| Flowers-102 | 2,040 / 6,149 | 97.9 | 97.9 | 97.9 | 97.5 |" in paper


@pytest.mark.slow
def test_transfer_section_in_executed_report(tmp_path, transfer_table):
    """A real notebook on a real kernel: 36 s on the shared 2-core machine."""
    exp, src = tmp_path / "transfer", tmp_path / "source"
    exp.mkdir()
    src.mkdir()
    transfer_table.to_parquet(exp / "results.parquet")
    _source().to_parquet(src / "results.parquet")
    (exp / "sweep.json").write_text(json.dumps({"trials": [], "transfer": {"source": str(src)}}))
    paths = A.make_report(exp)
    rep = json.loads(paths.json.read_text())
    said = rep["conclusions"]["transfer"]
    assert sum(s.startswith("On ") for s in said) == 3
    assert any("probability" in s for s in said)
    html = paths.html.read_text()
    assert "<h2" in html and "Transfer</h2>" in html or "Transfer" in html.split("Provenance")[-1]
    assert (paths.json.parent / "figures" / "transfer_per_target.png").is_file()
    assert np.isfinite([r["share_between"] for r in rep["transfer"]["variance"]]).all()
    assert "imagenet (source val)" in rep["table5"]["markdown"]
    assert "comparisons" not in rep["conclusions"] and "summary" not in rep["conclusions"]
    assert rep["headline"]["answer"][0] == said[0]


def test_transfer_section_says_what_a_thin_design_cannot_give():
    """One fine-tuning per model: no split; one model of a recipe: no comparison, no interval."""
    once = transfer_section(synthetic_transfer(n_finetunes=1, targets={"x": (500, 90.0)}))
    assert once.sentences[0].startswith("9 pretrained models (a1, a2, a3) fine-tuned once on each of 1 target (x)")
    assert "not estimated" in once.sentences[2] and "2 fine-tunings" in once.sentences[2]
    assert "Without per-image predictions" in " ".join(once.sentences)
    thin = transfer_section(synthetic_transfer(n_models={"a1": 1, "a2": 3, "a3": 2}, n_finetunes=2))
    assert any("a1 on cars has 1 pretrained model(s)" in s for s in thin.sentences)
    poi = [s for s in thin.sentences if s.startswith("Across the 3 targets") and "with a1 " in s]
    assert poi and all("no interval" in s for s in poi)


def test_transfer_report_has_no_per_seed_sections(tmp_path):
    """Fine-tunings are not seeds: no section outside Transfer counts them as such (9 vs 9 seeds),
    the answer's headline is the Transfer section's, the notebook has no per-seed cell."""
    from analysis.report.cells import cells
    from analysis.report.steps import SKIP_FOR_TRANSFER, build_report

    df = synthetic_transfer(n_models=3, n_finetunes=3)
    rep = build_report(df, tmp_path)
    assert not SKIP_FOR_TRANSFER & set(rep["conclusions"]), set(rep["conclusions"])
    said = " ".join(s for v in rep["conclusions"].values() for s in v)
    assert "9 vs 9" not in said and "transfer" in rep["conclusions"]
    assert rep["conclusions"]["beside_paper"] == [TRANSFER_BESIDE_PAPER]  # not "runs none of A1/A2/A3"
    head = rep["headline"]
    assert head["answer"][0] == rep["conclusions"]["transfer"][0] and "left out" in head["answer"][1]
    df.to_parquet(tmp_path / "results.parquet")
    sources = [src for _, src in cells(tmp_path / "results.parquet", tmp_path, tmp_path, None)]
    assert not any("comparisons_section" in src or "summary_section" in src for src in sources)


def test_transfer_section_without_variance_says_so():
    """Every fine-tuning scoring the same: no NaN share, no 'interval holds both halves'."""
    df = synthetic_transfer(targets={"x": (100, 90.0)}).assign(top1=90.0)
    said = transfer_section(df).sentences
    assert sum("no variance to split" in s for s in said) == 1
    assert not any("NaN" in s or "both halves" in s for s in said)


def test_transfer_rows_without_keys_are_counted_and_said():
    df = synthetic_transfer()
    df.loc[df.index[:3], "pretrain_trial"] = None
    df.loc[df.index[3], "status"] = "ERROR"
    from analysis.groups.transfer import transfer_rows

    usable, excluded = transfer_rows(df)
    assert len(usable) == len(df) - 4 and len(excluded) == 4
    assert (excluded["reason"] == "no dataset / pretrain_recipe / pretrain_trial").sum() == 3
    said = " ".join(transfer_section(df).sentences)
    assert "no dataset / pretrain_recipe / pretrain_trial: 3" in said and "ERROR: 1" in said


def test_transfer_refuses_several_fine_tuning_recipes():
    df = synthetic_transfer()
    df.loc[df.index[::2], "recipe"] = "ft2"
    with pytest.raises(AnalysisError, match="2 fine-tuning recipes.*filter the results on `recipe`"):
        A.model_means(df)
    with pytest.raises(AnalysisError, match="fine-tuning recipes"):
        A.transfer_variance(df)


def test_table5_source_row_is_the_fine_tuned_models_only():
    """A source trial that no fine-tuning starts from is not in Table 5's source row."""
    df = synthetic_transfer(n_models=2)
    src = _source()
    src.loc[src["trial_id"].str.endswith("_02"), "top1"] = 0.0  # the model never fine-tuned
    num = A.format_table5(df, source=src).numbers.set_index(["row", "column"])
    row = num.loc[("imagenet (source val)", "a1")]
    kept = src[(src["recipe"] == "a1") & ~src["trial_id"].str.endswith("_02")]["top1"]
    assert row["n"] == 2 and row["mean"] == pytest.approx(kept.mean())


def test_transfer_overview_unbalanced_caption_and_all_error(tmp_path):
    df = synthetic_transfer()
    lacks = df[~((df["pretrain_trial"] == "src_a1_00") & (df["dataset"] == "cars"))]
    first = transfer_section(lacks).sentences[0]
    assert "on each of" not in first and "not every model on every target (8–9 models a target)" in first
    assert transfer_section(df).sentences[0].startswith("9 pretrained models (a1, a2, a3) fine-tuned 3 times on each")
    assert "each model's mean over its fine-tunings" in A.format_table5(df).table.latex
    failed = df.assign(status="ERROR")
    sec = transfer_section(failed)
    assert sec.table5 is None and "no usable fine-tuning" in sec.sentences[0] and "ERROR: 81" in sec.sentences[0]
    from analysis.report.steps import build_report

    assert build_report(failed, tmp_path)["conclusions"]["transfer"] == sec.sentences
