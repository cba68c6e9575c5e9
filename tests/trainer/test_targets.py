"""The embedded transfer targets (scikit-image's lfw_subset and bundled textures) and their preset."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from trainer import RECIPES, ConfigError, resolve_config
from trainer.cli import build_parser, command_config
from trainer.datafolder import check_image_folder
from trainer.recipes import RSB_RECIPES
from trainer.targets import (LFW_FACES, TARGET_EPOCH_SCALE, TEXTURE_IMAGES, TEXTURE_PATCH, TEXTURES, embedded_root,
                             paper_to_target)


def _count(root, split):
    return {d.name: len(list(d.iterdir())) for d in sorted((root / split).iterdir())}


def test_lfw_faces_is_the_skimage_subset_split_150_50_stratified(tmp_path):
    from skimage.data import lfw_subset

    root = embedded_root(LFW_FACES, tmp_path)
    assert check_image_folder(root) == ["face", "nonface"]
    assert _count(root, "train") == {"face": 75, "nonface": 75} and _count(root, "val") == {"face": 25, "nonface": 25}
    faces = lfw_subset()
    for path in list((root / "val" / "nonface").iterdir())[:3]:
        i = int(path.stem)
        assert i >= 100  # non-faces are the second hundred
        stored = np.asarray(Image.open(path))
        assert stored.shape == (25, 25) and np.array_equal(stored, np.round(faces[i] * 255).astype(np.uint8))
    names = {p.name for p in (root / "train").rglob("*.png")} & {p.name for p in (root / "val").rglob("*.png")}
    assert not names  # no image in both splits
    stamp = (root / "val").stat().st_mtime_ns
    assert embedded_root(LFW_FACES, tmp_path) == root and (root / "val").stat().st_mtime_ns == stamp  # reused


def test_textures_are_patches_whose_validation_rows_no_training_patch_touches(tmp_path):
    import skimage.data

    root = embedded_root(TEXTURES, tmp_path)
    assert check_image_folder(root) == sorted(TEXTURE_IMAGES)
    assert _count(root, "train") == {n: 192 for n in TEXTURE_IMAGES}
    assert _count(root, "val") == {n: 64 for n in TEXTURE_IMAGES}
    p = TEXTURE_PATCH
    brick = skimage.data.brick()
    val_rows = {int(f.stem[1:3]) for f in (root / "val" / "brick").iterdir()}
    train_rows = {int(f.stem[1:3]) for f in (root / "train" / "brick").iterdir()}
    assert min(val_rows) > max(train_rows)
    patch = np.asarray(Image.open(root / "val" / "brick" / "r13c05.png"))
    assert np.array_equal(patch, brick[13 * p:14 * p, 5 * p:6 * p])


def test_the_target_preset_scales_ft_and_every_value_stays_overridable():
    lfw, tex = resolve_config("ft", dataset=LFW_FACES), resolve_config("ft", dataset=TEXTURES)
    ft = RECIPES["ft"]
    for config in (lfw, tex):
        assert config.data is None and config.model == "resnet10t" and config.train_res == config.test_res == 24
        assert config.epochs == round(ft.epochs * TARGET_EPOCH_SCALE) and config.lr == 2 * ft.lr
        for key in ("opt", "loss", "smoothing", "mixup", "cutmix", "auto_augment", "weight_decay", "crop_pct"):
            assert getattr(config, key) == getattr(ft, key), key
    assert (lfw.batch_size, lfw.aug_repeats, tex.batch_size, tex.aug_repeats) == (32, 0, 64, ft.aug_repeats)
    assert resolve_config("a2", dataset=TEXTURES).epochs == round(300 * TARGET_EPOCH_SCALE)
    assert [paper_to_target(LFW_FACES, f, v) for f, v in (("epochs", 100), ("lr", 0.01), ("train_res", 160))] == [
        3, 0.02, round(160 * 24 / 224)]  # as the preset maps the recipe's own values
    assert resolve_config("ft", dataset=LFW_FACES, epochs=5, lr=0.1, batch_size=8).epochs == 5
    assert resolve_config("ft").dataset == "digits"  # digits stays the default


def test_ft_is_a_recipe_beside_the_rsb_three():
    assert RSB_RECIPES == ("a1", "a2", "a3") and set(RECIPES) == {*RSB_RECIPES, "ft"}
    ft = dataclasses.asdict(RECIPES["ft"])
    assert (ft["opt"], ft["lr"], ft["batch_size"], ft["weight_decay"], ft["epochs"]) == ("sgd", 0.01, 768, 1e-4, 1000)
    assert ft["drop_path"] == 0 and ft["reprob"] == 0 and ft["smoothing"] == 0.1


def test_an_unknown_embedded_name_names_the_choices(image_folder):
    with pytest.raises(ConfigError, match="not an embedded data set.*digits, lfw_faces, textures.*--data"):
        resolve_config("ft", dataset="cifar")
    assert resolve_config("ft", data=str(image_folder), dataset="cifar").dataset == "cifar"  # a name for --data


def test_the_command_line_prints_the_target_preset():
    config, lines = command_config(build_parser().parse_args(["--recipe", "ft", "--dataset", "textures"]))
    assert config.dataset == TEXTURES and len(lines) == 1
    assert "embedded 'textures' data" in lines[0] and "epochs 1000→30" in lines[0] and "batch_size 768→64" in lines[0]
