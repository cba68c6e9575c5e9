"""`python -m trainer` end to end, alone and under torchrun (gloo, 2 CPU workers)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.trainer.helpers import assert_same_weights, final_weights, run, tiny_config
from trainer.checkpoint import find_checkpoint, load_checkpoint
from trainer.config import TrainConfig
from trainer.data import build_datasets, eval_loader
from trainer.model import create_model

TINY_ARGS = ["--recipe", "a2", "--seed", "0", "--epochs", "2", "--warmup-epochs", "1", "--max-steps", "2",
             "--batch-size", "16"]


def cli(*args, torchrun=0, timeout=600):
    prefix = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={torchrun}"] if torchrun else [sys.executable]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([*prefix, "-m", "trainer", *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_run_writes_the_run_folder(tmp_path):
    out = cli(*TINY_ARGS, "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "embedded 'digits' data" in out.stdout and "epoch    2/2" in out.stdout
    config = json.loads((tmp_path / "config.json").read_text())
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    history = [json.loads(x) for x in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert config["epochs"] == 2 and config["seed_init"] is not None
    assert [h["epoch"] for h in history] == [1, 2] and metrics["top1"] == history[-1]["top1"]
    assert (tmp_path / "checkpoints" / "epoch_0002" / "state.pt").is_file()


def test_cli_stop_and_resume_with_the_folder_alone(tmp_path):
    assert cli(*TINY_ARGS, "--out", str(tmp_path), "--stop-after", "1").returncode == 0
    assert not (tmp_path / "metrics.json").exists()
    out = cli("--resume", str(tmp_path))  # stored config, writes into the same folder
    assert out.returncode == 0, out.stderr
    assert "resumed from" in out.stdout and "epoch    2/2" in out.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["restarts"] == 1


@pytest.mark.slow
def test_torchrun_two_workers_trains_and_resumes_bit_exactly(tmp_path):
    args = [*TINY_ARGS, "--epochs", "3", "--seed", "5"]
    full = cli(*args, "--out", str(tmp_path / "full"), torchrun=2)
    assert full.returncode == 0, full.stderr
    metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert metrics["n_workers"] == 2 and metrics["n_val"] == 360  # every image once, none padded
    part = cli(*args, "--out", str(tmp_path / "part"), "--stop-after", "1", torchrun=2)
    assert part.returncode == 0, part.stderr
    resumed = cli(*args, "--out", str(tmp_path / "part"), "--resume", str(tmp_path / "part"), torchrun=2)
    assert resumed.returncode == 0, resumed.stderr
    again = json.loads((tmp_path / "part" / "metrics.json").read_text())
    assert {k: again[k] for k in ("top1", "top5", "eval_loss", "train_loss")} == \
           {k: metrics[k] for k in ("top1", "top5", "eval_loss", "train_loss")}
    assert_same_weights(final_weights(tmp_path / "part"), final_weights(tmp_path / "full"))
    # a checkpoint to resume from (the final one keeps the weights alone) holds both ranks' streams
    state = torch.load(Path(tmp_path / "part" / "checkpoints" / "epoch_0002" / "state.pt"), weights_only=False)
    assert len(state["rng"]) == 2 and state["world_size"] == 2


def evaluate_alone(run_dir: Path) -> tuple[float, float]:
    """Top-1 and mean cross-entropy of the newest checkpoint in ``run_dir``, one process, plain torch."""
    state = load_checkpoint(find_checkpoint(run_dir))
    config = TrainConfig.from_dict(state["config"])
    val = build_datasets(config).val
    model = create_model(config, num_classes=10)
    model.load_state_dict(state["model"])
    model.eval()
    layout = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)  # the layout it was evaluated in (recorded in its config)
    hits = loss = 0.0
    with torch.no_grad():
        # the trainer's own one-worker loader: per-image uint8 samples, normalized per batch
        for x, y in eval_loader(config, val, world_size=1, rank=0):
            logits = model(x.to(memory_format=layout))
            hits += (logits.argmax(1) == y).sum().item()
            loss += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
    return 100.0 * hits / len(val), loss / len(val)


@pytest.mark.slow
def test_torchrun_rank0_checkpoint_alone_gives_the_reported_metrics(tmp_path):
    # BN running statistics are averaged over ranks before evaluation (timm's --dist-bn reduce);
    # without it each rank evaluates its half of the images with its own statistics, and the
    # checkpoint (rank 0's) re-evaluates differently from the reported number.
    out = cli(*TINY_ARGS, "--epochs", "3", "--max-steps", "4", "--seed", "2", "--out", str(tmp_path), torchrun=2)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n_workers"] == 2
    top1, loss = evaluate_alone(tmp_path)
    assert top1 == metrics["top1"]
    assert loss == pytest.approx(metrics["eval_loss"], rel=1e-6)
