"""Sweep specs: seed designs, grids, YAML validation with file lines, the shipped sweeps/."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rsb_sweep.cli import main
from rsb_sweep.spec.expand import expand
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.model import EvalPlan, SeedAxis, SweepSpec
from rsb_sweep.spec.sweepfile import SpecError, load_spec_file

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"
SOURCES = ("seed_init", "seed_data", "seed_aug")


def test_seeds_vary_only_the_chosen_sources():
    trials = expand(SweepSpec(name="s", seeds=SeedAxis(n=5, start=10, vary=("data",))))
    assert [t.config.seed for t in trials] == list(range(10, 15))
    assert len({t.config.seed_data for t in trials}) == 5
    assert len({t.config.seed_init for t in trials}) == 1
    assert len({t.config.seed_aug for t in trials}) == 1


def test_all_sources_vary_by_default_and_match_the_trainer_derivation():
    from trainer import resolve_config

    trials = expand(SweepSpec(name="s", seeds=SeedAxis(n=3)))
    for t in trials:
        alone = resolve_config("a2", seed=t.config.seed)  # what the trainer derives from the seed by itself
        assert [getattr(t.config, f) for f in SOURCES] == [getattr(alone, f) for f in SOURCES]


def test_crossed_design_has_every_combination_and_pins_the_rest():
    trials = expand(SweepSpec(name="x", seeds=SeedAxis(start=0, cross=(("init", 3), ("data", 4)))))
    assert len(trials) == 12
    pairs = {(t.config.seed_init, t.config.seed_data) for t in trials}
    assert len(pairs) == 12
    assert len({t.config.seed_init for t in trials}) == 3 and len({t.config.seed_data for t in trials}) == 4
    assert len({t.config.seed_aug for t in trials}) == 1
    assert len({t.trial_id for t in trials}) == 12


def test_grid_is_a_product_and_seeds_are_paired_across_points():
    spec = SweepSpec(name="g", grid={"lr": [1e-3, 2e-3, 3e-3], "loss": ["bce", "ce"]}, seeds=SeedAxis(n=2))
    trials = expand(spec)
    assert len(trials) == 12
    assert {(t.config.lr, t.config.loss) for t in trials} == {(a, b) for a in (1e-3, 2e-3, 3e-3) for b in ("bce", "ce")}
    by_seed = {}
    for t in trials:
        by_seed.setdefault(t.config.seed, set()).add((t.config.seed_init, t.config.seed_data, t.config.seed_aug))
    assert all(len(v) == 1 for v in by_seed.values())  # seed k means the same three streams everywhere
    assert len({t.trial_id for t in trials}) == len(trials)


def test_the_manifest_keeps_the_whole_spec(tmp_path):
    """Every part of a spec survives the manifest (ab expands its next wave from it): grid, crossed
    seeds, the evaluation plan, typed overrides (eval_sets pairs are tuples again, not JSON lists)."""
    spec = SweepSpec(name="m", recipe="a3", data=str(tmp_path / "data"),
                     overrides={"epochs": 2, "lr": 2e-3, "eval_sets": (("v2", str(tmp_path / "v2")),)},
                     grid={"weight_decay": [0.01, 0.02], "recipe": ["a2", "a3"]},
                     seeds=SeedAxis(start=3, cross=(("init", 2), ("data", 3))), description="d", source="s",
                     evaluate=EvalPlan(crop_pct=(0.875, 1.0), test_res=(20,), eval_sets=(("real", "/r"),)))
    assert SweepSpec.from_dict(spec.to_dict()) == spec
    exp = Experiment.create(tmp_path / "exp", spec, Execution(), [])
    again = Experiment.open(exp.root).spec
    assert again == spec and again.seeds.cross == (("init", 2), ("data", 3)) and again.evaluate == spec.evaluate
    assert again.overrides["eval_sets"] == (("v2", str(tmp_path / "v2")),)


def test_recipe_as_grid_axis_uses_each_recipe():
    trials = expand(SweepSpec(name="r", grid={"recipe": ["a1", "a3"]}))
    assert [t.config.recipe for t in trials] == ["a1", "a3"]
    assert trials[0].config.epochs > trials[1].config.epochs  # A1 trains longer than A3, also on digits


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, line, key", [
    ("recipe: a2\nfoo: 1\n", 2, "foo"),
    ("recipe: a2\noverrides:\n  epochs: 3\n  lrr: 0.1\n", 4, "overrides.lrr"),
    ("grid:\n  lr: [1e-3, -2e-3]\n", 2, "grid.lr"),
    ("overrides:\n  epochs: many\n", 2, "overrides.epochs"),
    ("seeds:\n  n: 3\n  vary: [init, weather]\n", 3, "seeds.vary"),
    ("recipe: a9\n", 1, "recipe"),
    ("grid:\n  lr: 0.1\n", 2, "grid.lr"),
    ("execution:\n  workers_per_trial: 0\n", 2, "execution.workers_per_trial"),
    ("overrides:\n  epochs: 3\n  warmup_epochs: 3\n", 3, "overrides.warmup_epochs"),
])
def test_yaml_errors_name_the_line_and_key(tmp_path, text, line, key):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec_file(path)
    assert f"{path}:{line}: {key}" in str(err.value)


def test_yaml_duplicate_key_and_bad_yaml(tmp_path):
    with pytest.raises(SpecError, match=r":2: .*appears twice"):
        load_spec_file(_write(tmp_path, "recipe: a2\nrecipe: a3\n"))
    with pytest.raises(SpecError, match=r"not valid YAML"):
        load_spec_file(_write(tmp_path, "grid: [1, 2\n"))


def test_yaml_scientific_notation_and_aliases(tmp_path):
    spec, _ = load_spec_file(_write(tmp_path, "grid:\n  lr: [2e-3, 5e-3]\n  wd: [0.01]\n"))
    trials = expand(spec)
    assert [t.config.lr for t in trials] == [0.002, 0.005]
    assert {t.config.weight_decay for t in trials} == {0.01}


SHIPPED = [
    ("fig2_seeds_a2", 100), ("table6_ablation_a2", 4 * 3 * 2 * 2), ("table9_crop_ratio", 10 * 3), ("fig4_test_res", 10 * 3),
    ("recipes_a1_a2_a3", None), ("seed_sources_a2", None), ("demo", None), ("table1_recipes", 3 * 10),
    ("drop_path", 3 * 3 * 10), ("smoothing", 3 * 2 * 10), ("table3_architectures", 18 * 3),
]


def test_every_sweep_file_in_sweeps_is_loaded_by_the_test_below():
    # a transfer file is `rsb-sweep transfer`'s (tests/sweep/test_transfer.py loads the shipped one)
    grids = [p.stem for p in SWEEPS.glob("*.yaml") if "\ntransfer:" not in p.read_text()]
    assert sorted(grids) == sorted(name for name, _ in SHIPPED)


@pytest.mark.parametrize("name, n_trials", SHIPPED)
def test_shipped_sweeps_expand_on_digits_and_on_a_data_folder(tmp_path, name, n_trials):
    spec, _ = load_spec_file(SWEEPS / f"{name}.yaml")
    trials = expand(spec)
    if n_trials is not None:
        assert len(trials) == n_trials
    assert all(t.config.dataset == "digits" for t in trials)
    spec_data, _ = load_spec_file(SWEEPS / f"{name}.yaml", data=str(tmp_path))
    on_data = expand(spec_data)
    assert len(on_data) == len(trials) and all(t.config.data == str(tmp_path) for t in on_data)
    from trainer.recipes import get_recipe

    for t in on_data:  # on a real folder the paper's values apply unchanged
        assert t.config.epochs == get_recipe(t.config.recipe).epochs


def test_seed_sources_sweep_is_a_crossed_init_by_data_design():
    trials = expand(load_spec_file(SWEEPS / "seed_sources_a2.yaml")[0])
    inits = {t.config.seed_init for t in trials}
    datas = {t.config.seed_data for t in trials}
    assert len(trials) == len(inits) * len(datas) > 1
    assert len({t.config.seed_aug for t in trials}) == 1


def test_cli_dry_run_lists_trials_and_rejects_bad_input(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["grid", "--lr", "2e-3,5e-3", "--wd", "0.01,0.02", "--loss", "bce,ce", "--seeds", "2",
                              "--dry-run", "--epochs", "2"])
    assert ok.exit_code == 0, ok.output
    assert "16 trials" in ok.output
    bad = runner.invoke(main, ["seeds", "--n", "2", "--lrr", "1", "--dry-run"])
    assert bad.exit_code == 2 and "--lrr" in bad.output and "--lr" in bad.output
    bad = runner.invoke(main, ["seeds", "--n", "2", "--lr", "1,2", "--dry-run"])
    assert bad.exit_code == 2 and "grid" in bad.output
    bad = runner.invoke(main, ["seeds", "--n", "2", "--drop-path", "2", "--dry-run"])
    assert bad.exit_code == 2 and "drop_path" in bad.output
    bad = runner.invoke(main, ["run", str(SWEEPS / "table6_ablation_a2.yaml"), "--lr", "1e-3", "--dry-run"])
    assert bad.exit_code == 2 and "grid axis" in bad.output
    missing = runner.invoke(main, ["seeds", "--n", "1", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "e")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "e").exists()
