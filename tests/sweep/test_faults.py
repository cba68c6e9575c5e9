"""Operational faults are exit status 3 with one line (rsb_sweep.experiment.faults, rsb_sweep.cli.exitstatus);
the end-to-end full-disk run is in test_cluster_faults.py."""

from __future__ import annotations

import errno
from types import SimpleNamespace

import pytest

from rsb_sweep.cli.exitstatus import ExitStatus, run_command
from rsb_sweep.driver.stall import StallWatch
from rsb_sweep.errors import Unfinished
from rsb_sweep.experiment.faults import as_os_error, full_folder, refused_error, refused_write


def _exit(body, tmp_path) -> tuple[int, list[str]]:
    lines: list[str] = []

    def go(run):
        run.experiment(tmp_path)
        run.dispatching()
        body()

    with pytest.raises(SystemExit) as stop:
        run_command(go, lines.append)
    return stop.value.code, lines


def test_a_full_disk_after_dispatch_is_exit_3_naming_the_folder(tmp_path):
    target = tmp_path / "trials" / "0000-seed0" / "history.jsonl"

    def body():
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        except OSError as exc:
            raise RuntimeError("Tune wrapped it") from exc

    code, lines = _exit(body, tmp_path)
    assert code == ExitStatus.UNFINISHED
    assert len(lines) == 1
    assert lines[0].startswith(f"{full_folder(tmp_path)} is full (No space left on device, writing {target})")
    assert f"`rsb-sweep resume {tmp_path}` continues once there is space" in lines[0]
    assert not (tmp_path / "driver-error.txt").exists()  # not a crash


def test_a_read_only_store_and_a_worker_s_text_are_refused_writes(tmp_path):
    line = refused_write(OSError(errno.EROFS, "Read-only file system", "/data/exp/results.parquet"))
    assert "refuses writes (Read-only file system, writing /data/exp/results.parquet)" in line
    assert "once it accepts writes" in line
    remote = as_os_error(RuntimeError("ray::ImplicitFunc.train() OSError: [Errno 28] No space left on device: "
                                      "'/tmp/x/trials/0001/state.pt'"))
    assert (remote.errno, remote.filename) == (errno.ENOSPC, "/tmp/x/trials/0001/state.pt")
    assert refused_write(ValueError("bad lr")) is None
    assert refused_error(RuntimeError("[enforce fail] iostream error"), tmp_path) is None  # space left: a bug


def test_unfinished_is_exit_3_and_other_crashes_stay_4(tmp_path):
    def stalled():
        raise Unfinished("no trial could be placed for 3 s: 1 pack(s) of trials wait for CPU 1 each")

    code, lines = _exit(stalled, tmp_path)
    assert code == 3 and lines == ["no trial could be placed for 3 s: 1 pack(s) of trials wait for CPU 1 each"]

    def bug():
        raise OSError(errno.ENOENT, "No such file or directory", "x")

    code, lines = _exit(bug, tmp_path)
    assert code == ExitStatus.INTERNAL and lines[0].startswith("internal error: FileNotFoundError")


def test_the_stall_watch_counts_only_while_a_trial_waits_and_none_runs(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("rsb_sweep.driver.stall.time.monotonic", lambda: clock[0])
    watch = StallWatch(timeout=10)
    waiting = [SimpleNamespace(status="PENDING"), SimpleNamespace(status="TERMINATED")]
    running = [SimpleNamespace(status="PENDING"), SimpleNamespace(status="RUNNING")]
    assert not watch.check(waiting)
    clock[0] += 9
    assert not watch.check(waiting)
    assert not watch.check(running)  # a trial ran: the clock starts again
    clock[0] += 9
    assert not watch.check(waiting)
    clock[0] += 11
    assert watch.check(waiting)
    assert watch.message.startswith("no trial could be placed for 11 s: 1 pack(s) of trials wait for")
