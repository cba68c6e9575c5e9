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
            assert getattr(digits, field) == paper_to_preset(DIGITS, field, getattr(paper, field)), (recipe, field)
    assert paper_to_preset(DIGITS, "weight_decay", 0.02) == 0.02  # every other field is literal


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
    for path in SWEEPS.glob("*.yaml"):
        if path.stem != "demo":
            assert "\nunits: paper" in path.read_text(), path.name
