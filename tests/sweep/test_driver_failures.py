"""The driver's failure handling, fast and without Ray: the real pack, store, progress and
exit-status code, driven through the pack's Reporter interface by a recording double.
(The real-Ray end-to-end tests in test_sweep_run.py and test_reliability.py stay.)"""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from rsb_sweep.cli import main
from rsb_sweep.driver.packs import settle_failed_packs
from rsb_sweep.spec.execution import Execution
from rsb_sweep.cli.exitstatus import ExitStatus
from rsb_sweep.experiment.folder import Experiment, ExperimentError
from rsb_sweep.driver.progress import Progress
from rsb_sweep.worker.trainable import POINTER_FILE, pointer_dir, read_pointer
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SeedAxis, SweepSpec
from rsb_sweep.worker.pack import Member, PackJob, run_pack
from tests.sweep.doubles import RecordingReporter


def _experiment(tmp_path, n=2, **overrides):
    spec = SweepSpec(name="df", overrides={"epochs": 2, "max_steps": 1, "workers": 0, **overrides}, seeds=SeedAxis(n=n))
    return Experiment.create(tmp_path / "df", spec, Execution(), expand(spec))


def _job(exp, configs=None):
    configs = configs or {}
    members = tuple(Member(t["trial_id"], configs.get(t["trial_id"], t["config"])) for t in exp.trials)
    return PackJob(pack=0, members=members, store_root=exp.store.root)


def _progress(exp):
    return Progress.from_files(exp.name, {t["trial_id"]: t["config"] for t in exp.trials}, exp.store.read_all(exp.trial_ids))


def test_a_pack_member_that_fails_is_recorded_and_the_pack_goes_on(tmp_path):
    exp = _experiment(tmp_path)
    bad, good = exp.trial_ids
    broken = {**exp.config(bad), "data": str(tmp_path / "gone")}  # its data vanished after the sweep was planned
    progress = _progress(exp)
    reporter = RecordingReporter(progress=progress)
    run_pack(_job(exp, {bad: broken}), reporter)

    assert reporter.kinds(bad) == ["start", "error"]
    assert reporter.kinds(good) == ["start", "epoch", "epoch", "done"]
    files = exp.store.read_all(exp.trial_ids)
    assert files[bad].status == "ERROR" and files[good].status == "TERMINATED"
    error = files[bad].error
    assert error["type"] == "DataError" and "does not exist" in error["error"]
    assert "error: data folder" in (exp.store.local_dir(bad) / "train.log").read_text()
    assert reporter.ended == [(bad, "error"), (good, "done")]
    counts = progress.counts()
    assert counts["ERROR"] == 1 and counts["TERMINATED"] == 1
    assert progress.trials[good].top1 == files[good].metrics["top1"]
    assert [p.name for p in (exp.store.local_dir(good) / "checkpoints").iterdir()] == ["epoch_0002"]

    again = RecordingReporter()
    run_pack(_job(exp), again)  # a restarted pack: nothing ended is run again
    assert again.events == []


def test_a_pack_that_never_started_is_reported_and_a_running_trial_becomes_an_error(tmp_path):
    exp = _experiment(tmp_path, n=4)
    a, b, c, d = exp.trial_ids
    store = exp.store
    store.record_run(c, {"resumed_from_epoch": 0})  # pack 1 was running c when Tune gave up on it
    files = store.read_all(exp.trial_ids)
    settled = settle_failed_packs(store, {0: ([a, b], "ImportError: no module named trainer"),
                                          1: ([c, d], "worker died")}, files, max_failures=3)
    assert settled.unstarted == "pack 0 failed before its first trial started: ImportError: no module named trainer"
    assert list(settled.errors) == [c] and "retried 3 times: worker died" in settled.errors[c]
    after = store.read_all(exp.trial_ids)
    assert {t: f.status for t, f in after.items()} == {a: "PENDING", b: "PENDING", c: "ERROR", d: "PENDING"}
    assert after[c].error["type"] == "TrialFailure"
    counts = {"TERMINATED": 0, "ERROR": 1, "RUNNING": 0, "PENDING": 3}
    assert ExitStatus.for_counts(counts) == ExitStatus.UNFINISHED == 3  # the driver returns: resume continues


def test_a_second_driver_is_refused(tmp_path):
    exp = _experiment(tmp_path)
    with exp.lock():
        with pytest.raises(ExperimentError, match="another rsb-sweep is running"):
            exp.lock()
        out = CliRunner().invoke(main, ["resume", str(exp.root), "--no-live"])
        assert out.exit_code == ExitStatus.USAGE, out.output
        assert "another rsb-sweep is running" in out.output and f"pid {__import__('os').getpid()}" in out.output
        assert not exp.store.read(exp.trial_ids[0]).runs  # nothing ran
    assert exp.driver_alive() is False


def test_pointer_checkpoints_round_trip_and_a_stale_pointer_is_only_a_warning(tmp_path):
    from ray.train import Checkpoint

    folder = pointer_dir("t1", 3, tmp_path / "checkpoints" / "epoch_0003")
    assert json.loads((tmp_path.parent / folder / POINTER_FILE).read_text())["epoch"] == 3
    assert read_pointer(Checkpoint.from_directory(folder), "t1") == 3
    assert read_pointer(Checkpoint.from_directory(folder), "t2") == 0  # another trial's pointer counts for nothing
    assert read_pointer(None, "t1") == 0
    (tmp_path / "junk").mkdir()
    assert read_pointer(Checkpoint.from_directory(str(tmp_path / "junk")), "t1") == 0

    exp = _experiment(tmp_path, n=1)
    (tid,) = exp.trial_ids
    reporter = RecordingReporter(pointers={tid: 5})  # Tune remembers epoch 5; the trial folder has nothing
    run_pack(_job(exp), reporter)
    log = (exp.store.local_dir(tid) / "train.log").read_text()
    assert "Tune's checkpoint says epoch 5 but the trial folder has 0; resuming from epoch 0" in log
    assert exp.store.read(tid).runs[0]["resumed_from_epoch"] == 0
    assert reporter.kinds(tid)[-1] == "done"


def test_progress_and_eta_from_reported_events(tmp_path):
    exp = _experiment(tmp_path, n=3, epochs=4)
    a, b, c = exp.trial_ids
    progress = _progress(exp)
    progress.started = time.time() - 40.0  # 40 s into this session
    reporter = RecordingReporter(progress=progress)
    assert progress.eta_seconds() is None  # no epoch done yet: no rate to extrapolate
    reporter.event(a, "start", {"epochs": 4, "epochs_done": 0}, None)
    for epoch in (1, 2, 3, 4):
        reporter.event(a, "epoch", {"epochs": 4, "epochs_done": epoch, "top1": 50.0 + epoch}, None)
    reporter.event(a, "done", {"epochs": 4, "epochs_done": 4, "top1": 60.0}, None)
    reporter.event(b, "start", {"epochs": 4, "epochs_done": 0}, None)
    reporter.event(b, "epoch", {"epochs": 4, "epochs_done": 1, "top1": 40.0}, None)
    assert progress.counts() == {"TERMINATED": 1, "RUNNING": 1, "ERROR": 0, "PENDING": 1}
    # 5 epochs in 40 s; b has 3 left, c has 4: 7 epochs at 8 s each
    assert progress.eta_seconds() == pytest.approx(56.0, rel=0.02)
    reporter.event(b, "error", {"error": "loss became NaN", "epochs_done": 1}, None)
    assert progress.trials[b].status == "ERROR" and progress.trials[b].error == "loss became NaN"
    assert progress.eta_seconds() == pytest.approx(32.0, rel=0.02)  # b no longer counts as remaining work
    n, mean, _ = progress.top1_stats()
    assert (n, mean) == (1, 60.0)
    counts, timing = progress.summary_parts()
    assert "1/3 done, 0 running, 1 failed, 1 pending" in counts and "top-1 60.00 % (n=1)" in timing
    assert reporter.ended == [(a, "done"), (b, "error")]
