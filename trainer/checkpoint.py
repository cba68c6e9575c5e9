"""Checkpoints that make resume bit-exact: model, optimizer, scheduler, scaler, progress and
every random stream of every worker. One folder per epoch, written atomically.

The layout (``<run>/checkpoints/epoch_XXXX/state.pt``, complete once ``state.pt`` exists) is
defined here only, with the names of the run folder's other files; the sweep driver reads
it through :data:`CHECKPOINTS_DIR`, :data:`STATE_FILE`, the ``*_FILE`` names,
:func:`checkpoint_name` and :func:`checkpoint_epoch`. torch is imported
inside the functions that need it, so that the layout costs no torch import.

A finished run's final checkpoint may be kept whole or as its weights alone (the config's
``final_checkpoint``; :func:`keep_weights_only`): :func:`load_weights` reads the trained model
from either, for evaluation and fine-tuning; only a whole one can be resumed.
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

STATE_FILE = "state.pt"
PREFIX = "epoch_"
CHECKPOINTS_DIR = "checkpoints"  # inside a run folder
#: The run folder's other files (trainer.run writes them; trainer.predictions the last one).
CONFIG_FILE, HISTORY_FILE, METRICS_FILE = "config.json", "history.jsonl", "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
#: What a weights-only checkpoint keeps: the trained model and the record of the run that made it
#: (no optimizer, LR schedule, gradient scaler or random streams: training cannot go on from it).
WEIGHTS_KEYS = ("config", "epoch", "model", "history", "train_seconds", "restarts", "world_size")


@dataclass(frozen=True, kw_only=True)
class Weights:
    """A checkpoint's trained model, whichever way it was kept: what evaluation and fine-tuning read."""

    folder: Path  # the checkpoint folder (epoch_XXXX)
    epoch: int  # epochs trained
    config: dict[str, Any]  # the config it was trained with
    model: dict[str, Any]  # the model's state_dict (parameters and buffers)
    weights_only: bool  # kept without the training state


def checkpoint_name(epoch: int) -> str:
    """Folder name of the checkpoint taken after ``epoch`` completed epochs."""
    return f"{PREFIX}{epoch:04d}"


def checkpoint_epoch(path: Path | str) -> Optional[int]:
    """The epoch a checkpoint folder (path or name) was taken after; None for any other name."""
    name = Path(path).name
    if not name.startswith(PREFIX) or not name[len(PREFIX):].isdigit():
        return None
    return int(name[len(PREFIX):])


def save_checkpoint(folder: Path, epoch: int, state: dict[str, Any], keep: int) -> Path:
    """Write ``state`` as ``folder/epoch_XXXX/state.pt`` (temp folder, then rename); prune old ones."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / checkpoint_name(epoch)
    tmp = folder / f".{checkpoint_name(epoch)}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    import torch

    torch.save(state, tmp / STATE_FILE)
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    for old in list_checkpoints(folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint folders under ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX) and (p / STATE_FILE).is_file())


def find_checkpoint(path: Path) -> Optional[Path]:
    """The newest checkpoint at ``path``: a checkpoint folder, a run folder or its ``checkpoints/``."""
    path = Path(path)
    if (path / STATE_FILE).is_file():
        return path
    for folder in (path / CHECKPOINTS_DIR, path):
        found = list_checkpoints(folder)
        if found:
            return found[-1]
    return None


def load_checkpoint(path: Path, mmap: bool = False) -> dict[str, Any]:
    """The state saved in checkpoint folder ``path`` (on CPU); ``mmap`` reads tensors lazily."""
    import torch

    return torch.load(Path(path) / STATE_FILE, map_location="cpu", weights_only=False, mmap=mmap)


def is_weights_only(state: dict[str, Any]) -> bool:
    """Whether a loaded checkpoint holds the weights alone (no training state to resume from)."""
    return "optimizer" not in state


def keep_weights_only(folder: Path) -> None:
    """Rewrite checkpoint ``folder`` with :data:`WEIGHTS_KEYS` alone (atomically): for a finished run."""
    import torch

    from trainer.files import atomic_write_bytes

    state = load_checkpoint(folder)
    if is_weights_only(state):
        return
    buffer = io.BytesIO()
    torch.save({k: state[k] for k in WEIGHTS_KEYS if k in state}, buffer)
    del state
    atomic_write_bytes(Path(folder) / STATE_FILE, buffer.getvalue())


def load_weights(path: Path) -> Optional[Weights]:
    """The trained model of the newest checkpoint at ``path`` (a run folder, its ``checkpoints/`` or one
    checkpoint), whole or weights-only; None without a checkpoint. Tensors are read lazily (mmap)."""
    found = find_checkpoint(path)
    if found is None:
        return None
    state = load_checkpoint(found, mmap=True)
    return Weights(folder=found, epoch=int(state["epoch"]), config=state["config"], model=state["model"],
                   weights_only=is_weights_only(state))


def run_folder(path: Path) -> Path:
    """The run folder that ``path`` (a run folder, its ``checkpoints/`` or one checkpoint) belongs to."""
    path = Path(path)
    if path.name.startswith(PREFIX) and path.parent.name == CHECKPOINTS_DIR:
        return path.parent.parent
    if path.name == CHECKPOINTS_DIR:
        return path.parent
    return path


def stored_config(path: Path) -> Optional[dict[str, Any]]:
    """The config the newest checkpoint at ``path`` was trained with, or None without a checkpoint."""
    found = find_checkpoint(path)
    return None if found is None else load_checkpoint(found, mmap=True)["config"]
