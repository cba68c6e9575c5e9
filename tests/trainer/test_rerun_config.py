"""``python -m trainer --config PATH``: a stored config.json run again, at its recorded thread count;
and the final checkpoint kept whole (``--final-checkpoint full``) or as its weights alone (the default).

Two real tiny digits runs, in this process: ``a`` from a recipe with ``--threads 1``, ``b`` from
``a``'s config.json alone (the execution field ``final_checkpoint`` changed to ``full``)."""

import json

import pytest
import torch

from tests.trainer.helpers import assert_same_weights
from trainer.checkpoint import WEIGHTS_KEYS, find_checkpoint, load_checkpoint, load_weights
from trainer.cli import main, rerun_config
from trainer.threads import threads_restored

ARGS = ["--recipe", "a2", "--seed", "3", "--epochs", "2", "--warmup-epochs", "1", "--max-steps", "1",
        "--batch-size", "16"]
TIMING = ("train_hours", "peak_mem_gb")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rerun")
    a, b = root / "a", root / "b"
    with threads_restored():
        before = torch.get_num_threads()
        assert main([*ARGS, "--threads", "1", "--out", str(a)]) == 0
        assert main(["--config", str(a / "config.json"), "--out", str(b), "--final-checkpoint", "full"]) == 0
        assert torch.get_num_threads() == before  # a run gives the process its own count back
    return a, b


def _json(path):
    return json.loads(path.read_text())


def test_a_stored_config_runs_again_to_the_same_metrics_at_its_recorded_thread_count(runs):
    a, b = runs
    config_a, config_b = _json(a / "config.json"), _json(b / "config.json")
    assert config_a["threads"] == config_b["threads"] == 1  # stored, so used again without --threads
    assert isinstance(config_a["interop_threads"], int) and config_a["interop_threads"] >= 1
    assert {k: v for k, v in config_b.items() if k != "final_checkpoint"} == \
           {k: v for k, v in config_a.items() if k != "final_checkpoint"}
    metrics_a, metrics_b = _json(a / "metrics.json"), _json(b / "metrics.json")
    assert {k: v for k, v in metrics_a.items() if k not in TIMING} == {k: v for k, v in metrics_b.items() if k not in TIMING}
    assert (a / "history.jsonl").read_text().count("\n") == 2


def test_the_final_checkpoint_is_kept_whole_or_as_weights_and_both_load_alike(runs):
    a, b = runs
    last_a, last_b = find_checkpoint(a), find_checkpoint(b)
    assert last_a.name == last_b.name == "epoch_0002"
    assert tuple(load_checkpoint(last_a)) == WEIGHTS_KEYS  # the default: weights alone
    assert "optimizer" in load_checkpoint(last_b) and "optimizer" in load_checkpoint(a / "checkpoints" / "epoch_0001")
    size = lambda folder: (folder / "state.pt").stat().st_size
    assert size(last_a) < 0.6 * size(last_b)
    wa, wb = load_weights(a), load_weights(b)
    assert (wa.weights_only, wb.weights_only, wa.epoch, wb.epoch) == (True, False, 2, 2)
    assert_same_weights(wa.model, wb.model)  # what trainer.evaluate reads (test_evaluate.py: weights-only runs)


def test_a_weights_only_final_checkpoint_cannot_be_resumed_and_says_why(runs, capsys):
    a, _ = runs
    before = (a / "metrics.json").read_text()
    assert main(["--resume", str(a)]) == 2
    err = capsys.readouterr().err
    assert "holds the final weights only" in err and "training cannot continue from it" in err
    assert "--final-checkpoint full" in err
    assert (a / "metrics.json").read_text() == before


def test_config_refuses_other_flags_resume_and_its_own_folder_and_says_a_thread_change(runs, capsys):
    a, b = runs
    assert main(["--config", str(a), "--epochs", "3", "--lr", "0.1", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "epochs: stored 2, given 3" in err and "lr: stored 0.01, given 0.1" in err and "workers" not in err.split(".")[0]
    assert main(["--config", str(a), "--resume", str(a)]) == 2
    assert "give one" in capsys.readouterr().err
    assert main(["--config", str(a / "config.json"), "--out", str(a)]) == 2
    assert "is the folder of the stored run" in capsys.readouterr().err
    assert main(["--config", str(a / "nothing.json")]) == 2
    assert "cannot read a stored config" in capsys.readouterr().err
    _, notices = rerun_config(a, None, None, {"threads": 2})
    assert "was run with 1 intra-op thread(s), this run uses 2: results will differ" in notices[1]
    assert rerun_config(a, None, None, {})[1] == [f"running the stored config {a / 'config.json'}"]
