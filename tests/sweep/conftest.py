"""Fixtures for the sweep driver tests: the CLI in a subprocess, reference trainer runs,
and a private Ray head for the --address test. Every Ray this suite starts is stopped by
process id (never `ray stop`, which would stop every Ray on a shared machine)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.sweep.helpers import RAY_BIN


@pytest.fixture(autouse=True)
def _no_ray_left_in_process():
    """Tests that touch Ray in-process must leave it shut down."""
    yield
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A `ray start --head --block` on loopback, in its own session, with a private temp dir.

    Yields (address, temp dir). Stopped by signalling that session only, its Ray workers included
    (SIGTERM, then SIGKILL).
    """
    temp = tempfile.mkdtemp(prefix="rsbh", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = _free_port()
    cmd = [str(RAY_BIN), "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
           "--temp-dir", temp, "--include-dashboard", "false", "--disable-usage-stats",
           "--node-ip-address", "127.0.0.1", "--ray-client-server-port", str(_free_port()),
           "--dashboard-agent-listen-port", str(_free_port())]
    log = open(Path(temp) / "head.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy())
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited: {(Path(temp) / 'head.log').read_text()[-2000:]}")
            if "will now block forever" in (Path(temp) / "head.log").read_text():
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("ray start did not come up in 90 s")
        yield f"127.0.0.1:{port}", temp
    finally:
        stop_session(proc.pid)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def stop_session(sid: int, grace: float = 5.0) -> None:
    """SIGTERM every process of the session ``sid`` (one this test started with
    ``start_new_session``), then SIGKILL what is left, and return once none is alive.

    By session, not process group: Ray's workers run in process groups of their own inside the
    driver's session, and a worker left running would keep writing after the test has looked."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        pids = _session_alive(sid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + wait
        while time.time() < deadline:
            if not _session_alive(sid):
                return
            time.sleep(0.3)


def _session_alive(sid: int) -> list[int]:
    """The live (not zombie) processes of session ``sid``."""
    out = subprocess.run(["ps", "-eo", "pid=,sid=,stat="], capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return [int(pid) for pid, s, stat in rows if s == str(sid) and not stat.startswith("Z")]
