"""Train once, evaluate many: evaluation-only axes leave the grid, `rsb-sweep evaluate`, evaluations.parquet."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pandas as pd
import pytest
from click.testing import CliRunner

from rsb_sweep.cli import main
from rsb_sweep.experiment.evaluations import EvalKey, trial_keys
from rsb_sweep.spec.expand import expand, move_eval_only
from rsb_sweep.spec.model import EvalPlan, SweepSpec
from rsb_sweep.spec.sweepfile import SpecError, load_spec_file
from tests.sweep.conftest import stop_session
from tests.sweep.helpers import FAST, cli, cli_background, manifest, results, trial_dir, wait_for
from trainer.errors import ConfigError

#: evaluations.parquet's contract (DESIGN.md), spelled out independently of analysis.contract.
EVAL_CONTRACT = [
    "experiment", "trial_id", "eval_set", "crop_pct", "test_res", "top1", "top5", "eval_loss", "n_val", "status",
    "error", "source", "recipe", "model", "dataset", "seed", "seed_init", "seed_data", "seed_aug", "lr",
    "weight_decay", "loss", "aug_repeats", "smoothing", "drop_path", "mixup", "cutmix", "epochs", "batch_size",
    "train_res",
]


# --------------------------------------------------------------------------- specs (no Ray)

def test_eval_only_grid_axes_move_to_the_evaluation_plan(tmp_path):
    sweep = tmp_path / "t9.yaml"
    sweep.write_text("units: paper\ngrid:\n  recipe: [a1, a3]\n  crop_pct: [0.875, 1.0]\n"
                     "evaluate:\n  test_res: [160, 224]\nseeds: 3\n")
    spec, _ = load_spec_file(sweep)
    trials = expand(spec)
    assert len(trials) == 2 * 3  # one model per (recipe, seed), not per crop ratio
    assert {t.config.crop_pct for t in trials} == {0.95}  # each keeps its recipe's own
    assert all("crop" not in t.trial_id for t in trials)
    assert spec.evaluate == EvalPlan(crop_pct=(0.875, 1.0), test_res=(17, 24))  # paper pixels mapped like the preset
    assert "crop_pct changes evaluation only: moved from the grid to evaluate" in spec.source
    assert "test_res 160→17, 224→24" in spec.source
    with pytest.raises(ConfigError, match="change evaluation only"):
        expand(SweepSpec(name="x", grid={"crop_pct": [0.9, 1.0]}))
    moved, line = move_eval_only(SweepSpec(name="x", grid={"lr": [1e-3, 2e-3]}))
    assert line is None and moved.grid == {"lr": [1e-3, 2e-3]}


@pytest.mark.parametrize("text, where", [
    ("evaluate:\n  crop: [0.9]\n", r":2: evaluate.crop: unknown key; allowed: crop_pct, test_res, eval_sets"),
    ("evaluate:\n  crop_pct: [0.9, 1.5]\n", r":2: evaluate.crop_pct: crop_pct=1.5 is out of range"),
    ("grid:\n  lr: [1e-3]\n  test_res: [24, 4]\n", r":3: evaluate.test_res: test_res=4 is out of range"),
    ("evaluate:\n  test_res: []\n", r":2: evaluate.test_res: expected a non-empty list"),
])
def test_evaluate_section_errors_name_line_and_key(tmp_path, text, where):
    sweep = tmp_path / "bad.yaml"
    sweep.write_text(text)
    with pytest.raises(SpecError, match=where):
        load_spec_file(sweep)


def test_trial_keys_own_setting_comes_from_training():
    config = {"crop_pct": 0.95, "test_res": 24, "eval_sets": [["v2", "/x"]]}
    keys = trial_keys(config, EvalPlan(crop_pct=(1.0, 0.875), test_res=(20,), eval_sets=(("real2", "/y"),)))
    assert len(keys) == 3 * 2 * 3  # crops {0.875, 0.95, 1.0} x res {20, 24} x sets {val, v2, real2}
    training = [k for k, from_training in keys if from_training]
    assert training == [EvalKey("val", 0.95, 24), EvalKey("v2", 0.95, 24)]
    assert [k.crop_pct for k, _ in keys[::6]] == [0.875, 0.95, 1.0]


def test_cli_grid_moves_crop_ratio_and_says_so():
    seeds = CliRunner().invoke(main, ["seeds", "--n", "2", "--test-res", "20,28", "--dry-run"])
    assert seeds.exit_code == 0 and "2 trials" in seeds.output and "test_res 20, 28 (4 evaluations" in seeds.output
    res = CliRunner().invoke(main, ["grid", "--recipe", "a2,a3", "--crop-pct", "0.875,0.95", "--seeds", "2",
                                    "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "4 trials" in res.output and "crop_pct changes evaluation only: moved from the grid to evaluate" in res.output
    assert "then each trained model is evaluated from its final checkpoint at crop_pct 0.875, 0.95 (4 evaluations" \
        in res.output


# --------------------------------------------------------------------------- a real sweep and its evaluations

@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """3 seeds of A2 evaluated at two crop ratios, then `rsb-sweep evaluate` adds a test resolution."""
    exp = tmp_path_factory.mktemp("evaluated") / "exp"
    first = cli("grid", "--crop-pct", "0.875,0.95", "--seeds", "3", *FAST, "--num-cpus", "2", "--out", str(exp),
                "--no-live", timeout=400)
    before = pd.read_parquet(exp / "evaluations.parquet")
    second = cli("evaluate", str(exp), "--test-res", "20", "--num-cpus", "2", timeout=400)
    return exp, first, before, second


@pytest.mark.timeout(600)
def test_sweep_trains_once_and_evaluates_each_model(evaluated):
    exp, first, before, _ = evaluated
    df = results(exp)
    assert len(df) == 3 and set(df["status"]) == {"TERMINATED"} and set(df["crop_pct"]) == {0.95}
    assert manifest(exp)["evaluate"] == {"crop_pct": [0.875, 0.95], "test_res": [20], "eval_sets": []}
    assert list(before.columns) == EVAL_CONTRACT and len(before) == 3 * 2 and set(before["status"]) == {"TERMINATED"}
    own = before[before["source"] == "training"].set_index("trial_id")
    assert set(own["crop_pct"]) == {0.95} and len(own) == 3
    for col in ("top1", "top5", "eval_loss"):  # the trial's own row is its final epoch, not recomputed
        assert (own[col] == df.set_index("trial_id").loc[own.index, col]).all()
    assert "evaluations: " in first.stdout and "(6 done, 0 failed, 0 waiting for their trial; 3 computed now" \
        in first.stdout


@pytest.mark.timeout(600)
def test_evaluations_equal_a_fresh_evaluation_of_the_checkpoint(evaluated):
    """On CPU, each row is exactly what evaluating the final checkpoint at that setting gives; at the
    trial's own setting that is the trial's final top-1 (train once, evaluate many loses nothing)."""
    from trainer.evaluate import evaluate_run

    exp, _, _, second = evaluated
    ev = pd.read_parquet(exp / "evaluations.parquet")
    assert len(ev) == 3 * 2 * 2 and set(ev["status"]) == {"TERMINATED"}  # crops {0.875, 0.95} x res {20, 24}
    assert "(12 done, 0 failed, 0 waiting for their trial; 6 computed now" in second.stdout
    tid = ev["trial_id"].iloc[0]
    fresh = {(e.crop_pct, e.test_res): e for e in evaluate_run(trial_dir(exp, tid), [0.875, 0.95], [20, 24])}
    for row in ev[ev["trial_id"] == tid].itertuples():
        e = fresh[(row.crop_pct, row.test_res)]
        assert (row.top1, row.top5, row.eval_loss, row.n_val) == (e.top1, e.top5, e.eval_loss, e.n_val), row
    # per-image predictions of every evaluation, keyed by (trial, set, crop_pct, test_res, image)
    import analysis

    preds = analysis.load_predictions(exp)
    top1 = preds.groupby(["trial_id", "eval_set", "crop_pct", "test_res"])["correct"].mean() * 100
    merged = ev.set_index(["trial_id", "eval_set", "crop_pct", "test_res"])["top1"]
    assert len(top1) == len(merged) and (abs(top1 - merged.loc[top1.index]) < 1e-9).all()
    status = cli("status", str(exp)).stdout
    assert "evaluations (crop_pct 0.875, 0.95; test_res 20): done 12   failed 0   pending 0   of 12" in status


@pytest.mark.timeout(600)
def test_evaluate_refuses_bad_values_and_changes_nothing(evaluated, tmp_path):
    exp, *_ = evaluated
    before = (exp / "sweep.json").read_bytes()
    runner = CliRunner()
    for args, message in ((["--crop-pct", "1.5"], "crop_pct=1.5 is out of range"),
                          (["--test-res", "24px"], "--test-res: cannot read '24px'"),
                          (["--eval-set", f"v2={tmp_path / 'missing'}"], "missing"),
                          ([], None)):
        out = runner.invoke(main, ["evaluate", str(exp), *args])
        if message is None:  # nothing new: the plan is complete, exit 0 without starting Ray
            assert out.exit_code == 0 and "0 computed now" in out.output, out.output
        else:
            assert out.exit_code == 2 and message in out.output, out.output
            assert "Traceback" not in out.output
    assert (exp / "sweep.json").read_bytes() == before
    nothing = runner.invoke(main, ["evaluate", str(tmp_path)])
    assert nothing.exit_code == 2 and "not an experiment folder" in nothing.output


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_killed_evaluate_then_again_redoes_only_what_is_missing(evaluated, tmp_path):
    exp = tmp_path / "copy"
    shutil.copytree(evaluated[0], exp)  # experiment folders are relocatable
    tid = manifest(exp)["trials"][0]["trial_id"]
    folders = [trial_dir(exp, t["trial_id"]) / "evaluations" for t in manifest(exp)["trials"]]

    def records():
        return {p: p.stat().st_mtime_ns for f in folders if f.is_dir() for p in f.glob("*.json")}

    start = records()
    log = tmp_path / "evaluate.log"
    proc = cli_background("evaluate", str(exp), "--crop-pct", "0.7,0.8,0.9,1.0", "--test-res",
                          ",".join(map(str, range(12, 32))),
                          "--num-cpus", "1", log=log)
    try:
        wait_for(lambda: len(records()) >= len(start) + 3, 300, "three new evaluations", proc, log)
        os.kill(proc.pid, signal.SIGKILL)  # the driver, mid-way
        proc.wait(timeout=30)
    finally:
        stop_session(proc.pid)  # and the Ray it started
    kept = records()
    rows = 3 * 6 * 20  # trials x crops {0.7, 0.8, 0.875, 0.9, 0.95, 1.0} x res {12 … 31} (20 and own 24 among them)
    total = rows - 3  # less the trials' own rows, from training
    assert len(start) < len(kept) < total, "the kill must land mid-way"
    assert json.loads((exp / "sweep.json").read_text())["evaluate"]["crop_pct"][:2] == [0.875, 0.95]
    again = cli("evaluate", str(exp), "--num-cpus", "2", timeout=500)  # the plan is in the manifest already
    assert f"{total - len(kept)} computed now" in again.stdout, again.stdout
    after = records()
    assert len(after) == total and all(after[p] == kept[p] for p in kept)  # nothing done before was redone
    ev = pd.read_parquet(exp / "evaluations.parquet")
    assert len(ev) == rows and set(ev["status"]) == {"TERMINATED"}
    assert ev.groupby("trial_id").size().tolist() == [rows // 3] * 3 and tid in set(ev["trial_id"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_unfinished_trials_keep_pending_rows_and_old_experiments_still_work(evaluated, tmp_path):
    """An experiment without an evaluation plan (every folder written before evaluations existed) loads,
    resumes and reports as before; an evaluate over trials that have not finished says so (exit 3)."""
    old = tmp_path / "old"
    shutil.copytree(evaluated[0], old)
    doc = manifest(old)
    del doc["evaluate"], doc["spec"]["evaluate"]
    (old / "sweep.json").write_text(json.dumps(doc))
    (old / "evaluations.parquet").unlink()
    assert cli("resume", str(old), "--no-live").returncode == 0
    assert not (old / "evaluations.parquet").exists() and len(results(old)) == 3
    assert "evaluations" not in cli("status", str(old)).stdout
    cli("report", str(old), timeout=600)
    assert (old / "report.html").is_file()

    unfinished = tmp_path / "unfinished"
    shutil.copytree(evaluated[0], unfinished)
    first = manifest(unfinished)["trials"][0]["trial_id"]
    (trial_dir(unfinished, first) / "metrics.json").unlink()  # as if it had been interrupted in its last epoch
    out = cli("evaluate", str(unfinished), "--crop-pct", "1.0", "--num-cpus", "2", check=False)
    assert out.returncode == 3 and "rsb-sweep resume" in out.stderr, out.stdout + out.stderr
    ev = pd.read_parquet(unfinished / "evaluations.parquet")
    assert set(ev.loc[ev["trial_id"] == first, "status"]) == {"PENDING"}
    assert set(ev.loc[ev["trial_id"] != first, "status"]) == {"TERMINATED"} and len(ev) == 3 * 3 * 2
