"""``rsb-sweep transfer`` (rsb_sweep.spec.transfer, rsb_sweep.driver.transfer, rsb_sweep.cli.transfer): the
plan, the results contract's pretraining columns, the sweep file, the manifest growing, and bad input (exit 2,
nothing written). Fast: nothing trains here (tests/sweep/test_transfer_command.py runs one end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.contract import PRETRAIN_COLUMNS, TEXT_COLUMNS
from rsb_sweep.cli import main
from rsb_sweep.driver.transfer import default_root, plan_transfer, read_sources, update_transfer
from rsb_sweep.errors import SweepError
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.results import build_results
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SeedAxis, SweepSpec
from rsb_sweep.spec.transfer import EMBEDDED_TARGETS, Target, TransferSettings, parse_target
from rsb_sweep.spec.transferfile import load_transfer_file
from tests.conftest import write_image_folder

TINY = {"epochs": 2, "max_steps": 1}


def _source(tmp_path: Path, recipes=("a1", "a3"), seeds=1, name="src") -> Experiment:
    """A source experiment (its manifest: no trial has run)."""
    spec = SweepSpec(name=name, recipe=recipes[0], overrides=TINY, grid={"recipe": list(recipes)},
                     seeds=SeedAxis(n=seeds))
    return Experiment.create(tmp_path / name, spec, Execution(), expand(spec))


@pytest.fixture
def source(tmp_path) -> Experiment:
    """A1 and A3, not run (a finished source is trained in test_transfer_command.py, which is slow)."""
    return _source(tmp_path)


def test_targets_are_parsed_and_checked():
    assert parse_target("lfw_faces") == Target(name="lfw_faces")
    assert parse_target("cars=/data/cars") == Target(name="cars", path="/data/cars")
    for bad, message in (("nosuch", "no embedded target of that name"), ("cars=", "expected NAME=PATH"),
                         ("=/x", "expected NAME=PATH"), ("a b=/x", "expected NAME=PATH")):
        with pytest.raises(SweepError, match=message):
            parse_target(bad)
    assert [t.name for t in TransferSettings(source="/x").targets] == list(EMBEDDED_TARGETS)
    for kwargs, message in (({"seeds": 0}, "--seeds must be >= 1"),
                            ({"targets": (Target(name="t"), Target(name="t"))}, "once each"),
                            ({"overrides": {"model": "resnet18"}}, "--model: a fine-tuning takes its model")):
        with pytest.raises(SweepError, match=message):
            TransferSettings(source="/x", **kwargs)


def test_the_plan_fine_tunes_every_source_trial_on_every_target_with_paired_seeds(source, tmp_path):
    folder = write_image_folder(tmp_path / "cars")
    settings = TransferSettings(source=str(source.root), seeds=2, overrides={**TINY, "warmup_epochs": 1},
                                targets=(Target(name="lfw_faces"), Target(name="cars", path=str(folder))))
    plan = plan_transfer(settings, "t")
    assert len(plan.trials) == 2 * 2 * 2 and plan.waiting == source.trial_ids  # nothing has run in the source
    assert len({t.trial_id for t in plan.trials}) == len(plan.trials)
    by_source = {s["trial_id"]: s["config"] for s in source.trials}
    for t in plan.trials:
        c, p = t.config, t.params
        src = by_source[p["pretrain_trial"]]
        assert c.recipe == "ft" and c.dataset == p["dataset"] and c.model == src["model"]
        assert c.width_mult == src["width_mult"] and c.epochs == 2 and c.seed == p["seed"] in (0, 1)
        assert (p["pretrain_recipe"], p["pretrain_seed"], p["pretrain_dataset"]) == (
            src["recipe"], src["seed"], src["dataset"])
        assert (c.data is None) == (p["dataset"] == "lfw_faces") and (c.data is None or c.data == str(folder))
        # its source's run folder, not resolved to a checkpoint yet: it waits for its source
        assert c.init_from == str(source.store.local_dir(p["pretrain_trial"])) and c.init_from_epoch is None
    # fine-tuning seed k is the same seed (all three streams) whatever the source and target: a paired design
    streams = {(t.params["seed"], (t.config.seed_init, t.config.seed_data, t.config.seed_aug)) for t in plan.trials}
    assert len(streams) == 2
    assert default_root(source.root, None) == source.root.parent / "src-transfer"


def test_results_carry_the_pretraining_columns_and_an_ordinary_sweep_does_not(source, tmp_path):
    plan = plan_transfer(TransferSettings(source=str(source.root), seeds=1, overrides=TINY), "t")
    exp = plan.create(tmp_path / "t", Execution())
    table = build_results(exp)
    assert list(table.columns[5:10]) == ["dataset", *PRETRAIN_COLUMNS]
    assert set(table["status"]) == {"PENDING"} and len(table) == 4
    assert sorted(table["dataset"].unique()) == sorted(EMBEDDED_TARGETS)
    assert sorted(table["pretrain_recipe"]) == ["a1", "a1", "a3", "a3"] and set(table["pretrain_dataset"]) == {"digits"}
    assert str(table["pretrain_seed"].dtype) == "Int64" and list(table["pretrain_seed"]) == [0, 0, 0, 0]
    assert all(str(table[c].dtype) == "string" for c in PRETRAIN_COLUMNS if c in TEXT_COLUMNS)
    assert not set(PRETRAIN_COLUMNS) & set(build_results(source).columns)


def test_resume_plans_the_source_trials_new_since(tmp_path):
    src = _source(tmp_path, recipes=("a3", "a2"))
    exp = plan_transfer(TransferSettings(source=str(src.root), seeds=1, overrides=TINY,
                                         targets=(Target(name="lfw_faces"),)), "t").create(tmp_path / "t", Execution())
    assert update_transfer(exp)[1:] == (0, 0) and not any(t["config"]["init_from_epoch"] for t in exp.trials)
    more = expand(SweepSpec(name="src", recipe="a3", overrides=TINY, seeds=SeedAxis(n=2)))[1]  # as an `ab` wave adds
    src.grow([type(more)(trial_id="0002-a3-seed1", index=2, params=more.params, config=more.config)])
    sources, added, resolved = update_transfer(Experiment.open(exp.root))
    reopened = Experiment.open(exp.root)
    assert (added, resolved, len(sources), len(reopened.trials)) == (1, 0, 3, 3)
    assert reopened.trials[-1]["params"]["pretrain_trial"] == "0002-a3-seed1" and reopened.trials[-1]["index"] == 2
    assert update_transfer(reopened)[1:] == (0, 0)


def test_a_transfer_sweep_file_and_its_errors(tmp_path):
    src = _source(tmp_path)
    folder = write_image_folder(tmp_path / "cars")
    path = tmp_path / "sweeps" / "t5.yaml"
    path.parent.mkdir()
    path.write_text("recipe: ft\ntransfer:\n  source: ../src\n  targets: {lfw_faces: null, cars: ../cars}\n"
                    "  seeds: 2\noverrides: {epochs: 2, max_steps: 1, warmup_epochs: 1}\n"
                    "execution: {max_concurrent: 1}\n")
    settings, execution, name = load_transfer_file(path)
    assert settings.source == str(src.root) and settings.seeds == 2 and name == "t5"
    assert settings.targets == (Target(name="lfw_faces"), Target(name="cars", path=str(folder)))
    assert settings.overrides == {**TINY, "warmup_epochs": 1} and execution.max_concurrent == 1
    dry = CliRunner().invoke(main, ["transfer", str(path), "--seeds", "1", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "4 fine-tunings = 2 source trials × 2 targets × 1 seeds" in dry.output
    assert "0003-cars-from0001-a3-seed0-ft0" in dry.output and not (tmp_path / "t5").exists()
    shipped, _, shipped_name = load_transfer_file(Path(__file__).parents[2] / "sweeps" / "table5_transfer.yaml")
    assert Path(shipped.source).parts[-2:] == ("experiments", "recipes_a1_a2_a3") and shipped_name == "table5_transfer"
    assert [t.name for t in shipped.targets] == list(EMBEDDED_TARGETS) and shipped.seeds == 3 and shipped.recipe == "ft"
    for text, message in (("transfer: {source: ../src}\ngrid: {lr: [1]}\n", "grid: unknown key"),
                          ("transfer: {source: ../src, seedz: 2}\n", "transfer.seedz: unknown key"),
                          ("recipe: a2\nseeds: 3\n", "no transfer: section"),
                          ("transfer: {source: ../src}\noverrides: {lrr: 1}\n", "overrides.lrr: unknown trainer field")):
        path.write_text(text)
        with pytest.raises(SweepError, match=message):
            load_transfer_file(path)


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    src = _source(tmp_path)
    not_exp = tmp_path / "plain"
    not_exp.mkdir()
    no_val = tmp_path / "noval"
    (no_val / "train" / "a").mkdir(parents=True)
    cases = (([str(not_exp)], "is not an experiment folder"),
             ([str(src.root), "--target", f"cars={no_val}"], "val"),
             ([str(src.root), "--target", "imagenet"], "no embedded target of that name"),
             ([str(src.root), "--model", "resnet18"], "takes its model"),
             ([str(src.root), "--epochs", "1"], "warmup_epochs=1 is out of range"))  # the trainer's ConfigError
    for args, message in cases:
        out = CliRunner().invoke(main, ["transfer", *args, "--out", str(tmp_path / "t")])
        assert out.exit_code == 2 and message in out.output, out.output
        assert not (tmp_path / "t").exists() and not (tmp_path / "plain-transfer").exists()
    with pytest.raises(SweepError, match="not an experiment folder"):
        read_sources(str(not_exp))


def test_nothing_finished_in_the_source_every_row_pending_exit_3_and_resume_says_the_same(source, tmp_path):
    out = tmp_path / "t"
    first = CliRunner().invoke(main, ["transfer", str(source.root), "--target", "lfw_faces", "--seeds", "2",
                                      "--out", str(out), "--no-live"])
    assert first.exit_code == 3, first.output
    assert "4 fine-tunings wait for 2 source trials not finished (0000-a1-seed0, 0001-a3-seed0)" in first.output
    table = build_results(Experiment.open(out))
    assert set(table["status"]) == {"PENDING"} and len(table) == 4 and (out / "results.parquet").is_file()
    assert Experiment.open(out).manifest["transfer"]["source"] == str(source.root)
    status = CliRunner().invoke(main, ["status", str(out)])
    assert status.exit_code == 0 and "pending 4" in status.output, status.output
    assert "4 fine-tunings wait for their source trial" in status.output
    again = CliRunner().invoke(main, ["resume", str(out), "--no-live"])
    assert again.exit_code == 3 and "4 fine-tunings wait" in again.output, again.output
    assert len(Experiment.open(out).trials) == 4


def test_run_on_a_transfer_file_names_the_transfer_command():
    from rsb_sweep.spec.sweepfile import SpecError, load_spec_file

    with pytest.raises(SpecError, match=r"table5_transfer.yaml:\d+: transfer: this is a transfer sweep file: "
                                        r"run it with `rsb-sweep transfer FILE`"):
        load_spec_file(Path(__file__).resolve().parents[2] / "sweeps" / "table5_transfer.yaml")
