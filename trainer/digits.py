"""The embedded default data: scikit-learn's 8×8 digits written once as a PNG ImageFolder.

Writing real files means the demo takes exactly the code path of ImageNet (timm's dataset
factory, PIL decoding, RandAugment on PIL images), so what the demo exercises is what a
cluster run exercises.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

#: Bump when the written files change, so that old caches are not reused.
DIGITS_VERSION = "v1"
N_VAL = 360  # of 1797 images; the rest (1437) train. Stratified, fixed.


def default_cache_dir() -> Path:
    """``$RSB_SWEEP_CACHE`` or ``~/.cache/rsb-sweep``."""
    return Path(os.environ.get("RSB_SWEEP_CACHE", Path.home() / ".cache" / "rsb-sweep"))


def digits_root(cache_dir: Path | None = None) -> Path:
    """The digits ImageFolder (``train/``, ``val/``), written on first use.

    Safe when many trials call it at once: each writes to a private temporary folder and
    renames it into place; the first rename wins and the others discard theirs.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return write_once(cache, f"digits-{DIGITS_VERSION}", _write_digits)


def write_once(cache: Path, name: str, writer: Callable[[Path], None]) -> Path:
    """``cache/name``, an ImageFolder that ``writer(folder)`` writes on first use (every embedded set).

    Safe when many trials call it at once: each writes to a private temporary folder and renames it
    into place; the first rename wins and the others discard theirs.
    """
    root = cache / name
    if (root / "val").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
    try:
        writer(tmp)
        try:
            os.rename(tmp, root)
        except OSError:
            if not (root / "val").is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _write_digits(root: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    index = np.arange(len(images))
    train_idx, val_idx = train_test_split(index, test_size=N_VAL, stratify=digits.target, random_state=0)
    for split, idx in (("train", train_idx), ("val", val_idx)):
        for i in sorted(idx):
            folder = root / split / str(digits.target[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i], mode="L").save(folder / f"{i:04d}.png")
