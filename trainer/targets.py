"""Embedded fine-tuning targets: real image sets that ship inside scikit-image, written once as PNG ImageFolders.

Selected by ``dataset`` with no ``--data`` (digits stays the default), they take the same code path as
any ImageFolder (timm's dataset factory, PIL decoding, RandAugment), as the digits do (:mod:`trainer.digits`):

- ``lfw_faces``: ``skimage.data.lfw_subset()``, 200 greyscale 25×25 crops of Labeled Faces in the Wild,
  100 faces then 100 non-faces; a fixed stratified split of 150 train / 50 val (a 50-image validation
  set moves in 2-point steps).
- ``textures``: 32×32 patches of three bundled 512×512 greyscale textures (``brick``, ``grass``,
  ``gravel``) on a grid without overlap; the top three quarters of each image train (192 patches a
  class), the bottom quarter, which no training patch touches, validates (64 a class: 192 images, steps
  of 0.52 points).

The target preset (:func:`apply_target`) scales a recipe as the digits preset scales the RSB recipes
(resolution 224 → 24 px, the learning rate ×2, warm-up 1 epoch, ResNet-10-T at ×0.25 width, unless
``--init-from`` gives the source's model), with its own epoch scale and batch for these small sets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np

from trainer.digits import default_cache_dir, digits_root, write_once
from trainer.errors import ConfigError
from trainer.presets import DIGITS, DIGITS_MODEL, DIGITS_WARMUP, DIGITS_WIDTH, PAPER_UNIT_FIELDS, paper_to_preset

LFW_FACES, TEXTURES = "lfw_faces", "textures"
#: Every embedded data set, digits first (the default).
EMBEDDED = (DIGITS, LFW_FACES, TEXTURES)
#: Bump when the written files change, so that old caches are not reused.
TARGETS_VERSION = "v1"
LFW_N_VAL = 50  # of 200 images, stratified (25 faces, 25 non-faces), fixed
TEXTURE_IMAGES = ("brick", "grass", "gravel")
TEXTURE_PATCH = 32  # pixels; 16×16 patches without overlap in each 512×512 image
TEXTURE_VAL_ROWS = 4  # the bottom 4 of 16 patch rows validate
#: Epochs on a target: the paper-units epochs × this (ft's 1000 → 30; A2's 300 → 9).
TARGET_EPOCH_SCALE = 0.03
#: Global batch per target: ~5 optimizer steps an epoch on lfw_faces' 150 images, 9 on textures' 576.
TARGET_BATCH = {LFW_FACES: 32, TEXTURES: 64}
#: timm's RepeatAugSampler rounds an epoch down to a multiple of 256 images: 150 lfw images would
#: give none, so repeated augmentation is off there (the textures' 576 give 512 a epoch).
NO_REPEATS = (LFW_FACES,)


def check_dataset(dataset: str, data: Optional[str]) -> None:
    """Without ``data``, ``dataset`` must name an embedded set; a clear error otherwise."""
    if data is None and dataset not in EMBEDDED:
        raise ConfigError(f"dataset={dataset!r} is not an embedded data set: choose one of {', '.join(EMBEDDED)}, "
                          f"or give --data PATH to an ImageFolder with train/ and val/")


def paper_to_target(name: str, field: str, value: Any) -> Any:
    """``value`` of ``field`` in the paper's units, as embedded target ``name`` runs it (pure): epochs
    ×:data:`TARGET_EPOCH_SCALE` (at least 2); LR and resolutions as on digits
    (:func:`trainer.presets.paper_to_preset`); other fields unchanged. What a ``units: paper`` value maps to."""
    _check_target(name)
    if field == "epochs":
        return max(2, round(value * TARGET_EPOCH_SCALE))
    return paper_to_preset(DIGITS, field, value)


def apply_target(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe ``values`` (in paper units) scaled for embedded target ``name``; a new dict."""
    _check_target(name)
    out = dict(values)
    out.update({f: paper_to_target(name, f, values[f]) for f in PAPER_UNIT_FIELDS})
    out.update(dataset=name, data=None, model=DIGITS_MODEL, width_mult=DIGITS_WIDTH, batch_size=TARGET_BATCH[name],
               warmup_epochs=DIGITS_WARMUP, workers=0, cache_images=True)
    if name in NO_REPEATS:
        out["aug_repeats"] = 0
    return out


def _check_target(name: str) -> None:
    check_dataset(name, None)
    if name == DIGITS:
        raise ValueError("digits is the digits preset (trainer.presets), not a target")


def describe_target(values: Mapping[str, Any], recipe_values: Mapping[str, Any]) -> str:
    """One line saying what the target preset changed, printed when a run on an embedded target starts."""
    before = {"model": "resnet50", "width_mult": 1.0, **recipe_values}
    keys = ("model", "width_mult", "epochs", "lr", "train_res", "test_res", "batch_size", "warmup_epochs",
            "aug_repeats")
    changed = [f"{k} {before[k]}→{values[k]}" for k in keys if k in before and before[k] != values[k]]
    source = f"; backbone from {values['init_from']} (epoch {values['init_from_epoch']})" if values.get("init_from") else ""
    return (f"embedded '{values['dataset']}' data (scikit-image, PNG ImageFolder); recipe '{values['recipe']}' scaled "
            f"for a CPU run (epochs ×{TARGET_EPOCH_SCALE}, lr ×2, resolution ×24/224): " + ", ".join(changed) + source)


def embedded_root(name: str, cache_dir: Optional[Path] = None) -> Path:
    """The ImageFolder (``train/``, ``val/``) of embedded data set ``name``, written on first use.

    Safe when many trials call it at once: each writes a private temporary folder and renames it into
    place; the first rename wins.
    """
    if name == DIGITS:
        return digits_root(cache_dir)
    check_dataset(name, None)
    writer: Callable[[Path], None] = {LFW_FACES: write_lfw_faces, TEXTURES: write_textures}[name]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return write_once(cache, f"{name}-{TARGETS_VERSION}", writer)


def write_lfw_faces(root: Path) -> None:
    """``lfw_subset()`` as ``{train,val}/{face,nonface}/NNNN.png`` (uint8 grey), split 150/50, stratified."""
    from skimage.data import lfw_subset
    from sklearn.model_selection import train_test_split

    images = np.round(lfw_subset() * 255.0).astype(np.uint8)
    labels = np.array(["face"] * 100 + ["nonface"] * 100)
    index = np.arange(len(images))
    train_idx, val_idx = train_test_split(index, test_size=LFW_N_VAL, stratify=labels, random_state=0)
    for split, idx in (("train", train_idx), ("val", val_idx)):
        for i in sorted(idx):
            _save(images[i], root / split / str(labels[i]) / f"{i:04d}.png")


def write_textures(root: Path) -> None:
    """Patches of each texture as ``{train,val}/<texture>/rRRcCC.png``: top rows train, bottom rows validate."""
    import skimage.data

    p = TEXTURE_PATCH
    for name in TEXTURE_IMAGES:
        image = np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)
        rows, cols = image.shape[0] // p, image.shape[1] // p
        for r in range(rows):
            split = "val" if r >= rows - TEXTURE_VAL_ROWS else "train"
            for c in range(cols):
                _save(image[r * p:(r + 1) * p, c * p:(c + 1) * p], root / split / name / f"r{r:02d}c{c:02d}.png")


def _save(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode="L").save(path)
