"""Shared fixtures: a private data cache and small real image folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Write the embedded digits into a fresh cache, as on a new machine."""
    cache = tmp_path_factory.mktemp("rsb-cache")
    old = os.environ.get("RSB_SWEEP_CACHE")
    os.environ["RSB_SWEEP_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("RSB_SWEEP_CACHE", None)
    else:
        os.environ["RSB_SWEEP_CACHE"] = old


def write_image_folder(root: Path, classes=("a", "b", "c"), per_class=(6, 3), size=12, seed=0) -> Path:
    """A small real ImageFolder (train/, val/) of random RGB PNGs, class-dependent colour."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "val"), per_class):
        for ci, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                base = np.zeros((size, size, 3), np.uint8)
                base[..., ci % 3] = 160
                noise = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
                Image.fromarray(base + noise).save(folder / f"{i}.png")
    return root


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return write_image_folder(tmp_path / "imgs")
