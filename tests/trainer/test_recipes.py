"""The recipe table against DESIGN.md / the RSB paper's Table 2, value by value."""

import dataclasses

import pytest

from trainer import RECIPES, ConfigError, get_recipe, resolve_config

# DESIGN.md, "Recipes: one source of truth" (RSB paper Table 2 + timm's BCE threshold and interpolation).
PAPER = {
    "a1": dict(epochs=600, train_res=224, test_res=224, crop_pct=0.95, batch_size=2048, opt="lamb", lr=5e-3,
               weight_decay=0.01, warmup_epochs=5, sched="cosine", loss="bce", smoothing=0.1, mixup=0.2,
               cutmix=1.0, auto_augment="rand-m7-mstd0.5-inc1", aug_repeats=3, drop_path=0.05,
               bce_target_thresh=0.2, interpolation="bicubic", model_ema=False, drop=0.0, reprob=0.0,
               color_jitter=0.0),
    "a2": dict(epochs=300, train_res=224, test_res=224, crop_pct=0.95, batch_size=2048, opt="lamb", lr=5e-3,
               weight_decay=0.02, warmup_epochs=5, sched="cosine", loss="bce", smoothing=0.0, mixup=0.1,
               cutmix=1.0, auto_augment="rand-m7-mstd0.5-inc1", aug_repeats=3, drop_path=0.05,
               bce_target_thresh=0.2, interpolation="bicubic", model_ema=False, drop=0.0, reprob=0.0,
               color_jitter=0.0),
    "a3": dict(epochs=100, train_res=160, test_res=224, crop_pct=0.95, batch_size=2048, opt="lamb", lr=8e-3,
               weight_decay=0.02, warmup_epochs=5, sched="cosine", loss="bce", smoothing=0.0, mixup=0.1,
               cutmix=1.0, auto_augment="rand-m6-mstd0.5-inc1", aug_repeats=0, drop_path=0.0,
               bce_target_thresh=0.2, interpolation="bicubic", model_ema=False, drop=0.0, reprob=0.0,
               color_jitter=0.0),
}


@pytest.mark.parametrize("name", ["a1", "a2", "a3"])
def test_recipe_matches_paper_table(name):
    assert dataclasses.asdict(RECIPES[name]) == PAPER[name]


@pytest.mark.parametrize("name", ["a1", "a2", "a3"])
def test_recipe_applies_unchanged_on_a_data_folder(name, image_folder):
    config = resolve_config(name, data=str(image_folder))
    for key, value in PAPER[name].items():
        assert getattr(config, key) == value, key
    assert config.model == "resnet50" and config.width_mult == 1.0
    assert config.dataset == "imgs"


def test_every_field_is_overridable(image_folder):
    overrides = dict(lr=3e-3, weight_decay=0.05, crop_pct=0.875, loss="ce", aug_repeats=0, smoothing=0.1,
                     drop_path=0.1, mixup=0.0, cutmix=0.0, epochs=7, batch_size=256, train_res=176,
                     test_res=256, warmup_epochs=2, auto_augment=None, bce_target_thresh=None)
    config = resolve_config("a2", data=str(image_folder), **overrides)
    for key, value in overrides.items():
        assert getattr(config, key) == value, key
    assert RECIPES["a2"].lr == 5e-3  # the frozen table is untouched


def test_recipes_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RECIPES["a2"].lr = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        RECIPES["a4"] = RECIPES["a2"]  # type: ignore[index]


def test_unknown_recipe_names_the_choices():
    with pytest.raises(ConfigError, match="unknown recipe 'a4'.*a1, a2, a3"):
        get_recipe("a4")


def test_digits_preset_keeps_the_procedure_and_scales_the_cost():
    configs = {n: resolve_config(n) for n in ("a1", "a2", "a3")}
    # A1:A2 keep the paper's 2:1; A3 gets A2's epochs (6:3:1 relaxed first, issue #19) and trains
    # below its test resolution with a smaller gap than 160/224 (relaxed second; 17 px ended at 22 %).
    assert configs["a1"].epochs == 2 * configs["a2"].epochs == 2 * configs["a3"].epochs
    assert configs["a3"].lr / configs["a2"].lr == pytest.approx(8e-3 / 5e-3)
    assert configs["a3"].train_res < configs["a3"].test_res == configs["a2"].test_res
    assert configs["a2"].train_res == configs["a2"].test_res
    for name, config in configs.items():
        assert config.dataset == "digits" and config.data is None
        for key in ("opt", "loss", "smoothing", "mixup", "cutmix", "auto_augment", "aug_repeats", "drop_path",
                    "weight_decay", "crop_pct", "bce_target_thresh", "interpolation", "sched"):
            assert getattr(config, key) == PAPER[name][key], (name, key)
