"""Random streams: one trial seed, three independent sources of randomness.

``seed_init`` feeds torch's global generator (weight init, then drop-path during training),
``seed_data`` the sampler (see :mod:`trainer.data`), ``seed_aug`` the augmentation: data-loader
worker seeds, and, in the main process, the transforms (when ``workers=0``) and the
mixup/cutmix draws. Python's ``random``, NumPy's and torch's global generators are shared by
everything in a process, so the augmentation stream keeps its own copy of all three and is
swapped in only around the code that augments. Both streams' states go into every
checkpoint: that is what makes resume bit-exact.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def global_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_state(state: dict[str, Any]) -> None:
    """Restore what :func:`global_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_globals(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (all devices) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class RngStream:
    """A private set of global-generator states, entered with ``with stream:``.

    Inside the block the process's global generators draw from this stream; on exit the
    stream keeps where it got to and the caller's states come back untouched.
    """

    def __init__(self, seed: int):
        outer = global_state()
        seed_globals(seed)
        self.state = global_state()
        set_global_state(outer)
        self._outer: dict[str, Any] | None = None

    def __enter__(self) -> "RngStream":
        self._outer = global_state()
        set_global_state(self.state)
        return self

    def __exit__(self, *exc: object) -> None:
        self.state = global_state()
        assert self._outer is not None
        set_global_state(self._outer)
        self._outer = None


def set_deterministic(on: bool) -> None:
    """Switch torch's deterministic mode (and cuDNN's) on or off for this process.

    Called once where a run starts, from its config's ``deterministic``, so that a process that
    runs several trials (a reused Ray actor) runs each as its config says. On: deterministic
    cuDNN convolutions (autotuning off), deterministic CUDA kernels where torch has them, and
    ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` when unset (cuBLAS reads it at its first use in the
    process). An op with no deterministic CUDA kernel warns, naming itself, rather than stopping
    the run (``warn_only``); torch's documentation lists AdaptiveAvgPool2d's CUDA backward (ResNet's
    global pool) among them. Off, the default: torch's defaults, what the trainer always ran with.
    CPU results are the same either way.
    """
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(on, warn_only=True)
    torch.backends.cudnn.deterministic = on
