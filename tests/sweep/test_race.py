"""``rsb-sweep race``: the plan (configurations, waves, bad input), race.json from a matrix, and the
wave loop on real trainings in this process (the real pack code and evaluation task, no Ray);
the end-to-end run on Ray is tests/sweep/test_race_command.py (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from analysis.sections import build_report
from analysis.stats.race import RACE_VERDICTS, race
from rsb_sweep.cli import main
from rsb_sweep.cli.exitstatus import ExitStatus
from rsb_sweep.driver.options import LaunchOptions
from rsb_sweep.driver.race import race_rows, race_settings_of, race_values, run_race
from rsb_sweep.errors import SweepError
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.race_file import race_doc, read_race
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.expand import expand, move_eval_only
from rsb_sweep.spec.model import EvalPlan, SeedAxis, SweepSpec
from rsb_sweep.spec.race import first_wave, make_race_settings, wave_trials
from tests.sweep.helpers import FAST, results
from tests.sweep.test_ab import pack_launch

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"
TINY = {"epochs": 2, "max_steps": 1, "workers": 0}
GRID = {"lr": [1e-2, 1e-5, 3e-3]}


def _spec(grid=GRID, n=2, **overrides):
    return SweepSpec(name="race", overrides={**TINY, **overrides}, grid=dict(grid), seeds=SeedAxis(n=n))


def _experiment(tmp_path, spec, **settings):
    trials, s = first_wave(spec, make_race_settings(spec, **settings))
    return Experiment.create(tmp_path / "race", spec, Execution(), trials, extra={"race": s.to_dict()})


def _race(exp, **kw):
    from rich.console import Console

    return run_race(exp, LaunchOptions(quiet=True), Console(quiet=True), launch=pack_launch(exp, **kw))


# ------------------------------------------------------------------------------------------ the plan


def test_every_configuration_runs_the_seeds_grid_would_and_later_waves_only_the_survivors():
    spec = _spec(grid={"lr": [1e-2, 1e-5], "loss": ["bce", "ce"]})
    settings = make_race_settings(spec, delta=1.0)
    assert settings.names == ["lr=0.01, loss=bce", "lr=0.01, loss=ce", "lr=1e-05, loss=bce", "lr=1e-05, loss=ce"]
    trials, settings = first_wave(spec, settings)
    grid = {(tuple(t.params.items())): t.config for t in expand(replace_seeds(spec, 4))}
    assert settings.wave_ends == (2,) and len(trials) == 8
    assert all(grid[tuple(t.params.items())] == t.config for t in trials)  # the same trials as `grid --seeds 2`
    later = wave_trials(spec, settings, alive=[1, 3], first_index=8, n=2)
    assert [t.index for t in later] == [8, 9, 10, 11]
    assert [(t.params["loss"], t.params["seed"]) for t in later] == [("ce", 2), ("ce", 2), ("ce", 3), ("ce", 3)]
    assert all(grid[tuple(t.params.items())] == t.config for t in later)  # seeds 2, 3 as `grid --seeds 4`


def replace_seeds(spec, n):
    from dataclasses import replace

    return replace(spec, seeds=SeedAxis(n=n))


def test_an_evaluation_only_grid_trains_one_model_per_seed_and_a_mixed_grid_is_refused():
    spec, _ = move_eval_only(_spec(grid={"crop_pct": [0.8, 0.95], "test_res": [20, 24]}))
    settings = make_race_settings(spec)
    assert settings.eval_only and settings.paired and len(settings.configs) == 4
    trials, _ = first_wave(spec, settings)
    assert [t.trial_id for t in trials] == ["0000-seed0", "0001-seed1"]
    assert spec.evaluate == EvalPlan(crop_pct=(0.8, 0.95), test_res=(20, 24))
    mixed, _ = move_eval_only(_spec(grid={"lr": [1e-2, 1e-3], "crop_pct": [0.8, 0.95]}))
    for bad, says in ((mixed, "not both"), (_spec(grid={"lr": [1e-2]}), "at least two configurations"),
                      (replace_cross(_spec()), "crossed seed design")):
        with pytest.raises(SweepError, match=says):
            make_race_settings(bad)
    with pytest.raises(SweepError, match="--metric top9"):
        make_race_settings(_spec(), metric="top9")
    with pytest.raises(SweepError, match="--max-seeds"):
        make_race_settings(_spec(), max_seeds=1)


def replace_cross(spec):
    from dataclasses import replace

    return replace(spec, seeds=SeedAxis(cross=(("init", 2),)))


def test_race_cli_help_dry_run_and_bad_input_exit_2_writing_nothing(tmp_path):
    helptext = " ".join(CliRunner().invoke(main, ["race", "--help"]).output.split())
    assert "ImageNet-sized test sets" in helptext and "use about 1.0" in helptext
    assert "whatever the verdict" in helptext
    ok = CliRunner().invoke(main, ["race", "--lr", "1e-2,1e-3", "--loss", "bce,ce", *FAST, "--dry-run"])
    assert ok.exit_code == 0, ok.output
    assert "8 trials" in ok.output and "0007-lr0.001-ce-seed1" in ok.output
    out = tmp_path / "never"
    for args, says in ((["--lr", "1e-2,1e-3", "--crop-pct", "0.8,0.9"], "not both"),
                       (["--lr", "1e-2"], "at least two configurations"),
                       (["--lr", "1e-2,1e-3", "--alpha", "2"], "--alpha must lie in (0, 1)"),
                       ([str(SWEEPS / "table6_ablation_a2.yaml"), "--lr", "1e-2,2e-2"], "the grid is the file's"),
                       ([str(SWEEPS / "table9_crop_ratio.yaml")], "not both")):
        bad = CliRunner().invoke(main, ["race", *args, *FAST, "--out", str(out)])
        assert bad.exit_code == ExitStatus.USAGE, bad.output
        assert says in " ".join(bad.output.split()) and not out.exists()


# ------------------------------------------------------------------------------------------ race.json


def test_race_json_holds_the_replayed_race_per_configuration_and_per_look():
    spec = _spec()
    settings = make_race_settings(spec, delta=1.0, wave=2, max_seeds=8)
    from dataclasses import replace

    looks = [2, 4, 6, 8, 10, 12]
    settings = replace(settings, wave_ends=tuple(looks), max_seeds=12)
    rng = np.random.default_rng(0)
    values = rng.normal([[80.0], [70.0], [80.2]], 0.5, size=(3, 12))  # lr=1e-05 is 10 points behind
    doc = race_doc(values, looks, settings, seeds=list(range(10, 22)))
    r = race(values, looks=looks, alpha=0.05, delta=1.0, max_seeds=12)
    assert doc["verdict"] == RACE_VERDICTS[int(r.verdict)] == doc["decision"]
    lost = doc["configurations"][1]
    assert lost["dropped_by"] is not None and not lost["alive"] and r.dropped_at[1] >= 0
    assert lost["dropped_at_wave"] == r.dropped_at[1] + 1 and lost["dropped_at_n"] == r.looks[r.dropped_at[1]]
    assert lost["seeds"] == list(range(10, 10 + lost["dropped_at_n"]))  # no seeds after its drop
    assert doc["trainings"] == int(r.n.sum()) < 3 * 12
    assert lost["mean"] == pytest.approx(values[1, :lost["n"]].mean())  # over the seeds it was given
    assert doc["survivors"] == [c["name"] for c in doc["configurations"] if c["alive"]]
    assert [look["n"] for look in doc["looks"]][:int(r.stopped_at) + 1] == r.looks[:int(r.stopped_at) + 1].tolist()
    drop_look = doc["looks"][r.dropped_at[1]]
    assert drop_look["dropped"][0]["name"] == lost["name"] and lost["name"] not in drop_look["survivors"]
    bound = lost["intervals"][lost["dropped_by"]]
    assert bound["high"] < -1.0 and bound["high"] == pytest.approx(r.high[1, r.dropped_by[1]])
    json.dumps(doc, allow_nan=False)  # no NaN or inf in the file: unbounded sides are null
    early = race_doc(values, [], settings, seeds=[])
    assert early["verdict"] == "running" and early["looks"] == [] and early["sentence"] == "No wave has finished yet."


# ------------------------------------------------------------------------------------------ the wave loop


def test_the_loop_grows_waves_until_the_race_stops_and_race_json_matches_the_results(tmp_path):
    exp = _experiment(tmp_path, _spec(grid={"lr": [1e-2, 1e-5]}), delta=60.0, wave=2, max_seeds=6)
    outcome, doc = _race(exp)
    assert ExitStatus.for_counts(outcome.counts) == ExitStatus.OK
    settings = race_settings_of(exp)
    assert doc == read_race(exp) and doc["verdict"] != "running"
    assert len(exp.trials) == 2 * settings.wave_ends[-1] and Experiment.open(exp.root).manifest == exp.manifest
    values, looks = race_values(race_rows(results(exp.root), exp, settings), settings)
    assert looks == list(settings.wave_ends) and [look["n"] for look in doc["looks"]] == looks
    again = race_doc(values, looks, settings, seeds=list(range(settings.wave_ends[-1])))
    assert {**again, "updated": 0} == {**doc, "updated": 0}  # race.json is the race of results.parquet
    status = CliRunner().invoke(main, ["status", str(exp.root)])
    assert status.exit_code == 0 and f"race: {doc['verdict']} after {doc['n']} of at most 6" in status.output
    report = build_report(results(exp.root), exp.root)  # the report's Race section reads race.json
    assert report["conclusions"]["race"][0] == doc["sentence"] and report["race"]["verdict"] == doc["verdict"]
    _, doc2 = _race(exp)  # resuming a finished race runs nothing and keeps its verdict
    assert len(exp.trials) == 2 * settings.wave_ends[-1] and doc2["looks"] == doc["looks"]



@pytest.mark.slow
def test_a_failed_trial_stops_the_race_with_exit_1_and_resume_goes_on_with_the_seed_missing(tmp_path):
    """Slow (about 4 s on 2 busy cores): 8 real trainings in this process."""
    exp = _experiment(tmp_path, _spec(grid={"lr": [1e-2, 1e-5]}), delta=0.0, wave=2, max_seeds=4)
    first = exp.trials[1]["trial_id"]  # lr=1e-05, seed 0
    outcome, doc = _race(exp, broken={first: {**exp.config(first), "data": str(tmp_path / "gone")}})
    assert ExitStatus.for_counts(outcome.counts) == ExitStatus.TRIALS_FAILED
    assert len(exp.trials) == 4 and doc["verdict"] == "running"  # stopped after the wave that failed
    assert [c["n"] for c in doc["configurations"]] == [2, 2] and doc["looks"][0]["mean"][1] is not None
    outcome, doc = _race(exp)  # resumed without retrying: the failed seed stays missing (NaN), waves go on
    assert len(exp.trials) == 8 and ExitStatus.for_counts(outcome.counts) == ExitStatus.TRIALS_FAILED
    values, _ = race_values(race_rows(results(exp.root), exp, race_settings_of(exp)), race_settings_of(exp))
    assert np.isnan(values[1, 0]) and np.isfinite(values[0]).all()
    r = race(values, looks=[2, 4], alpha=0.05, delta=0.0, max_seeds=4)
    assert doc["verdict"] == RACE_VERDICTS[int(r.verdict)] != "running"
    assert doc["configurations"][1]["mean"] == pytest.approx(np.nanmean(values[1, :r.n[1]]))


@pytest.mark.slow
def test_an_evaluation_only_race_evaluates_one_model_per_seed_at_every_configuration(tmp_path):
    """Slow (about 20 s on 2 busy cores): real trainings and evaluations in this process."""
    from rsb_sweep.experiment.evaluations import build_evaluations

    spec, _ = move_eval_only(_spec(grid={"crop_pct": [0.8, 0.95]}))
    trials, s = first_wave(spec, make_race_settings(spec, delta=60.0, wave=1, max_seeds=3))
    exp = Experiment.create(tmp_path / "race", spec, Execution(), trials,
                            extra={"race": s.to_dict(), "evaluate": spec.evaluate.to_dict()})
    outcome, doc = _race(exp)
    assert ExitStatus.for_counts(outcome.counts) == ExitStatus.OK and doc["paired"] and doc["eval_only"]
    assert [t["trial_id"] for t in exp.trials] == [f"000{k}-seed{k}" for k in range(doc["n"])]
    assert doc["trainings"] == len(exp.trials)  # models trained, each evaluated at both crop ratios
    ev = build_evaluations(exp)
    for c, crop in enumerate((0.8, 0.95)):
        mine = ev[(ev["eval_set"] == "val") & ((ev["crop_pct"] - crop).abs() < 1e-9)].set_index("trial_id")
        want = [mine.loc[t["trial_id"], "top1"] for t in exp.trials]
        assert doc["configurations"][c]["mean"] == pytest.approx(np.mean(want[:doc["configurations"][c]["n"]]))
