"""``rsb-sweep transfer`` end to end on Ray (slow, about 90 s on 2 cores): a tiny source experiment (A1 and A3,
one seed, 2 epochs) of which only A1 has finished, fine-tuned on the embedded lfw_faces with 2 seeds × 1 epoch:
A1's fine-tunings run, A3's stay PENDING (exit 3); once the source's own resume has finished A3, the transfer's
resume runs them (exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.expand import expand
from rsb_sweep.spec.model import SeedAxis, SweepSpec
from rsb_sweep.worker.pack import Member, PackJob, run_pack
from tests.sweep.doubles import RecordingReporter
from tests.sweep.helpers import cli, manifest, results, trial_dir

FT = ["--epochs", "1", "--warmup-epochs", "0", "--max-steps", "2"]


@pytest.mark.slow
def test_transfer_runs_what_has_finished_and_resume_runs_the_rest(tmp_path):
    spec = SweepSpec(name="src", recipe="a1", overrides={"epochs": 2, "max_steps": 2}, grid={"recipe": ["a1", "a3"]},
                     seeds=SeedAxis(n=1))
    src = Experiment.create(tmp_path / "src", spec, Execution(), expand(spec))
    a1, a3 = src.trial_ids
    run_pack(PackJob(pack=0, members=(Member(a1, src.trials[0]["config"]),), store_root=src.store.root),
             RecordingReporter())  # A1 has finished; A3 has not started

    first = cli("transfer", str(src.root), "--target", "lfw_faces", "--seeds", "2", *FT, "--num-cpus", "2",
                "--no-live", check=False)
    out = tmp_path / "src-transfer"
    assert first.returncode == 3, first.stdout + first.stderr
    assert "2 fine-tunings wait for 1 source trials not finished (0001-a3-seed0)" in first.stdout
    table = results(out).set_index("trial_id")
    assert len(table) == 4 and list(table.columns[4:9]) == ["dataset", "pretrain_trial", "pretrain_recipe",
                                                              "pretrain_seed", "pretrain_dataset"]
    done = table[table["status"] == "TERMINATED"]
    assert sorted(done["pretrain_trial"]) == [a1, a1] and set(table.loc[table["status"] == "PENDING", "pretrain_trial"]) == {a3}
    assert set(table["dataset"]) == {"lfw_faces"} and set(table["recipe"]) == {"ft"} and set(table["pretrain_dataset"]) == {"digits"}
    assert done["top1"].notna().all() and set(done["n_val"]) == {50} and sorted(done["seed"]) == [0, 1]
    first_id = done.index[0]
    recorded = json.loads((trial_dir(out, first_id) / "config.json").read_text())
    assert Path(recorded["init_from"]).parent.parent == src.store.local_dir(a1) and recorded["init_from_epoch"] == 2
    status = cli("status", str(out))
    assert "done 2" in status.stdout and "pending 2" in status.stdout

    run_pack(PackJob(pack=0, members=(Member(a3, src.trials[1]["config"]),), store_root=src.store.root),
             RecordingReporter())  # the source finishes A3 (as its own `rsb-sweep resume` would, without a Ray start)
    again = cli("resume", str(out), "--num-cpus", "2", "--no-live")
    assert "2 now start from trials that finished since" in again.stdout
    table = results(out).set_index("trial_id")
    assert set(table["status"]) == {"TERMINATED"} and sorted(table["pretrain_recipe"]) == ["a1", "a1", "a3", "a3"]
    assert table.loc[first_id, "top1"] == done.loc[first_id, "top1"]  # a finished fine-tuning is not run again
    planned = manifest(out)["trials"]  # every fine-tuning names the checkpoint it started from, in the manifest too
    assert len(planned) == 4 and all(t["config"]["init_from_epoch"] == 2 and t["config"]["init_from_hash"] for t in planned)


@pytest.mark.slow
def test_a_source_model_the_target_cannot_take_exits_2_and_writes_nothing(tmp_path):
    """A ViT trained at 224 px (a few seconds: one step on a 9-image folder) cannot be fine-tuned at the
    embedded targets' 24 px: the trainer's ConfigError, exit 2, no experiment folder."""
    from click.testing import CliRunner

    from rsb_sweep.cli import main
    from tests.conftest import write_image_folder

    data = write_image_folder(tmp_path / "imgs", per_class=(3, 1))
    vit = {"model": "vit_tiny_patch16_224", "train_res": 224, "test_res": 224, "batch_size": 8, "epochs": 1,
           "warmup_epochs": 0, "max_steps": 1, "workers": 0, "drop_path": 0.0}
    spec = SweepSpec(name="vit", recipe="a3", data=str(data), overrides=vit, seeds=SeedAxis(n=1))
    src = Experiment.create(tmp_path / "vit", spec, Execution(), expand(spec))
    run_pack(PackJob(pack=0, members=(Member(src.trial_ids[0], src.trials[0]["config"]),), store_root=src.store.root),
             RecordingReporter())
    out = CliRunner().invoke(main, ["transfer", str(src.root), "--target", "lfw_faces", "--seeds", "1"])
    assert out.exit_code == 2 and "cannot take 24×24 images" in out.output, out.output
    assert not (tmp_path / "vit-transfer").exists()
