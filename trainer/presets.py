"""The embedded ``digits`` preset: the RSB recipes scaled down to 8×8 digits on a CPU.

Only the embedded default data is scaled; on any ``--data`` folder the recipes apply
unchanged. The preset keeps what defines a procedure (optimizer, loss, augmentation
policy, mixup/cutmix, repeated augmentation, drop-path, schedule shape, A3 training below
its test resolution) and shrinks only the cost: resolution 224 → 24 px, depth and width
(ResNet-50 → timm's ResNet-10-T, one block per stage, at ×0.25 width), epochs (×0.09 for A1
and A2: 600/300 → 54/27), batch 2048 → 64, warm-up 5 → 1 epoch and, to make up for ~600
times fewer optimizer steps, the learning rate (×2, so A3 keeps its higher LR).

A3 is mapped on its own (issue #19): at the uniform scales it trained 9 epochs at 17 px for a
24 px test and ended at 22 % top-1, so it said nothing about A3. Relaxed in the order the issue
asks, accuracy kept: first the 6:3:1 epoch ratio (A3 100 → 27 epochs, A2's count: 2:1:1), then
the size of the resolution gap (160/224 → 22/24 px instead of 17/24; still below the test
resolution). Calibration (one thread, seeds 0–7, benchmarks/results/preset_calibration.jsonl):
see README "The embedded default".

Calibration (benchmarks/preset_calibration.py, table in benchmarks/README.md): the old preset
(ResNet-18 ×0.25, 32 px, 42 A2 epochs) reached 92.1 ± 1.7 % over 100 seeds; at 24 px and 24
epochs ResNet-18 ×0.25 falls to ~83 % while the shallower ResNet-10-T keeps ~90 % (too close
to the 90 % the demo promises), and 27 epochs give it the margin. Its step costs 2.8× less
than the old preset's (channels-last included).

Values in a sweep file that declares ``units: paper`` are in the paper's units; on this
preset :func:`paper_to_preset` maps them as the recipe's own values are mapped.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Optional

DIGITS = "digits"

#: ImageNet resolution 224 maps to this many pixels on digits (A3's 160 maps to 160 * s).
DIGITS_RES = 24
PAPER_RES = 224
#: A2 300 epochs map to 27, A1 600 to 54 (the paper's 2:1).
DIGITS_EPOCH_SCALE = 0.09
#: Recipe-specific scales where the uniform ones break a recipe (A3: see the module docstring).
#: A value in paper units for one of these recipes maps with its scale; every other recipe uses the
#: uniform one. A3: 100 epochs → 27; its train resolution 160 → 22 px (test 224 → 24 as for all).
RECIPE_SCALES: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "a3": MappingProxyType({"epochs": 0.27, "train_res": 22 / 160}),
})
DIGITS_LR_SCALE = 2.0
DIGITS_MODEL = "resnet10t"
DIGITS_BATCH = 64
DIGITS_WIDTH = 0.25
DIGITS_WARMUP = 1
#: The fields a value in paper units is mapped on; every other field is literal.
PAPER_UNIT_FIELDS = ("lr", "epochs", "train_res", "test_res")


def scale_of(field: str, recipe: Optional[str] = None) -> float:
    """The factor the digits preset applies to ``field`` (lr, epochs, train_res, test_res) for ``recipe``."""
    own = RECIPE_SCALES.get((recipe or "").lower(), {})
    uniform = {"lr": DIGITS_LR_SCALE, "epochs": DIGITS_EPOCH_SCALE,
               "train_res": DIGITS_RES / PAPER_RES, "test_res": DIGITS_RES / PAPER_RES}
    return own.get(field, uniform[field])


def paper_to_preset(name: str, field: str, value: Any, recipe: Optional[str] = None) -> Any:
    """``value`` of ``field`` in the paper's units, as preset ``name`` runs it for ``recipe`` (pure).

    LR ×2, epochs ×0.09 (at least 2), resolutions ×24/224 (at least 8 px), except where
    :data:`RECIPE_SCALES` gives ``recipe`` its own scale (A3: epochs ×0.27, train resolution
    ×22/160); other fields unchanged. The digits preset maps the recipes' own values with this
    same function, so a sweep's paper value maps exactly as the recipe's own.
    """
    if name != DIGITS:
        raise ValueError(f"unknown preset {name!r}")
    if field == "lr":
        return value * scale_of(field, recipe)
    if field == "epochs":
        return max(2, round(value * scale_of(field, recipe)))
    if field in ("train_res", "test_res"):
        return max(8, round(value * scale_of(field, recipe)))
    return value


def is_recipe_specific(field: str, recipes: Any) -> bool:
    """Whether ``field`` in paper units maps differently for some of ``recipes`` (a sweep file then
    cannot share one paper value between them)."""
    return field in PAPER_UNIT_FIELDS and len({scale_of(field, str(r)) for r in recipes}) > 1


def apply_preset(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Recipe values scaled for preset ``name``; returns a new dict."""
    if name != DIGITS:
        raise ValueError(f"unknown preset {name!r}")
    out = dict(values)
    out.update({f: paper_to_preset(name, f, values[f], values.get("recipe")) for f in PAPER_UNIT_FIELDS})
    out.update(
        dataset=DIGITS,
        data=None,
        model=DIGITS_MODEL,
        batch_size=DIGITS_BATCH,
        warmup_epochs=DIGITS_WARMUP,
        width_mult=DIGITS_WIDTH,
        workers=0,
        cache_images=True,
    )
    return out


def _why(field: str, recipe: Optional[str]) -> str:
    """How the start-up line explains a change the preset made to ``field``."""
    if field == "model":
        return " (ResNet-10-T: one block per stage)"
    scale = scale_of(field, recipe)
    text = f"×{DIGITS_RES}/{PAPER_RES}" if scale == DIGITS_RES / PAPER_RES else f"×{scale:.3g}"
    own = field in RECIPE_SCALES.get((recipe or "").lower(), {})
    return f" ({text}{', ' + str(recipe).upper() + ' scaled on its own' if own else ''})"


def describe_preset(values: Mapping[str, Any], recipe_values: Mapping[str, Any]) -> str:
    """One line saying what the preset changed, printed when a digits run starts."""
    recipe = values.get("recipe")
    before = {"model": "resnet50", "recipe": recipe, **recipe_values}
    preset = apply_preset(DIGITS, before)
    changed = [
        f"{k} {before[k]}→{values[k]}" + (_why(k, recipe) if values[k] == preset[k] and k in (
            "model", *PAPER_UNIT_FIELDS) else "")
        for k in ("model", "epochs", "lr", "train_res", "test_res", "batch_size", "warmup_epochs")
        if k in before and before[k] != values[k]
    ]
    return (
        "embedded 'digits' data (scikit-learn 8×8 digits as PNG ImageFolder); recipe scaled for a CPU demo: "
        + ", ".join(changed)
        + f", model width ×{values['width_mult']}"
    )


def describe_paper_units(mapped: Mapping[str, list[tuple[Any, Any]]]) -> str:
    """The start-up line of a ``units: paper`` sweep: each mapped value, paper → digits."""
    if not mapped:
        return "units: paper (no value needs mapping on digits)"
    parts = [f"{field} " + ", ".join(f"{a}→{b}" for a, b in pairs) for field, pairs in mapped.items()]
    return "units: paper, mapped to digits: " + "; ".join(parts)
