"""Seeds and bit-exact resume on CPU (DESIGN.md, "Seeds")."""

import json

import pytest
import torch

from tests.trainer.helpers import assert_same_weights, final_weights, run, tiny_config
from trainer import data as data_mod
from trainer.data import build_datasets
from trainer.run import init_model


def sampler_order(config, epoch=0):
    splits = build_datasets(config)
    sampler = data_mod.train_sampler(config, splits.train, world_size=1, rank=0)
    data_mod.set_sampler_epoch(sampler, config, epoch)
    return list(sampler)


def test_same_config_and_seeds_give_identical_runs(tmp_path):
    config = tiny_config(seed=7)
    a = run(config, tmp_path / "a")
    b = run(config, tmp_path / "b")
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("epoch_seconds", "images_per_second")} for r in rows]
    assert strip(a.history) == strip(b.history)
    assert_same_weights(final_weights(tmp_path / "a"), final_weights(tmp_path / "b"))


def test_different_seeds_give_different_runs(tmp_path):
    a = run(tiny_config(seed=1), tmp_path / "a")
    b = run(tiny_config(seed=2), tmp_path / "b")
    assert [r["train_loss"] for r in a.history] != [r["train_loss"] for r in b.history]


def test_pinned_seed_init_keeps_weights_while_data_order_changes():
    a = tiny_config(seed=1, seed_init=11)
    b = tiny_config(seed=2, seed_init=11)
    assert a.seed_data != b.seed_data
    wa, wb = init_model(a, 10).state_dict(), init_model(b, 10).state_dict()
    assert_same_weights(wa, wb)
    assert sampler_order(a) != sampler_order(b)
    c = tiny_config(seed=3)
    assert not torch.equal(init_model(c, 10).state_dict()["fc.weight"], wa["fc.weight"])


def test_pinned_seed_data_keeps_order_across_seeds():
    a, b = tiny_config(seed=1, seed_data=5), tiny_config(seed=2, seed_data=5)
    assert sampler_order(a) == sampler_order(b)
    assert sampler_order(a, epoch=0) != sampler_order(a, epoch=1)


@pytest.mark.parametrize("aug_repeats", [3, 0])
def test_data_order_follows_seed_data_with_and_without_repeated_augmentation(aug_repeats):
    # timm's RepeatAugSampler alone seeds with the epoch only: every seed would see one order.
    a, b = tiny_config(seed_data=1, aug_repeats=aug_repeats), tiny_config(seed_data=2, aug_repeats=aug_repeats)
    assert sampler_order(a) != sampler_order(b)


@pytest.mark.parametrize("stop", [1, 2])
def test_resume_is_bit_exact(tmp_path, stop):
    config = tiny_config(seed=3, epochs=3)
    full = run(config, tmp_path / "full")
    part = run(config, tmp_path / "part", stop_after=stop)
    assert not part.completed and len(part.history) == stop
    resumed = run(config, tmp_path / "part", resume_from=tmp_path / "part")
    assert resumed.completed
    keys = ("top1", "top5", "eval_loss", "train_loss")
    assert [[r[k] for k in keys] for r in resumed.history] == [[r[k] for k in keys] for r in full.history]
    assert_same_weights(final_weights(tmp_path / "part"), final_weights(tmp_path / "full"))
    assert resumed.metrics["restarts"] == 1 and full.metrics["restarts"] == 0
    lines = (tmp_path / "part" / "history.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3]


def test_resume_is_bit_exact_with_loader_worker_processes(tmp_path):
    config = tiny_config(seed=4, epochs=2, workers=1)
    full = run(config, tmp_path / "full")
    run(config, tmp_path / "part", stop_after=1)
    resumed = run(config, tmp_path / "part", resume_from=tmp_path / "part" / "checkpoints")
    assert resumed.metrics["top1"] == full.metrics["top1"]
    assert_same_weights(final_weights(tmp_path / "part"), final_weights(tmp_path / "full"))


def test_resume_refuses_a_different_config(tmp_path):
    from trainer import ConfigError

    run(tiny_config(seed=1, epochs=2), tmp_path / "r", stop_after=1)
    with pytest.raises(ConfigError, match="different config.*lr"):
        run(tiny_config(seed=1, epochs=2, lr=1e-3), tmp_path / "r", resume_from=tmp_path / "r")


def test_decoded_image_cache_changes_nothing():
    from trainer.rng import seed_globals

    samples = []
    for cache in (False, True):
        dataset = build_datasets(tiny_config(cache_images=cache)).train
        seed_globals(0)
        samples.append([dataset[i][0] for i in (0, 5, 0, 7)])  # index 0 twice: served from the cache
    for a, b in zip(*samples):
        assert torch.equal(a, b)


def test_resuming_a_finished_run_reports_full_metrics(tmp_path):
    config = tiny_config(seed=2, epochs=2, final_checkpoint="full")  # a whole final checkpoint can be resumed
    full = run(config, tmp_path)
    again = run(config, tmp_path, resume_from=tmp_path)
    assert again.completed and again.metrics["top1"] == full.metrics["top1"]
    for key in ("epochs_done", "restarts", "train_hours", "n_workers", "device", "peak_mem_gb"):
        assert key in again.metrics, key
    assert again.metrics["restarts"] == 1 and again.metrics["epochs_done"] == 2
