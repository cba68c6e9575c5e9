"""``python -m trainer --resume DIR``: the stored config, typed flags as checked overrides."""

import json

from tests.trainer.helpers import assert_same_weights, final_weights, run, tiny_config
from trainer.cli import main

ARGS = ["--recipe", "a2", "--seed", "0", "--epochs", "2", "--warmup-epochs", "1", "--max-steps", "2", "--batch-size", "16"]


def test_resume_alone_is_bit_exact_and_typed_flags_must_agree(tmp_path, capsys):
    full = run(tiny_config(seed=0, epochs=2, max_steps=2), tmp_path / "full")
    part = tmp_path / "part"
    assert main([*ARGS, "--out", str(part), "--stop-after", "1"]) == 0
    config_before = (part / "config.json").read_text()

    assert main(["--resume", str(part), "--epochs", "3", "--lr", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "epochs: checkpoint 2, given 3" in err and "lr: checkpoint 0.01, given 0.1" in err
    assert "seed" not in err.replace("settings", "")  # only the fields that differ are named
    assert (part / "config.json").read_text() == config_before  # nothing written by the refused run
    assert len((part / "history.jsonl").read_text().splitlines()) == 1

    # a checkpoint folder works too; the run folder above it is the output; agreeing and
    # execution flags are accepted
    assert main(["--resume", str(part / "checkpoints" / "epoch_0001"), "--epochs", "2", "--workers", "0"]) == 0
    metrics = json.loads((part / "metrics.json").read_text())
    assert metrics["restarts"] == 1 and metrics["epochs_done"] == 2
    keys = ("top1", "top5", "eval_loss", "train_loss")
    assert {k: metrics[k] for k in keys} == {k: full.metrics[k] for k in keys}
    assert_same_weights(final_weights(part), final_weights(tmp_path / "full"))


def test_resume_without_a_checkpoint_names_the_expected_layout(tmp_path, capsys):
    assert main(["--resume", str(tmp_path)]) == 2
    assert "checkpoints/epoch_XXXX/state.pt" in capsys.readouterr().err
