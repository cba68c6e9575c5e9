"""The embedded ``digits`` preset: the RSB recipes scaled down to 8×8 digits on a CPU.

Only the embedded default data is scaled; on any ``--data`` folder the recipes apply
unchanged. The preset keeps what defines a procedure (optimizer, loss, augmentation
policy, mixup/cutmix, repeated augmentation, drop-path, schedule shape, the A1:A2:A3 epoch
ratios and the A3 train/test resolution ratio) and shrinks only the cost: resolution,
model width, epochs, batch size and warm-up.
"""

from __future__ import annotations

from typing import Any, Mapping

DIGITS = "digits"

#: ImageNet resolution 224 maps to this many pixels on digits (A3's 160 maps to 160 * s).
DIGITS_RES = 32
#: A2's 300 epochs map to this many; A1 and A3 keep the paper's 6:3:1 ratio.
DIGITS_EPOCH_SCALE = 0.05
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
        epochs=max(2, round(values["epochs"] * DIGITS_EPOCH_SCALE)),
        train_res=round(values["train_res"] * scale),
        test_res=round(values["test_res"] * scale),
        batch_size=DIGITS_BATCH,
        warmup_epochs=DIGITS_WARMUP,
        width_mult=DIGITS_WIDTH,
        workers=0,
    )
    return out


def describe_preset(values: Mapping[str, Any], recipe_values: Mapping[str, Any]) -> str:
    """One line saying what the preset changed, printed when a digits run starts."""
    changed = [
        f"{k} {recipe_values[k]}→{values[k]}"
        for k in ("epochs", "train_res", "test_res", "batch_size", "warmup_epochs")
        if k in recipe_values and recipe_values[k] != values[k]
    ]
    return (
        "embedded 'digits' data (scikit-learn 8×8 digits as PNG ImageFolder); recipe scaled for a CPU demo: "
        + ", ".join(changed)
        + f", model width ×{values['width_mult']}"
    )
