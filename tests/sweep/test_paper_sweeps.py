"""The paper's tables as sweep files: Table 1, Table 3 (with digits stand-ins), drop-path and
smoothing; the ``digits_models`` block mapped, printed and checked."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from rsb_sweep.cli import main
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SweepSpec
from rsb_sweep.spec.sweepfile import SpecError, load_spec_file

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"
PAPER_VALUES = Path(__file__).resolve().parents[3] / "shared" / "paper" / "rsb_paper_values.csv"
TABLE3 = SWEEPS / "table3_architectures.yaml"
#: The recipes' own resolutions (A1/A2 train, test; A3 train, test): Table 3 rows a grid can express.
OWN_RES = ("224", "224", "160", "224")


def _paper(table: str) -> dict[str, dict[str, str]]:
    if not PAPER_VALUES.exists():
        pytest.skip(f"{PAPER_VALUES} is not here (the shared paper values)")
    rows: dict[str, dict[str, str]] = {}
    with PAPER_VALUES.open() as f:
        for r in csv.DictReader(f):
            if r["table"] == table:
                rows.setdefault(r["row"], {})[r["column"]] = r["value"]
    return rows


def test_table3_has_every_row_a_grid_can_express_and_names_the_others():
    spec, _ = load_spec_file(TABLE3)
    rows = _paper("table3")
    res = {name: tuple(v[k] for k in ("a1a2_train_res", "a1a2_test_res", "a3_train_res", "a3_test_res"))
           for name, v in rows.items()}
    labels = [entry["paper"] for entry in spec.digits_models.values()]
    assert sorted(labels) == sorted(name for name, r in res.items() if r == OWN_RES)
    assert sorted(spec.digits_models) == sorted(spec.grid["model"])
    text = TABLE3.read_text()
    for name, r in res.items():  # a row left out is named in the comment with its resolutions
        if r != OWN_RES:
            assert name in text and f"{r[0]}/{r[1]}, {r[2]}/{r[3]}" in text, name


def test_table3_on_digits_runs_each_architecture_as_its_own_stand_in(tmp_path):
    spec, _ = load_spec_file(TABLE3)
    trials = expand(spec)
    stand_ins = {}
    for t in trials:
        entry = spec.digits_models[t.params["model"]]
        assert (t.config.model, t.config.width_mult) == (entry["model"], entry.get("width_mult", 1.0))
        assert t.config.model_args == entry.get("model_args", "")
        stand_ins[t.params["model"]] = (t.config.model, t.config.width_mult, t.config.model_args)
    # the results' model column tells every architecture apart, and ResNet-50 is the preset's model
    assert len({m for m, _, _ in stand_ins.values()}) == len(stand_ins) == 18
    from trainer import resolve_config

    preset = resolve_config("a2")
    assert stand_ins["resnet50"] == (preset.model, preset.width_mult, preset.model_args)
    on_data, _ = load_spec_file(TABLE3, data=str(tmp_path))
    assert {t.config.model for t in expand(on_data)} == set(spec.grid["model"])
    assert {t.config.width_mult for t in expand(on_data)} == {1.0}
    assert SweepSpec.from_dict(spec.to_dict()).digits_models == spec.digits_models  # kept by the manifest


def test_drop_path_and_smoothing_sweeps_are_the_paper_arms_within_each_recipe():
    dp, _ = load_spec_file(SWEEPS / "drop_path.yaml")
    assert dp.grid["drop_path"] == [float(r.split("=")[1]) for r in _paper("drop_path")]
    ls, _ = load_spec_file(SWEEPS / "smoothing.yaml")
    assert len(ls.grid["smoothing"]) == len(_paper("smoothing")) and ls.grid["smoothing"][0] == 0.0
    from analysis.stats.paired import seeds_to_resolve

    table1, _ = load_spec_file(SWEEPS / "table1_recipes.yaml")
    # comparisons within each recipe (paired by seed, Holm over all of them) can be decided
    for spec, comparisons in ((dp, 3 * 2), (ls, 3 * 1), (table1, 3)):
        assert spec.grid["recipe"] == ["a1", "a2", "a3"]
        assert spec.seeds.n >= seeds_to_resolve(comparisons, 0.05), spec.name


def test_dry_run_prints_every_stand_in_on_digits_and_none_on_a_data_folder(tmp_path):
    """The start-up line lists every mapping the file makes on digits."""
    runner = CliRunner()
    out = runner.invoke(main, ["run", str(TABLE3), "--dry-run", "--out", str(tmp_path / "e")])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("digits stand-ins"))
    spec, _ = load_spec_file(TABLE3)
    for name, entry in spec.digits_models.items():
        assert f"{entry['paper']} {name} → {entry['model']}" in line
    assert "vit_tiny_patch16_224 (" in line and "patch_size=4" in line and "resnet18 ×0.125" in line
    assert load_spec_file(TABLE3, data=str(tmp_path))[0].describe_stand_ins() == ""  # a data folder: as named


BASE = "grid:\n  model: [resnet50, vit_small_patch16_224]\n  recipe: [a2]\ndigits_models:\n  resnet50: {model: resnet10t}\n"


@pytest.mark.parametrize("entry, line, words", [
    ("  vit_small_patch16_224: {model: vit_nope}\n", 6, "unknown model 'vit_nope'"),
    ("  vit_small_patch16_224: {model: vit_tiny_patch16_224, img_size: 24, bogus_kw: 3}\n", 6,
     "timm could not build 'vit_tiny_patch16_224' with .*bogus_kw"),
    ("  vit_small_patch16_224: {model: vit_tiny_patch16_224, width_mult: 0.5}\n", 6, "only applies to timm ResNets"),
    ("  vit_small_patch16_224: {model: vit_tiny_patch16_224, num_classes: 3}\n", 6, "set by the trainer"),
    ("  vit_small_patch16_224: vit_tiny_patch16_224\n", 6, "expected a mapping with model"),
    ("  vit_smal_patch16_224: {model: vit_tiny_patch16_224}\n", 6, "no trial's model is 'vit_smal_patch16_224'"),
])
def test_a_bad_digits_models_entry_names_its_line_and_exits_2(tmp_path, entry, line, words):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + entry)
    with pytest.raises(SpecError, match=rf"{path}:{line}: digits_models\.\w+: .*{words}"):
        load_spec_file(path)
    out = CliRunner().invoke(main, ["run", str(path), "--dry-run", "--out", str(tmp_path / "e")])
    assert out.exit_code == 2 and f"bad.yaml:{line}" in out.output and not (tmp_path / "e").exists()


@pytest.mark.slow
def test_every_table3_stand_in_trains_a_real_step_on_digits(tmp_path):
    """Each stand-in, A3 (train resolution below the test one): one optimizer step and a full
    evaluation on digits, through the trainer. About 2 minutes (18 runs, 134 s on a busy 2-core machine)."""
    from trainer import resolve_config, train

    spec, _ = load_spec_file(TABLE3)
    for name, entry in spec.digits_models.items():
        fields = {k: v for k, v in entry.items() if k != "paper"}
        config = resolve_config("a3", epochs=1, warmup_epochs=0, max_steps=1, batch_size=16, **fields)
        result = train(config, out_dir=tmp_path / name, log=lambda _: None)
        assert result.completed and 0.0 <= result.metrics["top1"] <= 100.0, name
