"""`units: paper` in a sweep file: on the digits preset, values map as the recipe's own do."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.sweepfile import SpecError, load_spec_file
from trainer import resolve_config
from trainer.presets import DIGITS, PAPER_UNIT_FIELDS, paper_to_preset
from trainer.recipes import get_recipe

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"


def test_the_preset_maps_each_recipe_value_with_the_paper_units_function():
    for recipe in ("a1", "a2", "a3"):
        paper, digits = get_recipe(recipe), resolve_config(recipe)
        for field in PAPER_UNIT_FIELDS:
            assert getattr(digits, field) == paper_to_preset(DIGITS, field, getattr(paper, field), recipe), (recipe, field)
    assert paper_to_preset(DIGITS, "weight_decay", 0.02) == 0.02  # every other field is literal


def test_a3_is_scaled_on_its_own_and_still_trains_below_its_test_resolution():
    a1, a2, a3 = (resolve_config(r) for r in ("a1", "a2", "a3"))
    assert (a1.epochs, a2.epochs, a3.epochs) == (54, 27, 27)  # 6:3:1 relaxed to 2:1:1 (issue #19)
    assert (a3.train_res, a3.test_res) == (22, 24) and a3.train_res < a3.test_res
    assert (a1.train_res, a2.train_res) == (24, 24)
    assert paper_to_preset(DIGITS, "epochs", 100, "a3") == 27 and paper_to_preset(DIGITS, "epochs", 100, "a2") == 9
    assert paper_to_preset(DIGITS, "test_res", 288, "a3") == paper_to_preset(DIGITS, "test_res", 288, "a1") == 31


def test_a3_sweep_maps_paper_values_with_a3s_scale(tmp_path):
    spec, _ = load_spec_file(_write(tmp_path, "units: paper\nrecipe: a3\noverrides: {epochs: 200}\ngrid:\n  train_res: [128, 160]\n"))
    assert spec.overrides["epochs"] == 54 and spec.grid["train_res"] == [18, 22]
    assert "epochs 200→54" in spec.source


def test_a_paper_value_shared_by_recipes_scaled_differently_is_refused_at_its_line(tmp_path):
    path = _write(tmp_path, "units: paper\ngrid:\n  recipe: [a1, a3]\n  epochs: [100, 200]\n")
    with pytest.raises(SpecError, match=r"s.yaml:4: grid.epochs: in paper units epochs 100 maps differently per "
                                        r"recipe on digits \(9 for a1, 27 for a3\); give each recipe its own"):
        load_spec_file(path)
    spec, _ = load_spec_file(_write(tmp_path, "units: paper\ngrid:\n  recipe: [a1, a3]\n  lr: [5e-3]\n"))
    assert spec.grid["lr"] == [1e-2]  # the LR scale is the same for every recipe: shared values are fine


def test_table6_lr_axis_reaches_the_digits_a2_lr():
    spec, _ = load_spec_file(SWEEPS / "table6_ablation_a2.yaml")
    lrs = sorted({t.config.lr for t in expand(spec)})
    assert lrs == [paper_to_preset(DIGITS, "lr", v) for v in (2e-3, 3e-3, 5e-3, 8e-3)]
    assert resolve_config("a2").lr in lrs  # the paper's A2 LR (5e-3) is on the axis, as in the paper
    assert "units: paper, mapped to digits: lr 0.002→0.004" in spec.source  # the start-up line


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_paper_units_map_overrides_and_grid_only_on_digits(tmp_path):
    path = _write(tmp_path, "units: paper\noverrides: {epochs: 100}\ngrid:\n  train_res: [160, 224]\n")
    spec, _ = load_spec_file(path)
    assert spec.overrides["epochs"] == 9 and spec.grid["train_res"] == [17, 24]
    (tmp_path / "img").mkdir()
    on_folder, _ = load_spec_file(path, data=str(tmp_path / "img"))  # ImageFolder: the paper's units are literal
    assert on_folder.overrides["epochs"] == 100 and on_folder.grid["train_res"] == [160, 224]


def test_values_are_literal_without_the_declaration(tmp_path):
    spec, _ = load_spec_file(_write(tmp_path, "grid:\n  lr: [2e-3, 5e-3]\n"))
    assert spec.grid["lr"] == [2e-3, 5e-3]


def test_unknown_units_name_the_line(tmp_path):
    with pytest.raises(SpecError, match=r"s.yaml:2: units: 'imagenet': expected one of literal, paper"):
        load_spec_file(_write(tmp_path, "name: x\nunits: imagenet\n"))


def test_every_paper_sweep_declares_paper_units():
    # a transfer file (`rsb-sweep transfer`) sets no paper value: the target preset scales the ft recipe
    for path in SWEEPS.glob("*.yaml"):
        if path.stem != "demo" and "\ntransfer:" not in path.read_text():
            assert "\nunits: paper" in path.read_text(), path.name


def test_the_start_up_line_says_which_scales_are_a3s_own():
    from dataclasses import asdict

    from trainer.presets import describe_preset

    a3 = describe_preset(resolve_config("a3").to_dict(), asdict(get_recipe("a3")))
    assert "epochs 100→27 (×0.27, A3 scaled on its own)" in a3 and "train_res 160→22 (×0.138, A3 scaled on its own)" in a3
    assert "test_res 224→24 (×24/224)" in a3
    a1 = describe_preset(resolve_config("a1").to_dict(), asdict(get_recipe("a1")))
    assert "epochs 600→54 (×0.09)" in a1 and "on its own" not in a1
