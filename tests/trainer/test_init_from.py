"""Fine-tuning from a trained run (``--init-from``): the source resolved and checked, its backbone loaded
bit for bit under a new seeded classifier, the source read at epoch 0 only, bad sources refused."""

import json
import shutil

import pandas as pd
import pytest
import torch

from tests.trainer.helpers import assert_same_weights, final_weights, run, tiny_config
from trainer import ConfigError, resolve_config
from trainer.checkpoint import load_checkpoint
from trainer.cli import main
from trainer.init_from import classifier_keys, config_hash, find_source, load_source, resolve_source
from trainer.run import init_model

#: A fine-tuning run on lfw_faces, a few optimizer steps an epoch.
FT = dict(dataset="lfw_faces", epochs=2, warmup_epochs=1, max_steps=2, batch_size=16)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A finished 2-epoch digits run: epoch_0001 kept whole, the final epoch_0002 weights-only."""
    out = tmp_path_factory.mktemp("src") / "run"
    run(tiny_config(seed=3, epochs=2, max_steps=2), out)
    return out


def ft_config(path, **overrides):
    return resolve_source(resolve_config("ft", init_from=str(path), **{**FT, **overrides}))


def test_a_run_folder_gives_its_final_checkpoint_and_an_epoch_folder_that_epoch(source):
    final = find_source(source)
    assert final.epoch == 2 and final.checkpoint == source / "checkpoints" / "epoch_0002"
    assert final.config_hash == config_hash(json.loads((source / "config.json").read_text()))
    stored = json.loads((source / "config.json").read_text())
    assert config_hash({k: v for k, v in stored.items() if k != "init_from_hash"}) == final.config_hash
    assert config_hash({**stored, "workers": 7}) == final.config_hash != config_hash({**stored, "lr": 1.0})
    first = find_source(source / "checkpoints" / "epoch_0001")
    assert first.epoch == 1 and first.run == source and first.config_hash == final.config_hash

    config = ft_config(source)
    assert (config.init_from, config.init_from_epoch, config.init_from_hash) == (str(final.checkpoint), 2,
                                                                                 final.config_hash)
    assert (config.model, config.width_mult) == (final.config["model"], final.config["width_mult"])
    assert resolve_source(config) == config  # idempotent


def test_backbone_is_the_stored_one_and_the_head_is_new_and_seeded(source):
    for folder, weights_only in ((source, True), (source / "checkpoints" / "epoch_0001", False)):
        config = ft_config(folder, seed_init=11)
        weights = load_source(config)
        assert weights.weights_only is weights_only  # both kinds of checkpoint load
        model = init_model(config, 2, weights)
        head = classifier_keys(model)
        assert head == ["fc.weight", "fc.bias"]
        state = model.state_dict()
        for key, value in weights.model.items():
            if key not in head:
                assert torch.equal(state[key], value), key  # BN running statistics included
        assert state["fc.weight"].shape[0] == 2 != weights.model["fc.weight"].shape[0]
    again = init_model(config, 2, weights).state_dict()["fc.weight"]
    other = init_model(ft_config(source, seed_init=12), 2, weights).state_dict()["fc.weight"]
    assert torch.equal(again, state["fc.weight"]) and not torch.equal(other, again)


@pytest.mark.slow  # ~10 s (2 cores, idle; 25 s under load)
def test_fine_tuning_resumes_bit_exactly_without_its_source(source, tmp_path):
    local = tmp_path / "source"
    shutil.copytree(source, local)
    config = ft_config(local)
    full = run(config, tmp_path / "full")
    part = tmp_path / "part"
    run(config, part, stop_after=1)
    recorded = json.loads((part / "config.json").read_text())
    assert (recorded["init_from"], recorded["init_from_epoch"], recorded["init_from_hash"]) == (
        config.init_from, 2, config.init_from_hash)
    shutil.rmtree(local)  # a resume reads its own checkpoints only
    resumed = run(config, part, resume_from=part)
    assert resumed.metrics["top1"] == full.metrics["top1"] and resumed.completed
    assert_same_weights(final_weights(part), final_weights(tmp_path / "full"))
    assert load_checkpoint(part / "checkpoints" / "epoch_0002")["config"]["init_from_hash"] == config.init_from_hash


def test_cli_fine_tunes_on_an_embedded_target_and_prints_the_preset(source, tmp_path, capsys):
    out = tmp_path / "ft"
    args = ["--init-from", str(source), "--recipe", "ft", "--dataset", "lfw_faces", "--epochs", "1",
            "--warmup-epochs", "0", "--max-steps", "1", "--batch-size", "16", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "embedded 'lfw_faces' data" in printed and "fine-tuning from" in printed
    assert json.loads((out / "config.json").read_text())["init_from_epoch"] == 2
    assert json.loads((out / "metrics.json").read_text())["n_val"] == 50
    predictions = pd.read_parquet(out / "predictions.parquet")  # per-image predictions, as for any run
    assert len(predictions) == 50 and set(predictions["target"]) == {0, 1}


def test_an_unfinished_run_is_refused_with_the_epoch_it_reached(source, tmp_path, capsys):
    part = tmp_path / "part"  # the source as it stood after its first epoch
    shutil.copytree(source, part)
    shutil.rmtree(part / "checkpoints" / "epoch_0002")
    (part / "metrics.json").unlink()
    with pytest.raises(ConfigError, match="unfinished: it reached epoch 1 of 2.*epoch_0001"):
        find_source(part)
    out = tmp_path / "ft"
    assert main(["--init-from", str(part), "--recipe", "ft", "--dataset", "lfw_faces", "--out", str(out)]) == 2
    assert "reached epoch 1 of 2" in capsys.readouterr().err and not out.exists()
    assert find_source(part / "checkpoints" / "epoch_0001").epoch == 1  # named explicitly, it is taken


def test_bad_sources_name_the_fix(source, tmp_path, capsys):
    with pytest.raises(ConfigError, match="not a run folder.*config.json"):
        find_source(tmp_path)
    with pytest.raises(ConfigError, match="no such folder"):
        find_source(tmp_path / "missing")
    with pytest.raises(ConfigError, match="keeps its source's model"):
        resolve_source(resolve_config("ft", init_from=str(source), model="resnet18", **FT), {"model": "resnet18"})
    with pytest.raises(ConfigError, match="recorded"):
        resolve_source(resolve_config("ft", init_from=str(source), init_from_hash="0" * 16, **FT))
    with pytest.raises(ConfigError, match="init_from_hash.*--init-from"):
        resolve_config("ft", init_from_hash="0" * 16, **FT)


def test_a_vit_at_another_image_size_is_refused_before_anything_is_written(tmp_path, capsys):
    vit = tmp_path / "vit"
    (vit / "checkpoints" / "epoch_0001").mkdir(parents=True)
    (vit / "checkpoints" / "epoch_0001" / "state.pt").write_bytes(b"")  # never read: refused before
    stored = resolve_config("a2", model="vit_tiny_patch16_224", width_mult=1.0, train_res=224, test_res=224,
                            epochs=1, warmup_epochs=0).to_dict()
    (vit / "config.json").write_text(json.dumps(stored))
    out = tmp_path / "ft"
    assert main(["--init-from", str(vit), "--recipe", "ft", "--dataset", "lfw_faces", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "vit_tiny_patch16_224 cannot take 24×24 images" in err and "--train-res 224 --test-res 224" in err
    assert not out.exists()
    assert ft_config(vit, train_res=224, test_res=224).model == "vit_tiny_patch16_224"  # at its size it is taken
