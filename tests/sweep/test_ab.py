"""``rsb-sweep ab`` (rsb_sweep.spec.ab, rsb_sweep.driver.ab, rsb_sweep.driver.decide): arms, waves,
the decision after each wave, decision.json, resume and exit statuses. The wave loop runs real trials through the real pack code (a launch
double stands where Ray would, as in test_driver_failures.py); the end-to-end CLI run on Ray is slow."""

from __future__ import annotations

import json
import math
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from analysis.sequential import sequential_compare, verdict_sentence
from analysis.sections import build_report
from rsb_sweep.driver.ab import run_ab, settings_of
from rsb_sweep.driver.decide import decide
from rsb_sweep.experiment.decision import read_decision
from rsb_sweep.spec.ab import evaluation_plan, first_wave, make_settings, parse_arm, wave_trials
from rsb_sweep.cli import main
from rsb_sweep.driver.options import LaunchOptions
from rsb_sweep.driver.sweep import SweepOutcome
from rsb_sweep.errors import SweepError
from rsb_sweep.experiment.evaluations import build_evaluations, missing_keys
from rsb_sweep.worker.evaluate import evaluate_trial
from rsb_sweep.spec.execution import Execution
from rsb_sweep.cli.exitstatus import ExitStatus
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.tables import write_tables
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import EvalPlan, SeedAxis, SweepSpec
from rsb_sweep.worker.pack import Member, PackJob, run_pack
from tests.sweep.conftest import stop_session
from tests.sweep.doubles import RecordingReporter
from tests.sweep.helpers import FAST, cli, cli_background, manifest, results, wait_for

TINY = {"epochs": 2, "max_steps": 1, "workers": 0}
ARMS = ({"lr": 1e-2}, {"lr": 1e-5})


def _spec(n=2, **overrides):
    return SweepSpec(name="ab", overrides={**TINY, **overrides}, seeds=SeedAxis(n=n))


def _experiment(tmp_path, arms=ARMS, **settings):
    spec = _spec(settings.get("wave", 2))
    trials, s = first_wave(spec, make_settings(spec, *arms, **settings))
    return Experiment.create(tmp_path / "ab", spec, Execution(), trials,
                             extra={"ab": s.to_dict(), "evaluate": evaluation_plan(s).to_dict()})


def pack_launch(exp, broken=None):
    """Run the experiment's unfinished trials with the real pack code, then their missing evaluations with
    the real evaluation task, in this process (no Ray)."""
    def launch(options):
        files = exp.store.read_all(exp.trial_ids)
        todo = [t for t in exp.trials if files[t["trial_id"]].status in ("PENDING", "RUNNING")]
        members = tuple(Member(t["trial_id"], (broken or {}).get(t["trial_id"], t["config"])) for t in todo)
        if members:
            run_pack(PackJob(pack=0, members=members, store_root=exp.store.root), RecordingReporter())
        files = exp.store.read_all(exp.trial_ids)
        for t in exp.trials:
            keys = missing_keys(t["config"], files[t["trial_id"]], exp.evaluate)
            if keys:
                evaluate_trial(exp.store.root, t["trial_id"], [k.as_tuple() for k in keys], [], device="cpu")
        table = write_tables(exp)
        counts = table["status"].value_counts().to_dict()
        states = ("TERMINATED", "ERROR", "RUNNING", "PENDING")
        return SweepOutcome(table, {k: int(counts.get(k, 0)) for k in states}, 0.0)
    return launch


def _ab(exp, **kw):
    from rich.console import Console

    return run_ab(exp, LaunchOptions(quiet=True), Console(quiet=True), launch=pack_launch(exp, **kw))


def _recomputed(exp):
    """The verdict recomputed from results.parquet alone, seed by seed, at the manifest's wave ends."""
    df = results(exp.root).set_index("trial_id")
    s = settings_of(exp)
    arms = {arm: [t for t in exp.trials if t["params"]["arm"] == arm] for arm in ("A", "B")}
    ab = [np.array([df.loc[t["trial_id"], "top1"] for t in arms[arm]]) for arm in ("A", "B")]
    return sequential_compare(*ab, alpha=s.alpha, delta=s.delta, looks=list(s.wave_ends))


# ------------------------------------------------------------------------------------------ arms


def test_arms_are_parsed_typed_and_checked():
    assert parse_arm("lr=5e-4, wd=0.02", "--a") == {"lr": 5e-4, "weight_decay": 0.02}
    assert parse_arm("recipe=A3,epochs=3", "--b") == {"recipe": "a3", "epochs": 3}
    for bad, says in (("lr", "FIELD=VALUE"), ("lr=1,lr=2", "twice"), ("nope=1", "no such field"),
                      ("eval_sets=x=y", "no such field")):
        with pytest.raises(SweepError, match=says):
            parse_arm(bad, "--a")
    spec = _spec()
    with pytest.raises(SweepError, match="same configuration"):
        make_settings(spec, {"lr": 1e-2}, {"lr": 0.01})
    with pytest.raises(SweepError, match="also set in --a"):
        make_settings(_spec(lr=1e-3), {"lr": 1e-2}, {"weight_decay": 0.1})
    with pytest.raises(SweepError, match="--metric top9"):
        make_settings(spec, *ARMS, metric="top9")
    with pytest.raises(SweepError, match="--wave"):
        make_settings(spec, *ARMS, wave=0)
    assert make_settings(spec, *ARMS, metric="eval_loss").higher_is_better is False


def test_arms_that_differ_only_in_evaluation_train_one_model_per_seed():
    spec = _spec(n=2)
    settings = make_settings(spec, {"crop_pct": 0.95}, {"crop_pct": 0.8, "test_res": 20})
    assert settings.eval_only and settings.paired
    assert evaluation_plan(settings) == EvalPlan(crop_pct=(0.95, 0.8), test_res=(20,))
    trials, settings = first_wave(spec, settings)
    assert [t.trial_id for t in trials] == ["0000-seed0", "0001-seed1"]  # one model serves both arms
    plain = expand(SweepSpec(name="s", overrides=TINY, seeds=SeedAxis(n=2)))
    assert [t.config for t in trials] == [t.config for t in plain]  # the recipe's own crop_pct and test_res
    assert [t.trial_id for t in wave_trials(spec, settings, 2, 2, 2)] == ["0002-seed2", "0003-seed3"]
    assert not make_settings(spec, *ARMS).eval_only


def test_ab_cli_help_and_dry_runs():
    helptext = " ".join(CliRunner().invoke(main, ["ab", "--help"]).output.split())
    assert "Exit status: 0 every trial finished, whatever the verdict" in helptext and "1 some trial failed" in helptext
    ok = CliRunner().invoke(main, ["ab", "--a", "lr=1e-2", "--b", "lr=1e-3", "--wave", "3", *FAST, "--dry-run"])
    assert ok.exit_code == 0, ok.output
    assert [l.strip() for l in ok.output.splitlines() if "-arm" in l] == [
        "0000-armA-lr0.01-seed0", "0001-armB-lr0.001-seed0", "0002-armA-lr0.01-seed1", "0003-armB-lr0.001-seed1",
        "0004-armA-lr0.01-seed2", "0005-armB-lr0.001-seed2"]
    crop = CliRunner().invoke(main, ["ab", "--a", "crop_pct=0.95", "--b", "crop=0.8,test_res=20", *FAST, "--dry-run"])
    assert crop.exit_code == 0, crop.output
    assert "2 trials" in crop.output and "0000-seed0" in crop.output and "0001-seed1" in crop.output
    assert "evaluated from its final checkpoint at crop_pct 0.8, 0.95; test_res 20" in crop.output


def test_a_later_wave_runs_the_seeds_a_seeds_sweep_would_run():
    spec = SweepSpec(name="ab", overrides=TINY, seeds=SeedAxis(n=2, start=5, vary=("init",)))
    settings = make_settings(spec, *ARMS)
    wave = wave_trials(spec, settings, first_index=4, done=2, n=2)
    same = expand(SweepSpec(name="s", overrides={**TINY, **ARMS[1]}, seeds=SeedAxis(n=4, start=5, vary=("init",))))
    assert [t.index for t in wave] == [4, 5, 6, 7]
    assert [t.params["arm"] for t in wave] == ["A", "B", "A", "B"]
    assert [t.config for t in wave[1::2]] == [t.config for t in same[2:]]  # seeds 7, 8; data/aug pinned at seed 5's
    assert [t.config.seed for t in wave[::2]] == [7, 8] and wave[0].config.lr == 1e-2


# ------------------------------------------------------------------------------------------ the wave loop


def test_the_loop_stops_at_the_first_decided_look_and_writes_every_look(tmp_path):
    exp = _experiment(tmp_path, delta=50.0, max_seeds=10)  # |A − B| < 50 points: equivalent once bounded
    outcome, doc = _ab(exp)
    assert ExitStatus.for_counts(outcome.counts) == ExitStatus.OK
    # two seeds per arm cannot bound a two-sample interval: a second wave was added, then it decided
    assert settings_of(exp).wave_ends == (2, 4) and len(exp.trials) == 8
    assert Experiment.open(exp.root).manifest == exp.manifest  # the manifest on disk grew with it
    assert doc == read_decision(exp) and doc["decision"] == "equivalent"
    want = _recomputed(exp)
    assert [l["decision"] for l in doc["looks"]] == ["running", "equivalent"]
    assert [l["n"] for l in doc["looks"]] == want["n"].tolist() == [2, 4]
    assert doc["looks"][0]["cs_low"] is None and doc["looks"][0]["cs_high"] is None  # unbounded: null in JSON
    last = want.iloc[-1]
    assert (doc["diff"], doc["cs_low"], doc["cs_high"]) == (last["diff"], last["cs_low"], last["cs_high"])
    assert doc["n_seeds"] == {"a": 4, "b": 4} and (doc["alpha"], doc["delta"]) == (0.05, 50.0)
    assert all(set(doc) >= set(look) for look in doc["looks"])  # one entry per look, with the same fields

    report = build_report(results(exp.root), exp.root)  # the report's section reads decision.json
    said = report["conclusions"]["stopping_path"]
    assert said[0] == doc["sentence"] and "after 4 seeds per arm" in said[1]

    status = CliRunner().invoke(main, ["status", str(exp.root)])
    assert status.exit_code == 0 and "ab decision: equivalent after 4 of at most 10 seeds per arm" in status.output
    assert doc["sentence"] in " ".join(status.output.split())

    again, doc2 = _ab(exp)  # resuming a decided ab runs nothing and keeps the verdict
    assert len(exp.trials) == 8 and doc2["looks"] == doc["looks"]


def test_undecided_at_max_seeds_and_a_failed_trial_stops_the_loop_with_exit_1(tmp_path):
    exp = _experiment(tmp_path, delta=0.0, max_seeds=4)  # δ = 0: never "equivalent"
    first = exp.trials[1]["trial_id"]  # arm B, seed 0
    broken = {first: {**exp.config(first), "data": str(tmp_path / "gone")}}
    outcome, doc = _ab(exp, broken=broken)
    assert ExitStatus.for_counts(outcome.counts) == ExitStatus.TRIALS_FAILED
    assert len(exp.trials) == 4 and doc["decision"] == "running"  # stopped after the wave that failed
    assert read_decision(exp)["looks"][0]["n_seeds"] == {"a": 2, "b": 1}

    outcome, doc = _ab(exp)  # resume without retrying: the failed seed stays missing (NaN), waves go on
    assert len(exp.trials) == 8 and ExitStatus.for_counts(outcome.counts) == ExitStatus.TRIALS_FAILED
    assert doc["n_seeds"] == {"a": 4, "b": 3} and doc["n"] == 4
    want = _recomputed(exp)
    assert math.isnan(results(exp.root).set_index("trial_id").loc[first, "top1"])
    verdict = want["decision"].iloc[-1]
    assert doc["decision"] == ("undecided" if verdict == "continue" else verdict)
    assert doc == {**decide(results(exp.root), exp.trials, settings_of(exp)), "updated": doc["updated"]}


def _expected_decision(path, *, arms, names, max_seeds, wave, wave_ends, paired, eval_only, alpha=0.05, delta=0.0,
                       metric="top1"):
    """decision.json as the documentation defines it (docs/sweep/README.md), written out from a
    :func:`sequential_compare` path alone, without ``rsb_sweep``'s own decide."""
    def verdict(row):  # the sequence's verdict; `continue` is `running`, or `undecided` at the seed cap
        return row["decision"] if row["decision"] != "continue" else ("undecided" if row["n"] >= max_seeds else "running")

    def number(x):  # JSON has no infinity: an unbounded side is null
        return float(x) if math.isfinite(x) else None

    looks = [{"n": int(r["n"]), "n_seeds": {"a": int(r["n_a"]), "b": int(r["n_b"])}, "diff": number(r["diff"]),
              "cs_low": number(r["cs_low"]), "cs_high": number(r["cs_high"]), "p_value": number(r["p_value"]),
              "decision": verdict(r), "alpha": alpha, "delta": delta} for r in path.to_dict("records")]
    return {**looks[-1], "sentence": verdict_sentence(path, name_a=names["a"], name_b=names["b"], metric=metric),
            "metric": metric, "higher_is_better": True, "paired": paired, "arms": arms, "names": names, "wave": wave,
            "max_seeds": max_seeds, "wave_ends": wave_ends, "eval_only": eval_only, "method": path.attrs["method"],
            "looks": looks}


# δ = 0: never equivalent, and 4 seeds cannot bound a paired interval (undecided at the cap); δ = 50 points: the
# interval is bounded at 6 seeds (models this short are all near chance), well inside ±50: equivalent.
@pytest.mark.parametrize("delta, max_seeds, verdict", [(0.0, 4, "undecided"), (50.0, 6, "equivalent")])
def test_arms_that_differ_only_in_evaluation_compare_paired_evaluations_of_the_same_models(tmp_path, delta, max_seeds,
                                                                                           verdict):
    arms = ({"crop_pct": 1.0}, {"crop_pct": 0.5, "test_res": 12})  # half the image, at half the pixels: worse
    exp = _experiment(tmp_path, arms=arms, delta=delta, max_seeds=max_seeds)
    outcome, doc = _ab(exp)
    assert ExitStatus.for_counts(outcome.counts) == ExitStatus.OK
    assert len(exp.trials) == len(results(exp.root)) == doc["n"]  # one model per seed, not two
    ev = build_evaluations(exp).set_index(["trial_id", "crop_pct", "test_res"])
    tids = [t["trial_id"] for t in exp.trials]
    a = np.array([ev.loc[(t, 1.0, 24), "top1"] for t in tids])  # each model at arm A's setting (its own test_res)
    b = np.array([ev.loc[(t, 0.5, 12), "top1"] for t in tids])  # the same models at arm B's
    ends = list(settings_of(exp).wave_ends)
    want = sequential_compare(a, b, alpha=0.05, delta=delta, paired=True, looks=ends)
    verdicts = want["decision"].tolist()  # the loop adds a wave until a look decides, or max_seeds per arm
    assert want["n"].tolist() == ends == list(range(2, ends[-1] + 1, 2)) and set(verdicts[:-1]) <= {"continue"}
    final = verdicts[-1]
    assert final != "continue" or ends[-1] == max_seeds
    assert doc["decision"] == (final if final != "continue" else "undecided")  # the sequence's verdict, whatever it is
    assert doc["decision"] == verdict  # what these arms give on seeds 0 .. max_seeds-1
    expected = _expected_decision(want, arms={"a": {"crop_pct": 1.0}, "b": {"crop_pct": 0.5, "test_res": 12}},
                                  names={"a": "A [crop_pct=1]", "b": "B [crop_pct=0.5, test_res=12]"}, max_seeds=max_seeds,
                                  wave=2, wave_ends=ends, paired=True, eval_only=True, delta=delta)
    assert {k: v for k, v in doc.items() if k != "updated"} == expected
    assert read_decision(exp) == doc  # what decision.json holds


# ------------------------------------------------------------------------------------------ on Ray (slow)


@pytest.mark.slow
def test_ab_on_ray_interrupted_resumed_status_and_report(tmp_path):
    exp = tmp_path / "ab"
    log = tmp_path / "ab.log"
    proc = cli_background("ab", "--a", "lr=1e-2", "--b", "lr=1e-5", *FAST, "--max-seeds", "4", "--delta", "0",
                          "--out", str(exp), "--no-live", "--num-cpus", "2", log=log)
    try:
        wait_for(lambda: (exp / "sweep.json").exists() and len(manifest(exp)["trials"]) == 8, 300,
                 "the second wave", proc, log)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == ExitStatus.INTERRUPTED, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)
    assert json.loads((exp / "decision.json").read_text())["looks"][0]["n"] == 2
    status = cli("status", str(exp))
    assert "ab decision: running after 2 of at most 4 seeds per arm" in status.stdout

    resumed = cli("resume", str(exp), "--no-live", "--num-cpus", "2", timeout=600)
    doc = json.loads((exp / "decision.json").read_text())
    assert doc["decision"] != "running" and [l["n"] for l in doc["looks"]] == [2, 4]
    assert f"decision: {doc['decision']}" in resumed.stdout and len(manifest(exp)["trials"]) == 8
    assert doc["sentence"] in " ".join(resumed.stdout.split())  # printed as is (arm labels hold brackets)
    assert "A [lr=0.01]" in doc["sentence"] and "B [lr=1e-05]" in doc["sentence"]
    df = results(exp)
    assert (df["status"] == "TERMINATED").all() and len(df) == 8

    cli("report", str(exp), timeout=600)
    report = json.loads((exp / "report.json").read_text())
    assert report["conclusions"]["stopping_path"][0] == doc["sentence"]
    assert (exp / "figures" / "stopping_path.png").is_file()
