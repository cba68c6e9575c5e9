"""Exit statuses (rsb_sweep.cli.exitstatus) and the paths a user types (rsb_sweep.spec.paths,
rsb_sweep.driver.preflight): relative paths work from where they were typed, bad data is refused
before anything starts, Ctrl-C exits 130 with state saved."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from rsb_sweep.cli import main
from rsb_sweep.errors import SweepError
from rsb_sweep.cli.exitstatus import CRASH_FILE, EPILOG, ExitStatus, run_command
from rsb_sweep.spec.sweepfile import load_spec_file
from tests.conftest import write_image_folder
from tests.sweep.conftest import stop_session
from tests.sweep.helpers import manifest, results, wait_for
from trainer.errors import ConfigError


def _exit(body):
    lines: list[str] = []
    with pytest.raises(SystemExit) as info:
        run_command(body, lines.append)
    return info.value.code, "\n".join(lines)


def test_run_command_maps_each_outcome_to_its_status(tmp_path):
    assert _exit(lambda run: None)[0] == 0
    assert _exit(lambda run: ExitStatus.TRIALS_FAILED)[0] == 1
    assert _exit(lambda run: ExitStatus.UNFINISHED)[0] == 3

    def usage(run):
        raise SweepError("--n must be >= 1")

    code, text = _exit(usage)
    assert code == 2 and text == "error: --n must be >= 1"

    def trainer_error_before_start(run):
        run.experiment(tmp_path)
        raise ConfigError("lr=-1 is out of range")

    assert _exit(trainer_error_before_start)[0] == 2

    def trainer_error_after_start(run):  # trials ran: not a usage error any more
        run.experiment(tmp_path)
        run.dispatching()
        raise ConfigError("checkpoint was trained with a different config")

    code, text = _exit(trainer_error_after_start)
    assert code == 4 and "internal error: ConfigError" in text
    saved = (tmp_path / CRASH_FILE).read_text()
    assert "Traceback" in saved and "trainer_error_after_start" in saved and str(tmp_path / CRASH_FILE) in text

    def crash_without_folder(run):
        raise RuntimeError("Ray's GCS went away")

    code, text = _exit(crash_without_folder)
    assert code == 4 and "Traceback" in text and "RuntimeError: Ray's GCS went away" in text

    def interrupted(run):
        run.experiment(tmp_path)
        raise KeyboardInterrupt

    code, text = _exit(interrupted)
    assert code == 130 and f"rsb-sweep resume {tmp_path}" in text
    assert ExitStatus.for_counts({"TERMINATED": 3, "ERROR": 0, "RUNNING": 0, "PENDING": 0}) == 0
    assert ExitStatus.for_counts({"TERMINATED": 2, "ERROR": 1, "RUNNING": 0, "PENDING": 0}) == 1


def test_help_documents_the_exit_statuses():
    runner = CliRunner()
    for command in ("seeds", "grid", "run", "resume"):
        text = " ".join(runner.invoke(main, [command, "--help"]).output.split())
        assert " ".join(EPILOG.split()) in text, command
    assert "Exit status: 0 done; 2" in " ".join(runner.invoke(main, ["status", "--help"]).output.split())


def test_report_errors_are_matched_by_type(tmp_path):
    out = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert out.exit_code == 2 and "neither results.parquet nor results.csv" in out.output


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """A user's folder holding mydata/ (a real ImageFolder), and a shell standing in it."""
    write_image_folder(tmp_path / "mydata")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _seeds(*args):
    return CliRunner().invoke(main, ["seeds", "--n", "1", "--epochs", "2", "--warmup-epochs", "0", "--dry-run", *args])


def test_relative_data_is_taken_from_where_it_was_typed(user_folder):
    assert _seeds("--data", "mydata").exit_code == 0
    (user_folder / "sub").mkdir()
    os.chdir(user_folder / "sub")
    assert _seeds("--data", "../mydata").exit_code == 0
    out = _seeds("--data", "mydata")
    assert out.exit_code == 2 and f"data folder {user_folder / 'sub' / 'mydata'} does not exist" in out.output


@pytest.mark.parametrize("make, message", [
    (lambda root: [(root / s).mkdir(parents=True) for s in ("train", "val")], "has no class subfolders"),
    (lambda root: (write_image_folder(root), shutil.rmtree(root / "val")), "has no val/ subfolder"),
    (lambda root: [(root / s / "cat").mkdir(parents=True) for s in ("train", "val")], "holds no images"),
    (lambda root: (write_image_folder(root, per_class=(1, 1)),
                   (root / "val" / "a" / "0.png").write_bytes(b"not a png")), "corrupt image"),
    (lambda root: (write_image_folder(root, per_class=(1, 1)), (root / "val" / "d").mkdir(),
                   (root / "val" / "d" / "0.png").write_bytes((root / "val" / "a" / "0.png").read_bytes())),
     "different classes"),
])
def test_bad_data_is_refused_before_anything_starts(user_folder, make, message):
    make(user_folder / "bad")
    out = CliRunner().invoke(main, ["seeds", "--n", "1", "--data", "bad", "--epochs", "2", "--warmup-epochs", "0", "--out", "exp"])
    assert out.exit_code == 2 and message in out.output, out.output
    assert not (user_folder / "exp").exists()  # nothing written, nothing started


def test_eval_sets_are_checked_against_the_training_classes(user_folder):
    write_image_folder(user_folder / "other", classes=("x", "y", "z"))
    out = _seeds("--data", "mydata", "--eval-set", "v2=other")
    assert out.exit_code == 2 and "evaluation set 'v2'" in out.output and "same class folders" in out.output
    assert _seeds("--data", "mydata", "--eval-set", "v2=mydata").exit_code == 0


def test_paths_in_a_sweep_file_are_relative_to_the_file(user_folder):
    (user_folder / "sweeps").mkdir()
    sweep = user_folder / "sweeps" / "s.yaml"
    sweep.write_text("data: ../mydata\noverrides: {epochs: 2, warmup_epochs: 0, eval_sets: {v2: ../mydata/val}}\n"
                     "grid: {real_labels: [null, labels/real.json]}\n")
    os.chdir("/")
    spec, _ = load_spec_file(sweep)
    assert spec.data == str(user_folder / "mydata")
    assert spec.overrides["eval_sets"] == (("v2", str(user_folder / "mydata" / "val")),)
    assert spec.grid["real_labels"] == [None, str(user_folder / "sweeps" / "labels" / "real.json")]
    spec, _ = load_spec_file(sweep, data="s3://bucket/imagenet")  # --data replaces it; URIs stay as they are
    assert spec.data == "s3://bucket/imagenet"


def _background(args, cwd, log):
    fh = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "rsb_sweep", *args], cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                            start_new_session=True, env=os.environ.copy())


@pytest.mark.timeout(240)
@pytest.mark.parametrize("sig", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)])
def test_ctrl_c_before_the_first_trial_exits_130_with_state_saved(tmp_path, sig):
    write_image_folder(tmp_path / "mydata")
    log = tmp_path / "driver.log"
    proc = _background(["seeds", "--n", "2", "--data", "mydata", "--epochs", "2", "--warmup-epochs", "0", "--max-steps", "1", "--num-cpus", "1",
                        "--out", "exp", "--no-live"], tmp_path, log)
    exp = tmp_path / "exp"
    try:
        wait_for(lambda: (exp / "sweep.json").exists(), 120, "the manifest", proc, log)
        os.kill(proc.pid, sig)  # while Ray starts: no trial has been dispatched
        assert proc.wait(timeout=120) == 130, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)
    text = log.read_text()
    # (Python may print "Exception ignored … KeyboardInterrupt" when the signal lands in one of Ray's fork
    # handlers; the interrupt is still honoured before any trial is dispatched)
    assert f"interrupted; continue with  rsb-sweep resume {exp}" in text and "internal error" not in text
    df = results(exp)  # the table was written before exiting
    assert list(df["status"]) == ["PENDING", "PENDING"]
    assert {t["config"]["data"] for t in manifest(exp)["trials"]} == {str(tmp_path / "mydata")}
    assert not list((exp / "trials").glob("*/runs.jsonl"))  # no trial started


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_own_data_by_relative_path_then_ctrl_c_mid_trial_then_resume(tmp_path):
    """The issue's repro: `rsb-sweep seeds --data mydata …` from the folder holding mydata/."""
    write_image_folder(tmp_path / "mydata")
    small = ["--model", "resnet18", "--train-res", "32", "--test-res", "32", "--batch-size", "6", "--warmup-epochs", "0",
             "--workers", "0"]
    log = tmp_path / "driver.log"
    proc = _background(["seeds", "--n", "2", "--data", "mydata", "--epochs", "3", "--pack", "1", "--num-cpus", "1",
                        *small, "--out", "exp", "--no-live"], tmp_path, log)
    exp = tmp_path / "exp"
    try:
        wait_for(lambda: (exp / "sweep.json").exists(), 120, "the manifest", proc, log)
        first = manifest(exp)["trials"][0]["trial_id"]
        history = exp / "trials" / first / "history.jsonl"
        wait_for(lambda: history.exists() and history.read_text().count("\n") >= 1, 300, "an epoch", proc, log)
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 130, log.read_text()[-3000:]
    finally:
        stop_session(proc.pid)
    assert set(results(exp)["status"]) <= {"RUNNING", "PENDING", "TERMINATED"} and "ERROR" not in set(results(exp)["status"])
    resumed = subprocess.run([sys.executable, "-m", "rsb_sweep", "resume", "exp", "--num-cpus", "1", "--no-live"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    df = results(exp)
    assert list(df["status"]) == ["TERMINATED", "TERMINATED"] and set(df["dataset"]) == {"mydata"}
    assert (df["epochs_done"] == 3).all()


def test_ctrl_c_while_click_parses_the_options_exits_130(monkeypatch):
    import click

    def interrupted(self, value, param, ctx):
        raise KeyboardInterrupt  # as if Ctrl-C came while click converted `--n 3`

    monkeypatch.setattr(click.types.IntParamType, "convert", interrupted)
    out = CliRunner().invoke(main, ["seeds", "--n", "3", "--dry-run"])
    assert out.exit_code == 130 and "interrupted" in out.output


def test_the_start_up_line_of_a_multi_recipe_grid_names_each_recipes_scaling():
    out = CliRunner().invoke(main, ["grid", "--recipe", "a1,a3", "--seeds", "1", "--dry-run"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    a1 = next(line for line in lines if line.startswith("A1: embedded 'digits' data"))
    a3 = next(line for line in lines if line.startswith("A3: embedded 'digits' data"))
    assert "epochs 600→54 (×0.09)" in a1 and "epochs 100→27 (×0.27, A3 scaled on its own)" in a3
