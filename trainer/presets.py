"""The embedded ``digits`` preset: the RSB recipes scaled down to 8×8 digits on a CPU.

Only the embedded default data is scaled; on any ``--data`` folder the recipes apply
unchanged. The preset keeps what defines a procedure (optimizer, loss, augmentation
policy, mixup/cutmix, repeated augmentation, drop-path, schedule shape, the A1:A2:A3 epoch
ratios and the A3 train/test resolution ratio) and shrinks only the cost: resolution,
model depth and width, epochs, batch size, warm-up and, to make up for ~600 times fewer
optimizer steps, the learning rate (x2, so A3 keeps its higher LR relative to A1/A2).

Calibration on this 2-core machine (one thread per run, A2, seeds 0-1): ResNet-18 at width
x0.25, 32 px, LR 1e-2, 40 epochs reaches 93 % top-1; 30 epochs at LR 2e-2 reach 86 %, 16 px
inputs stall near 63 % (the random-resized crops of an upscaled 8x8 digit are too small), and
ResNet-50 at width x0.25 costs twice as much per epoch and learns slower.
"""

from __future__ import annotations

from typing import Any, Mapping

DIGITS = "digits"

#: ImageNet resolution 224 maps to this many pixels on digits (A3's 160 maps to 160 * s).
DIGITS_RES = 32
#: A2 300 epochs map to 42; A1 and A3 keep the paper 6:3:1 ratio exactly (84, 42, 14).
DIGITS_EPOCH_SCALE = 0.14
DIGITS_LR_SCALE = 2.0
DIGITS_MODEL = "resnet18"
DIGITS_BATCH = 64
DIGITS_WIDTH = 0.25
DIGITS_WARMUP = 1


def apply_preset(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Recipe values scaled for preset ``name``; returns a new dict."""
    if name != DIGITS:
        raise ValueError(f"unknown preset {name!r}")
    scale = DIGITS_RES / 224
    out = dict(values)
    out.update(
        dataset=DIGITS,
        data=None,
        model=DIGITS_MODEL,
        epochs=max(2, round(values["epochs"] * DIGITS_EPOCH_SCALE)),
        lr=values["lr"] * DIGITS_LR_SCALE,
        train_res=round(values["train_res"] * scale),
        test_res=round(values["test_res"] * scale),
        batch_size=DIGITS_BATCH,
        warmup_epochs=DIGITS_WARMUP,
        width_mult=DIGITS_WIDTH,
        workers=0,
        cache_images=True,
    )
    return out


def describe_preset(values: Mapping[str, Any], recipe_values: Mapping[str, Any]) -> str:
    """One line saying what the preset changed, printed when a digits run starts."""
    before = {"model": "resnet50", **recipe_values}
    changed = [
        f"{k} {before[k]}→{values[k]}"
        for k in ("model", "epochs", "lr", "train_res", "test_res", "batch_size", "warmup_epochs")
        if k in before and before[k] != values[k]
    ]
    return (
        "embedded 'digits' data (scikit-learn 8×8 digits as PNG ImageFolder); recipe scaled for a CPU demo: "
        + ", ".join(changed)
        + f", model width ×{values['width_mult']}"
    )
