"""The report reads evaluations.parquet: loading, the baseline split, the paired section, Table 9 and
Figure 4, on contract-exact synthetic tables (analysis.synthetic.synthetic_evaluations)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import analysis as A
from analysis import AnalysisError
import analysis.sections as S
from analysis.contract import EVALUATION_COLUMNS
from analysis.groups.baseline import split_baseline
from analysis.groups.evaluations import figure4_choice, paired_baseline, paired_within
from analysis.present.tables_paired import table9_tables
from analysis.report.output import to_jsonable
from analysis.synthetic import synthetic_evaluations, synthetic_results

#: Sentence of the comparisons section for evaluation-only factors of an old folder (no evaluations file).
OLD_SKIP = ("crop_pct changes only the evaluation of a trained model: this report does not compare separately "
            "trained models on it; `rsb-sweep evaluate` scores each trained model at every value, and the report "
            "then compares them paired by trial.")


def _folder(path, results, evaluations=None):
    path.mkdir(parents=True, exist_ok=True)
    results.to_parquet(path / "results.parquet")
    if evaluations is not None:
        evaluations.to_parquet(path / "evaluations.parquet")
    return path


def _built(df, folder, baseline=None):
    return json.loads(json.dumps(to_jsonable(S.build_report(df, folder, baseline))))


def test_load_evaluations_reads_the_contract_and_names_the_file_in_every_error(tmp_path):
    results, ev = synthetic_evaluations(2, recipes=("a2",), crop_pct=(0.9, 0.95))
    assert list(ev.columns) == list(EVALUATION_COLUMNS)
    exp = _folder(tmp_path / "exp", results, ev)
    for where in (exp, exp / "evaluations.parquet"):
        got = A.load_evaluations(where)
        pd.testing.assert_frame_equal(got, ev)
        assert got.attrs["source"] == str(exp / "evaluations.parquet")
    assert got["test_res"].dtype == "Int64" and got["source"].dtype == "string"
    # the report finds it from the folder or from a results file inside it; an old folder has none
    assert len(S.find_evaluations(exp / "results.parquet")) == len(ev)
    old = _folder(tmp_path / "old", results)
    assert S.find_evaluations(old) is None
    with pytest.raises(AnalysisError, match=r"old has no evaluations.parquet: `rsb-sweep evaluate .*old --crop-pct"):
        A.load_evaluations(old)
    bad = tmp_path / "bad"
    bad.mkdir()
    ev.drop(columns="source").to_parquet(bad / "evaluations.parquet")
    with pytest.raises(AnalysisError, match=r"evaluations table .*bad/evaluations.parquet needs column\(s\) source"):
        A.load_evaluations(bad)
    ev.assign(source=["training", "retrained"] * (len(ev) // 2)).to_parquet(bad / "evaluations.parquet")
    with pytest.raises(AnalysisError, match=r"bad/evaluations.parquet: column source holds 'retrained'"):
        S.find_evaluations(bad)
    ev.iloc[:0].to_parquet(bad / "evaluations.parquet")
    with pytest.raises(AnalysisError, match=r"bad/evaluations.parquet is empty.*rsb-sweep evaluate"):
        A.make_report(_folder(bad, results))  # before any kernel starts
    assert not (bad / "report.ipynb").exists()
    one = ev[(ev["eval_set"] == "val") & (ev["test_res"] == ev["test_res"].iloc[0])]
    assert A.format_table9(one).markdown == A.format_table9_paired(one).markdown  # Table 9 reads evaluations
    with pytest.raises(AnalysisError, match="baseline crop_pct='wide' is not a number"):
        A.make_report(exp, baseline="recipe=a2,crop_pct=wide")
    assert not (exp / "report.ipynb").exists()


def test_a_baseline_spec_splits_into_its_training_and_evaluation_only_parts():
    assert split_baseline("recipe=a2, crop_pct=0.875") == ("recipe=a2", {"crop_pct": 0.875})
    training, evals = split_baseline("crop_pct=1,test_res=224")
    assert training is None and evals == {"crop_pct": 1.0, "test_res": 224} and type(evals["test_res"]) is int
    assert split_baseline({"lr": 5e-3, "crop_pct": 0.9}) == ({"lr": 5e-3}, {"crop_pct": 0.9})
    assert split_baseline(("a2", 0.95)) == (("a2", 0.95), {}) and split_baseline(None) == (None, {})
    with pytest.raises(AnalysisError, match="baseline crop_pct='big' is not a number; give e.g. crop_pct=0.95"):
        split_baseline("crop_pct=big")


def test_the_default_baseline_is_the_trials_own_setting():
    _, ev = synthetic_evaluations(3, recipes=("a1", "a2"), own_crop=0.9, test_res=(24, 32, 40), train_res=32, own_res=32)
    assert paired_baseline(ev, "crop_pct") == (0.9, "the trials' own setting, as trained")
    assert paired_baseline(ev, "test_res") == (32, "the trials' own setting, as trained")
    assert paired_baseline(ev, "crop_pct", {"crop_pct": 1.0}) == (1.0, "given")
    # recipes trained at different crops: the most common own setting, counted once per trial
    _, other = synthetic_evaluations(3, recipes=("a3",), own_crop=1.0, seed=4)
    mixed = pd.concat([ev, other.assign(trial_id="x" + other["trial_id"])], ignore_index=True)
    assert paired_baseline(mixed, "crop_pct") == (0.9, "the most common of the trials' own settings, that of 6 of 9 trials")
    # no row is a trial's own setting: the level with the most rows
    no_own = ev[ev["source"] == "evaluation"]
    no_own = no_own[~((no_own.crop_pct == 0.875) & (no_own.seed == 0))]
    assert paired_baseline(no_own, "crop_pct")[0] == 0.95
    choice = figure4_choice(ev)
    assert choice == {"eval_set": "val", "crop_pct": 0.9, "by": ["recipe"], "chosen": "the trials' own crop ratio"}


def test_paired_section_3_seeds_are_not_resolvable_10_are_decided_and_failed_rows_are_counted():
    _, ev3 = synthetic_evaluations(3, recipes=("a1", "a3"))
    sec = S.paired_section(ev3)
    cmp = sec.data["crop_pct"]
    assert len(cmp) == 6 and (cmp["verdict"] == "not_resolvable").all() and list(sec.data) == ["crop_pct"]
    assert sec.paired_baseline == {"crop_pct": {"value": 0.95, "chosen": "the trials' own setting, as trained"}}
    assert all(s in sec.sentences for s in cmp["sentence"])
    assert "not resolvable with 3 non-tied pair(s)" in cmp["sentence"].iloc[0] and sec.figure4 is None and sec.figures == []

    _, ev = synthetic_evaluations(10, recipes=("a1", "a3"), n_eval_error=1, n_pending=2)
    sec = S.paired_section(ev, "recipe=a3,crop_pct=0.875")  # the training part is the comparisons'
    cmp = sec.data["crop_pct"].set_index(["recipe", "level"])
    again = A.compare_paired(ev, "crop_pct", 0.875, ["recipe"]).set_index(["recipe", "level"])
    pd.testing.assert_frame_equal(cmp, again, check_like=True)
    assert cmp["verdict"].tolist() == ["a_better"] * 6  # 0.9, 0.95, 1.0 all above 0.875 on 10 of 10 seeds
    # the ERROR and PENDING evaluations (at crop 1.0) are excluded, counted and named, never dropped silently
    one = cmp.loc[("a1", 1.0)]
    assert (one["n_pairs"], one["n_excluded"], one["excluded"]) == (7, 3, "ERROR: 1, PENDING: 2")
    assert "excluded rows: ERROR: 1, PENDING: 2" in one["sentence"]
    assert sec.sentences[0] == ("evaluations.parquet holds 80 rows: 20 trained model(s) evaluated on val at crop_pct "
                                "0.875, 0.9, 0.95, 1; test_res 224. 6 row(s) are excluded from every paired statistic "
                                "(ERROR: 2, PENDING: 4) and counted in each comparison they touch.")
    assert sec.paired_baseline["crop_pct"] == {"value": 0.875, "chosen": "given"}
    # nothing varies: the section says so; a baseline it cannot use is named
    one_crop = ev[ev.crop_pct == 0.95]
    sec = S.paired_section(one_crop, "test_res=160")
    assert sec.data == {} and sec.table is None
    assert sec.sentences[0].endswith("there is nothing to compare paired.")
    assert sec.sentences[1] == "The baseline's test_res=160 is not used: the evaluations hold one value of it."


def test_table9_and_figure4_from_evaluations_per_eval_set_and_resolution():
    _, ev = synthetic_evaluations(4, recipes=("a1", "a3"), test_res=(24, 32, 40), eval_sets=("val", "real"),
                                  train_res=32, own_res=32)
    tables, notes = table9_tables(ev, "crop_pct=1.0")
    assert notes == [] and [t["title"] for t in tables] == [
        f"eval_set={s}, test_res={r}" for s in ("real", "val") for r in (24, 32, 40)]
    val32 = tables[4]
    expect = A.format_table9_paired(ev[(ev.eval_set == "val") & (ev.test_res == 32)], baseline=1.0)
    assert val32["markdown"] == expect.markdown and val32["latex"] == expect.latex and val32["baseline"] == 1.0
    sec = S.paired_section(ev)
    f4 = sec.figure4
    assert f4 == {"eval_set": "val", "crop_pct": 0.95, "by": ["recipe"], "chosen": "the trials' own crop ratio"}
    (plan,) = sec.figures
    assert plan.key == "figure4" and plan.plot is A.plot_test_res and plan.kwargs["by"] == ["recipe"]
    rows = plan.kwargs["evaluations"]
    assert set(rows["eval_set"]) == {"val"} and set(rows["crop_pct"]) == {0.95} and len(rows) == 2 * 4 * 3
    mean = rows[rows.recipe == "a3"].groupby("test_res")["top1"].mean()
    assert f"recipe=a3: the mean top1 over 4 seed(s) peaks at test_res {mean.idxmax()} ({mean.max():.2f}" \
        in " ".join(sec.sentences)
    # test_res is compared too, each resolution against the trials' own, within crop and eval set
    res = sec.data["test_res"]
    assert set(res["level"]) == {24, 40} and (res["baseline"] == 32).all() and len(res) == 2 * 2 * 4 * 2
    assert {"factor", "recipe", "eval_set", "crop_pct", "test_res", "level", "verdict"} <= set(sec.table.columns)
    # many rows: the decided ones and a count (at 4 seeds none is decided); report.json keeps every sentence
    assert ("36 paired comparisons of crop_pct: 36 not resolvable (every sentence is in report.json)."
            in sec.sentences)
    # every evaluation of Figure 4's slice failed: no figure, a sentence saying why
    failed = ev.copy()
    hit = (failed.crop_pct == 0.95) & (failed.eval_set == "val")
    failed.loc[hit, ["status", "top1"]] = ["ERROR", np.nan]
    sec = S.paired_section(failed)
    assert sec.figure4 is None and sec.figures == [] and "figure4" not in sec.json()
    assert "Figure 4 is not drawn: no evaluation on val at crop_pct=0.95 finished with a top-1." in sec.sentences


def test_another_varying_training_column_slices_the_pairs_and_table9():
    _, a = synthetic_evaluations(3, recipes=("a2",))
    _, b = synthetic_evaluations(3, recipes=("a2",), seed=5)
    ev = pd.concat([a, b.assign(trial_id="b" + b["trial_id"], lr=3e-3)], ignore_index=True)
    assert paired_within(ev) == ["recipe", "lr"]
    cmp = S.paired_section(ev).data["crop_pct"]
    assert sorted(set(cmp["lr"])) == [0.003, 0.005] and len(cmp) == 6 and (cmp["n_pairs"] == 3).all()
    tables, _ = table9_tables(ev)
    assert [t["title"] for t in tables] == ["eval_set=val, test_res=224, lr=0.003",
                                            "eval_set=val, test_res=224, lr=0.005"]
    assert "(one per eval_set, test_res, lr)" in S.summary_section(ev, ["recipe"], ev).sentences[-1]


def test_plot_vs_draws_a_text_column_at_named_positions():
    results, _ = synthetic_evaluations(3, recipes=("a3", "a1"))
    ax = A.plot_vs(results, "recipe").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a1", "a3"]
    means = results.groupby("recipe")["top1"].mean()
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([means["a1"], means["a3"]])


def test_comparisons_point_at_the_paired_section_and_old_folders_report_as_before(tmp_path):
    # old folder: crop_pct varies across results rows, no evaluations.parquet: today's report
    old_df = synthetic_results(5, [dict(crop_pct=0.875), dict(crop_pct=1.0, shift=-0.5)], seed=7)
    old = _folder(tmp_path / "old", old_df)
    rep = _built(old_df, old, "crop_pct=0.875")
    assert rep["conclusions"]["comparisons"][0] == OLD_SKIP
    assert "paired_comparisons" not in rep and "figure4" not in rep and rep["table9"]["source"] == "results"
    summary = A.summarize(old_df, by=["crop_pct"], metric=["top1", "top1_real", "top1_v2"])
    assert rep["table9"]["markdown"] == A.format_table9(summary).markdown
    assert [k for k in rep["conclusions"]] == ["summary", "normality", "outliers", "test_set_noise",
                                               "variance_components", "comparisons", "seeds_needed", "expected_max",
                                               "beside_paper", "provenance"]
    # new folder: one row per trained model; the crop part of the baseline goes to the paired section
    results, ev = synthetic_evaluations(5, recipes=("a1", "a2", "a3"))
    new = _folder(tmp_path / "new", results, ev)
    rep = _built(results, new, "recipe=a2,crop_pct=0.875")
    skip = rep["conclusions"]["comparisons"][0]
    assert skip.startswith("crop_pct changes only the evaluation") and "it is compared" in skip and "in the paired comparisons section" in skip
    assert rep["baseline"] == {"spec": "recipe=a2", "chosen": "given"}
    assert {c["name_b"] for c in rep["comparisons"]} == {"recipe=a2"}
    assert rep["paired_baseline"] == {"crop_pct": {"value": 0.875, "chosen": "given"}}
    assert rep["table9"]["source"] == "evaluations" and rep["table9"]["baseline"] == 0.875
    assert "Δ vs 0.875 (paired)" in rep["table9"]["markdown"]
    assert [r["verdict"] for r in rep["paired_comparisons"]["crop_pct"]] == ["not_resolvable"] * 9


@pytest.fixture(scope="module")
def evaluated_report(tmp_path_factory):
    """An experiment after `rsb-sweep evaluate`: 2 recipes × 10 seeds trained once, evaluated at 4 crop ratios
    × 3 test resolutions, one evaluation ERROR and two PENDING per recipe; the report run on a real kernel."""
    results, ev = synthetic_evaluations(10, recipes=("a1", "a3"), test_res=(24, 32, 40), train_res=32, own_res=32,
                                        n_eval_error=1, n_pending=2, experiment="table9")
    exp = _folder(tmp_path_factory.mktemp("table9"), results, ev)
    paths = A.make_report(exp, baseline="recipe=a1,crop_pct=0.875")
    return exp, results, ev, paths


def test_report_notebook_has_the_paired_section_figure4_and_table9_from_evaluations(evaluated_report):
    exp, results, ev, paths = evaluated_report
    names = sorted(p.name for p in paths.figures)
    assert names == ["expected_max.png", "figure2_seed_distribution.png", "figure4_test_res.png", "vs_recipe.png"]
    assert (exp / "figures" / "figure4_test_res.pdf").is_file()
    rep = json.loads(paths.json.read_text())
    assert rep["figures"]["figure4"]["files"][0].endswith("figure4_test_res.png")
    assert {"paired_comparisons", "paired_baseline", "figure4", "table9"} <= set(rep)
    assert rep["paired_baseline"] == {"crop_pct": {"value": 0.875, "chosen": "given"},
                                      "test_res": {"value": 32, "chosen": "the trials' own setting, as trained"}}
    assert rep["baseline"]["spec"] == "recipe=a1"
    crop = rep["paired_comparisons"]["crop_pct"]
    assert len(crop) == 2 * 3 * 3 and {r["verdict"] for r in crop} == {"a_better"}
    excluded = [r for r in crop if r["n_excluded"]]
    assert {(r["level"], r["n_excluded"], r["excluded"]) for r in excluded} == {(1.0, 3, "ERROR: 1, PENDING: 2")}
    assert rep["conclusions"]["paired_comparisons"][0].endswith(
        "18 row(s) are excluded from every paired statistic (ERROR: 6, PENDING: 12) and counted in each "
        "comparison they touch.")
    assert rep["table9"]["source"] == "evaluations" and len(rep["table9"]["tables"]) == 3
    html = paths.html.read_text()
    assert "6c. Crop ratio and test resolution, paired by trial" in html and "Δ vs 0.875 (paired)" in html
    # the notebook's numbers and sentences are what build_report computes without a kernel
    built = _built(results, exp, "recipe=a1,crop_pct=0.875")
    for key in ("paired_comparisons", "paired_baseline", "figure4", "table9"):
        assert rep[key] == built[key], key
    for section in ("summary", "comparisons", "paired_comparisons"):
        assert rep["conclusions"][section] == built["conclusions"][section], section
    assert np.allclose([r["diff"] for r in crop],
                       A.compare_paired(ev, "crop_pct", 0.875, ["recipe"])["diff"].to_numpy())
