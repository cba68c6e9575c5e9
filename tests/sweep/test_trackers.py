"""Trackers per trial (rsb_sweep.driver.trackers), without Ray: real TensorBoard event files, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rsb_sweep.driver.tb_events import TensorBoardTracker, read_scalars
from rsb_sweep.driver.trackers import TrackerHub, TrialInfo, parse_log
from rsb_sweep.errors import SweepError

TRIALS = {"0000-seed0": TrialInfo("0000-seed0", {"seed": 0}, {"seed": 0, "seed_init": 11, "seed_data": 12,
                                                             "seed_aug": 13, "lr": 0.01})}


def _rows(n: int) -> list[dict]:
    return [{"epoch": e, "top1": 10.0 * e, "train_loss": 1.0 / e, "lr": 0.01} for e in range(1, n + 1)]


def _hub(root: Path, history: dict[str, list[dict]], lines: list[str], *more) -> TrackerHub:
    return TrackerHub([TensorBoardTracker(root), *more], TRIALS, lambda tid: history.get(tid, []), lines.append)


def test_a_resumed_trial_continues_its_tensorboard_run_without_duplicates_or_gaps(tmp_path):
    history: dict[str, list[dict]] = {"0000-seed0": _rows(2)}
    lines: list[str] = []
    first = _hub(tmp_path, history, lines)
    first.update("0000-seed0")
    first.update("0000-seed0")  # the same epoch reported twice (a Tune retry): logged once
    first.close()  # the driver was killed (or the command ended) with the trial at epoch 2
    history["0000-seed0"] = _rows(5)  # the restarted trial resumed from its checkpoint and went on to 5
    second = _hub(tmp_path, history, lines)  # a new driver: knows only what the event files hold
    second.update("0000-seed0", ended="TERMINATED")
    scalars = read_scalars(tmp_path / "0000-seed0")
    steps = sorted(step for step, tag, _ in scalars if tag == "top1")
    assert steps == [1, 2, 3, 4, 5]
    assert {tag for _, tag, _ in scalars} == {"top1", "train_loss", "lr"}  # the epoch is the step, not a metric
    assert dict((s, v) for s, t, v in scalars if t == "top1") == {e: 10.0 * e for e in range(1, 6)}
    assert len(list((tmp_path / "0000-seed0").glob("events.out.tfevents.*"))) == 2  # one file per driver
    assert not lines


def test_the_run_is_tagged_with_what_varies_and_the_seeds(tmp_path):
    _hub(tmp_path, {"0000-seed0": _rows(1)}, []).update("0000-seed0", ended="TERMINATED")
    data = b"".join(p.read_bytes() for p in (tmp_path / "0000-seed0").glob("events.out.tfevents.*"))
    assert b"_hparams_/session_start_info" in data
    for text in (b"seed_init", b"seed_aug", b"0000-seed0"):
        assert text in data


class _Broken:
    name = "broken"

    def logged_step(self, trial: TrialInfo) -> int:
        raise ConnectionError("tracker.example:443 unreachable")

    def log(self, trial, rows):  # pragma: no cover - never reached
        raise AssertionError

    def finish(self, trial_id, status):  # pragma: no cover
        raise AssertionError

    def close(self) -> None:
        pass


def test_a_failing_tracker_is_dropped_with_one_line_and_the_others_go_on(tmp_path):
    lines: list[str] = []
    hub = _hub(tmp_path, {"0000-seed0": _rows(3)}, lines, _Broken())
    hub.update("0000-seed0")
    hub.update("0000-seed0", ended="TERMINATED")
    assert [t.name for t in hub.trackers] == ["tensorboard"]
    assert len(lines) == 1 and "tracker broken failed (tracker.example:443 unreachable)" in lines[0]
    assert "the sweep goes on" in lines[0]
    assert sorted(s for s, t, _ in read_scalars(tmp_path / "0000-seed0") if t == "top1") == [1, 2, 3]


def test_a_torn_last_event_record_is_left_out(tmp_path):
    _hub(tmp_path, {"0000-seed0": _rows(2)}, []).update("0000-seed0", ended="TERMINATED")
    path = next((tmp_path / "0000-seed0").glob("events.out.tfevents.*"))
    assert len(read_scalars(tmp_path / "0000-seed0")) == 6  # 2 epochs x 3 metrics, one record per epoch
    path.write_bytes(path.read_bytes()[:-7])  # a writer killed mid-record: epoch 2's record is torn
    assert sorted({s for s, _, _ in read_scalars(tmp_path / "0000-seed0")}) == [1]


def test_parse_log():
    assert parse_log([]) == ("tensorboard",)
    assert parse_log(["mlflow", "wandb=lab"]) == ("tensorboard", "mlflow", "wandb=lab")
    assert parse_log(["mlflow=http://127.0.0.1:5000,wandb"]) == ("tensorboard", "mlflow=http://127.0.0.1:5000", "wandb")
    assert parse_log(["none"]) == ()
    with pytest.raises(SweepError, match="--log 'neptune': expected tensorboard, mlflow, wandb"):
        parse_log(["neptune"])
    assert json.loads(json.dumps(list(parse_log(["mlflow"])))) == ["tensorboard", "mlflow"]


def test_a_wandb_that_is_not_logged_in_is_dropped_with_one_line(tmp_path, monkeypatch):
    from rsb_sweep.driver.tracker_clients import open_hub

    for key in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DISABLED"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc, no saved login
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    lines: list[str] = []
    trials = [{"trial_id": "0000-seed0", "params": {"seed": 0}, "config": {"seed": 0}}]
    hub = open_hub(tmp_path / "exp", "sweep", trials, ["tensorboard", "wandb"], lambda tid: _rows(2), lines.append)
    hub.update("0000-seed0", ended="TERMINATED")
    assert [t.name for t in hub.trackers] == ["tensorboard"]
    assert len(lines) == 1 and lines[0].startswith("tracker wandb failed (") and "the sweep goes on" in lines[0]
    assert sorted(s for s, t, _ in read_scalars(tmp_path / "exp" / "tensorboard" / "0000-seed0") if t == "top1") == [1, 2]
