"""End to end on a real local Ray and real (tiny) training: the main path and failures."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.conftest import write_image_folder
from tests.sweep.helpers import (CONTRACT, FAST, assert_same_run, cli, history_rows, manifest, reference_runs,
                                 results, runs, trial_dir)


@pytest.mark.timeout(420)
def test_seed_sweep_end_to_end(tmp_path):
    exp = tmp_path / "seeds"
    out = cli("seeds", "--n", "4", "--recipe", "a2", *FAST, "--pack", "2", "--num-cpus", "2", "--out", str(exp),
              "--no-live")
    assert "digits" in out.stdout  # says that it runs on the embedded default

    df = results(exp)
    assert list(df.columns) == CONTRACT
    assert len(df) == 4 and df["trial_id"].is_unique
    assert set(df["status"]) == {"TERMINATED"}
    assert sorted(df["seed"]) == [0, 1, 2, 3]
    for col in ("seed_init", "seed_data", "seed_aug"):
        assert df[col].nunique() == 4
    assert (df["epochs_done"] == 2).all() and (df["restarts"] == 0).all() and (df["n_workers"] == 1).all()
    assert df["top1"].notna().all() and df["error"].isna().all()
    assert len(pd.read_csv(exp / "results.csv")) == 4
    history = pd.read_parquet(exp / "history.parquet")
    assert len(history) == 8 and set(history["trial_id"]) == set(df["trial_id"])

    trials = manifest(exp)["trials"]
    packs = {t["trial_id"]: runs(exp, t["trial_id"])[0]["pack"] for t in trials}
    assert all(len(runs(exp, t["trial_id"])) == 1 for t in trials)
    for t in trials:  # a finished trial keeps its final checkpoint only (the trained model)
        assert [p.name for p in (trial_dir(exp, t["trial_id"]) / "checkpoints").iterdir()] == ["epoch_0002"]
    assert sorted(list(packs.values()).count(p) for p in set(packs.values())) == [2, 2]  # two trials per process

    # Seeding happens inside the trial: trials that shared a process equal fresh, uninterrupted runs.
    ids = [trials[0]["trial_id"], trials[3]["trial_id"]]
    refs = reference_runs([t["config"] for t in trials if t["trial_id"] in ids])
    for tid, ref in zip(ids, refs):
        assert_same_run(history_rows(exp, tid), ref["history"])
        assert df.set_index("trial_id").loc[tid, "top1"] == ref["metrics"]["top1"]

    # results can be rebuilt from the trial folders alone
    (exp / "results.parquet").unlink()
    cli("results", str(exp))
    pd.testing.assert_frame_equal(results(exp), df)
    status = cli("status", str(exp)).stdout
    assert "done 4" in status and "failed 0" in status and "top-1 so far" in status


def _corrupt_eval_set(root):
    write_image_folder(root, classes=tuple(str(i) for i in range(10)), per_class=(1, 1))  # the digits classes
    # not the first image of the set: the up-front check decodes that one; this one fails in the trial
    bad = root / "val" / "9" / "0.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return root


@pytest.fixture(scope="module")
def failures(tmp_path_factory):
    """One sweep with three kinds of failure: a diverging trial (NaN loss), an unreadable image in an
    extra evaluation set (an evaluation fails, its model does not), and the evaluations of the diverged
    trial. The eval set is a grid axis in the file: it changes evaluation only, so it moves to
    ``evaluate`` and one model per lr is trained."""
    tmp = tmp_path_factory.mktemp("failures")
    _corrupt_eval_set(tmp / "bad")
    (tmp / "sweeps").mkdir()
    sweep = tmp / "sweeps" / "failures.yaml"
    sweep.write_text(
        "name: failures\n"
        "overrides: {epochs: 2, max_steps: 2, warmup_epochs: 0}\n"
        "grid:\n"
        "  lr: [1e-3, 1e30]\n"  # 1e30 diverges: NaN loss
        "  eval_sets: [[], [[bad, ../bad/val]]]\n"  # an unreadable image; the path is relative to the file
    )
    exp = tmp / "exp"
    out = cli("run", str(sweep), "--num-cpus", "2", "--out", str(exp), "--no-live", "--pack", "1", timeout=400,
              check=False)
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-3000:]  # some trials failed
    return exp, out


@pytest.mark.timeout(420)
def test_failed_trials_and_evaluations_keep_their_rows_and_the_others_finish(failures):
    exp, out = failures
    assert "eval_sets changes evaluation only: moved from the grid to evaluate" in out.stdout
    df = results(exp).set_index("trial_id")
    assert len(df) == 2  # one model per lr, not one per (lr, eval set)
    by_lr = {t["config"]["lr"]: df.loc[t["trial_id"]] for t in manifest(exp)["trials"]}
    assert by_lr[1e-3]["status"] == "TERMINATED"
    diverged = by_lr[1e30]
    assert diverged["status"] == "ERROR" and "NaN" in diverged["error"] and pd.isna(diverged["top1"])
    ev = pd.read_parquet(exp / "evaluations.parquet").set_index(["trial_id", "eval_set"])
    ok, bad = by_lr[1e-3].name, diverged.name
    assert len(ev) == 4  # (2 trials) x (val, bad): no row dropped
    assert ev.loc[(ok, "val"), "status"] == "TERMINATED" and ev.loc[(ok, "val"), "source"] == "training"
    assert ev.loc[(ok, "val"), "top1"] == by_lr[1e-3]["top1"]
    failed_eval = ev.loc[(ok, "bad")]
    assert failed_eval["status"] == "ERROR" and "corrupt image" in failed_eval["error"]
    assert "DataError" in failed_eval["error"] and failed_eval["source"] == "evaluation"
    for name in ("val", "bad"):
        assert ev.loc[(bad, name), "status"] == "ERROR" and "failed in training" in ev.loc[(bad, name), "error"]
    status = cli("status", str(exp)).stdout
    assert "failed 1" in status and "NaN" in status and "evaluations (set bad): done 1   failed 3" in status
    error_file = exp / "trials" / bad / "error.json"
    # the summary names each failed trial and its error file, and each failed evaluation
    assert f"failed {bad}: " in out.stderr and f"error file: {error_file}" in out.stderr
    assert f"failed evaluation {ok} bad" in out.stderr and "--retry-failed" in out.stderr

    # resume leaves failures alone (nothing to run: Ray is not even started), and still says they failed
    before = {t: len(runs(exp, t)) for t in df.index}
    again = cli("resume", str(exp), "--no-live", check=False)
    assert again.returncode == 1 and f"error file: {error_file}" in again.stderr
    assert {t: len(runs(exp, t)) for t in df.index} == before


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_resume_retry_failed_reruns_only_failures(failures, tmp_path):
    exp = tmp_path / "copy"
    shutil.copytree(failures[0], exp)  # experiment folders are relocatable
    df = results(exp).set_index("trial_id")
    before = {t: len(runs(exp, t)) for t in df.index}
    ev_before = pd.read_parquet(exp / "evaluations.parquet")
    assert cli("resume", str(exp), "--retry-failed", "--num-cpus", "2", "--no-live", check=False).returncode == 1
    again = results(exp).set_index("trial_id")
    assert (again["status"] == df["status"]).all() and len(again) == 2  # deterministic failures fail again
    for t in df.index:
        retried = [r.get("event") for r in runs(exp, t)].count("retry")
        assert retried == (1 if df.loc[t, "status"] == "ERROR" else 0)
        if df.loc[t, "status"] == "TERMINATED":
            assert len(runs(exp, t)) == before[t]
    ev_after = pd.read_parquet(exp / "evaluations.parquet")
    pd.testing.assert_frame_equal(ev_after[["trial_id", "eval_set", "status"]], ev_before[["trial_id", "eval_set", "status"]])
