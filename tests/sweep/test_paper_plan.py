"""`rsb-sweep paper`'s plan (fast): each (configuration, seed) once across studies, --only, the
default seeds against what Holm needs, the exit status of the parts, the index from report.json."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis import make_report
from analysis.contract import ERROR, PENDING, TERMINATED
from analysis.stats.paired import seeds_to_resolve
from analysis.stats.permutation import smallest_permutation_p
from rsb_sweep.cli import main
from rsb_sweep.cli.exitstatus import ExitStatus
from rsb_sweep.cli.paper import most_severe, paper_exit_status
from rsb_sweep.driver.paper import PaperOutcome, with_report
from rsb_sweep.driver.paper_plan import STUDIES, Study, build_plan, config_key, parse_only
from rsb_sweep.driver.sweep import SweepOutcome
from rsb_sweep.errors import SweepError
from rsb_sweep.experiment.paper_index import INDEX_HTML, INDEX_JSON, IndexRow, beside_paper_summary, write_index


#: Table 1's own file is written by another part of issue 19; the three-recipe sweep has its design.
TABLE1_STANDIN = Study(key="table1", title="A1/A2/A3", sweep_file="recipes_a1_a2_a3.yaml", seeds=10, family=3)
BY_KEY = {s.key: s for s in STUDIES}


def test_each_configuration_and_seed_is_one_training_across_studies():
    studies = [TABLE1_STANDIN, BY_KEY["fig2"], BY_KEY["table9"], BY_KEY["fig4"]]
    plan = build_plan(studies, seeds=3)
    models = {t.trial_id: t for t in plan.models}
    keys = [config_key(t) for t in plan.models]
    assert len(set(keys)) == len(keys) == len(models) == 9  # A1/A2/A3 × 3 seeds; Figure 2's A2 seeds are those
    by_study = {sp.study.key: sp for sp in plan.studies}
    assert [by_study[k].new for k in ("table1", "fig2", "table9", "fig4")] == [9, 0, 0, 0]
    for sp in plan.studies:
        assert set(sp.links) == {t.trial_id for t in sp.trials}
        for trial in sp.trials:  # the linked training is this trial's very config, seeds included
            assert config_key(models[sp.links[trial.trial_id]]) == config_key(trial)
    a2_of_table9 = {t.config.seed: by_study["table9"].links[t.trial_id] for t in by_study["table9"].trials
                    if t.config.recipe == "a2"}
    assert {t.config.seed: by_study["fig2"].links[t.trial_id] for t in by_study["fig2"].trials} == a2_of_table9
    assert by_study["table9"].spec.evaluate.crop_pct and not by_study["table9"].spec.grid.get("crop_pct")


def test_more_seeds_in_one_study_add_only_its_new_seeds():
    fig2 = build_plan([BY_KEY["table9"], Study(key="fig2", title="f", sweep_file="fig2_seeds_a2.yaml", seeds=5)])
    by_study = {sp.study.key: sp for sp in fig2.studies}
    assert by_study["table9"].new == 3 * BY_KEY["table9"].seeds
    assert by_study["fig2"].new == max(0, 5 - BY_KEY["table9"].seeds)
    plan = build_plan([BY_KEY["table9"], BY_KEY["fig2"]])
    assert {sp.study.key: sp.new for sp in plan.studies}["fig2"] == BY_KEY["fig2"].seeds - BY_KEY["table9"].seeds


def test_an_evaluation_only_study_trains_nothing_and_needs_its_models():
    evaluated = Study(key="table5", title="t", sweep_file="fig2_seeds_a2.yaml", seeds=2, evaluation_only=True)
    with pytest.raises(SweepError, match="add the study that trains them"):
        build_plan([evaluated], seeds=2)
    plan = build_plan([BY_KEY["fig2"], evaluated], seeds=2)
    assert [sp.new for sp in plan.studies] == [2, 0] and len(plan.models) == 2


def test_default_seeds_can_reach_alpha_after_holm():
    for study in STUDIES:
        if study.family <= 1 or study.seeds is None:
            continue
        assert study.seeds >= seeds_to_resolve(study.family, 0.05), study.key  # paired by seed
        assert study.family * smallest_permutation_p(study.seeds, study.seeds) < 0.05, study.key  # unpaired
    shared = {s.seeds for s in STUDIES if s.key in ("table1", "table9", "fig4")}
    assert len(shared) == 1  # the same models: more seeds for one of them would cost the others nothing


def test_only_names_studies_and_refuses_unknown_ones():
    assert [s.key for s in parse_only(None)] == ["table1", "fig2", "table9", "fig4", "drop_path", "smoothing"]
    assert [s.key for s in parse_only("table9, fig2")] == ["fig2", "table9"]  # in the paper's order
    with pytest.raises(SweepError) as exc:
        parse_only("fig2,tabel9")
    assert "tabel9" in str(exc.value) and all(s.key in str(exc.value) for s in STUDIES)


def test_bad_only_exits_2_naming_the_keys_and_writes_nothing(tmp_path):
    res = CliRunner().invoke(main, ["paper", str(tmp_path / "p"), "--only", "fig9"])
    assert res.exit_code == 2, res.output
    assert "fig9" in res.output and "table9" in res.output and "drop_path" in res.output
    assert not (tmp_path / "p").exists()


def _sweep(counts: dict[str, int]) -> SweepOutcome:
    return SweepOutcome(results=pd.DataFrame({"status": []}), counts=counts, wall_seconds=0.0)


def _row(key: str, status: str) -> IndexRow:
    return IndexRow(key=key, title=key, status=status, folder=key, report=None, trials={}, evaluations={},
                    beside_paper=None)


def test_exit_status_is_the_most_severe_part():
    done = _sweep({TERMINATED: 3})
    outcome = lambda sweep, *statuses: PaperOutcome(models=sweep, rows=tuple(_row(f"s{i}", s) for i, s in enumerate(statuses)),
                                                     index=(), wall_seconds=0.0)
    assert paper_exit_status(outcome(done, "done", "done")) == ExitStatus.OK
    assert paper_exit_status(outcome(done, "done", "report_failed")) == ExitStatus.TRIALS_FAILED
    assert paper_exit_status(outcome(done, "failed", "unfinished", "done")) == ExitStatus.UNFINISHED
    assert paper_exit_status(outcome(_sweep({TERMINATED: 2, ERROR: 1}), "done")) == ExitStatus.TRIALS_FAILED
    assert paper_exit_status(outcome(_sweep({ERROR: 1, PENDING: 1}), "failed")) == ExitStatus.UNFINISHED
    assert most_severe([]) == ExitStatus.OK


def test_index_counts_come_from_each_report_json(tmp_path):
    rng = random.Random(19)
    expected, rows = {}, []
    for key in ("fig2", "table9", "fig4"):
        folder = tmp_path / key
        folder.mkdir()
        directions = [rng.choice(["agree", "disagree", "undecided"]) for _ in range(rng.randint(1, 9))]
        beside = [{"table": key, "comparison": f"c{i}", "paper": 1.0, "run": 2.0, "direction": d,
                   "decided": d != "undecided", "sentence": "…"} for i, d in enumerate(directions)]
        (folder / "report.json").write_text(json.dumps({"beside_paper": beside} if key != "fig2" else {}))
        (folder / "report.html").write_text("<html></html>")
        expected[key] = {d: directions.count(d) for d in ("agree", "disagree", "undecided")} if key != "fig2" else None
        row = IndexRow(key=key, title=key, status="done", folder=key, report=None, trials={TERMINATED: 2},
                       evaluations={}, beside_paper=None, state="s")
        rows.append(with_report(tmp_path, row, {"state": "s", "report": f"{key}/report.html"}, lambda line: None,
                                make_report))
    write_index(tmp_path, rows, {"trainings": 2, "trials": {TERMINATED: 2}})
    doc = json.loads((tmp_path / INDEX_JSON).read_text())
    assert {r["key"]: r["beside_paper"] for r in doc["studies"]} == expected
    assert [r["report"] for r in doc["studies"]] == ["fig2/report.html", "table9/report.html", "fig4/report.html"]
    page = (tmp_path / INDEX_HTML).read_text()
    assert page.count('href="') == 3 and "table9/report.html" in page
    assert beside_paper_summary(tmp_path / "missing.json") is None


def test_the_parent_links_each_study_trial_to_its_one_training_and_is_never_overwritten(tmp_path):
    from rsb_sweep.driver.paper import create_paper
    from rsb_sweep.spec.execution import Execution

    plan = build_plan([BY_KEY["fig2"], BY_KEY["table9"]], seeds=2)
    create_paper(tmp_path / "p", plan, Execution())
    models = tmp_path / "p" / "models" / "trials"
    assert len(list(models.iterdir())) == len(plan.models) == 6
    for sp in plan.studies:
        for tid, uid in sp.links.items():
            link = tmp_path / "p" / sp.study.key / "trials" / tid
            assert link.is_symlink() and not link.readlink().is_absolute() and link.resolve() == (models / uid).resolve()
    before = sorted(p.name for p in (tmp_path / "p").iterdir())
    with pytest.raises(SweepError, match="rsb-sweep resume"):
        create_paper(tmp_path / "p", plan, Execution())
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == before


def test_dry_run_lists_the_studies_and_writes_nothing(tmp_path):
    res = CliRunner().invoke(main, ["paper", str(tmp_path / "p"), "--only", "table9,fig2", "--seeds", "3", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "9 distinct (configuration, seed) trainings" in res.output and "(3 new, 0 shared)" in res.output
    assert not (tmp_path / "p").exists()


def test_a_report_that_cannot_be_made_is_that_study_failing(tmp_path):
    (tmp_path / "fig2").mkdir()  # no results table: make_report refuses it
    row = IndexRow(key="fig2", title="f", status="done", folder="fig2", report=None, trials={TERMINATED: 2},
                   evaluations={}, beside_paper=None, state="s")
    lines: list[str] = []
    out = with_report(tmp_path, row, None, lines.append, make_report)
    assert out.status == "report_failed" and out.error.startswith("report failed") and out.report is None
    assert any("report failed" in line for line in lines) and "Traceback" in (tmp_path / "fig2" / "report-error.txt").read_text()
    unfinished = with_report(tmp_path, IndexRow(**{**row.__dict__, "status": "unfinished"}), None, lines.append,
                             make_report)
    assert unfinished.status == "unfinished" and unfinished.error is None  # no report tried before the trials end


def test_a_second_driver_on_the_same_parent_is_refused_and_leaves_the_index_alone(tmp_path):
    from rich.console import Console

    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.paper import create_paper, run_paper
    from rsb_sweep.experiment.folder import DriverLock, ExperimentError
    from rsb_sweep.spec.execution import Execution

    create_paper(tmp_path / "p", build_plan([BY_KEY["fig2"]], seeds=1), Execution())
    with DriverLock(tmp_path / "p"):
        with pytest.raises(ExperimentError, match="another rsb-sweep is running"):
            run_paper(tmp_path / "p", LaunchOptions(quiet=True), Console(quiet=True), on_dispatch=lambda: None,
                      make_report=make_report)
    assert not (tmp_path / "p" / INDEX_JSON).exists()


def test_help_names_every_study():
    text = " ".join(CliRunner().invoke(main, ["paper", "--help"]).output.split())
    assert all(s.key in text for s in STUDIES)
    assert ", ".join(s.key for s in parse_only(None)) in text  # the defaults, as --only's help lists them
