"""The cost levers change nothing they must not: batched normalization, the evaluation cache,
and the auto settings that config.json records (amp and its dtype, channels_last, device)."""

from __future__ import annotations

import json

import pytest
import torch
from timm.data import create_transform

from tests.trainer.helpers import run, tiny_config
from trainer import data as data_mod
from trainer.config import resolve_runtime
from trainer.rng import seed_globals


def _first_batches(config, dataset, n=2):
    sampler = data_mod.train_sampler(config, dataset, 1, 0)
    data_mod.set_sampler_epoch(sampler, config, 0)
    loader = data_mod.train_loader(config, dataset, sampler, 1, torch.Generator().manual_seed(0))
    seed_globals(1)  # the transforms draw from the global generators, as under the aug stream
    out = []
    for x, y in loader:
        out.append((x, y))
        if len(out) == n:
            return out
    return out


def test_batched_normalization_is_bit_identical_to_per_image_totensor_and_normalize():
    config = tiny_config()
    splits = data_mod.build_datasets(config)
    fast = _first_batches(config, splits.train)
    per_image = data_mod.StrictImageDataset(str(splits.root / "train"), True, transform=create_transform(
        input_size=config.train_res, is_training=True, auto_augment=config.auto_augment,
        interpolation=config.interpolation))  # timm's default: ToTensor + Normalize on every image
    slow = _first_batches(config, per_image)
    assert fast[0][0].dtype == torch.float32 and slow[0][0].dtype == torch.float32
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert torch.equal(xf, xs) and torch.equal(yf, ys)


def test_random_erasing_keeps_the_per_image_path():
    config = tiny_config(reprob=0.25)
    names = [type(t).__name__ for t in data_mod.train_transform(config).transforms]
    assert names[-1] == "RandomErasing" and "Normalize" in names
    assert "Normalize" not in [type(t).__name__ for t in data_mod.train_transform(tiny_config()).transforms]


def test_evaluation_cache_returns_what_the_transform_returns():
    config = tiny_config()
    splits = data_mod.build_datasets(config)
    plain = data_mod.StrictImageDataset(str(splits.root / "val"), transform=data_mod.eval_transform(config))
    for i in (0, 7, 0):
        x, y = splits.val[i]
        px, py = plain[i]
        assert torch.equal(x, px) and y == py
    assert 0 in splits.val._transformed and 7 in splits.val._transformed


def test_a_new_evaluation_transform_is_not_served_from_the_cache():
    """Re-evaluating at another test_res (trainer.evaluate) must transform the images again."""
    import dataclasses

    config = tiny_config()
    splits = data_mod.build_datasets(config)
    before = splits.val[0][0]
    wider = dataclasses.replace(config, test_res=config.test_res + 8)
    splits.val.set_transform(data_mod.eval_transform(wider))
    after = splits.val[0][0]
    assert after.shape[-1] == config.test_res + 8 != before.shape[-1]


def test_cpu_defaults_are_float32_and_channels_last():
    config, notices = resolve_runtime(tiny_config(), "cpu")
    assert (config.device, config.amp, config.amp_dtype, config.channels_last) == ("cpu", False, None, True)
    assert notices == []
    assert resolve_runtime(config, "cpu") == (config, [])  # idempotent: a resumed run resolves to the same


def test_amp_on_cpu_without_bfloat16_is_recorded_off_with_a_notice():
    config, notices = resolve_runtime(tiny_config(amp=True), "cpu")
    assert config.amp is False and config.amp_dtype is None
    assert len(notices) == 1 and "--amp-dtype bfloat16" in notices[0]


@pytest.mark.parametrize("amp", [None, True])
def test_bfloat16_on_cpu_only_when_asked_for(amp):
    config, notices = resolve_runtime(tiny_config(amp=amp, amp_dtype="bfloat16"), "cpu")
    assert (config.amp, config.amp_dtype, notices) == (True, "bfloat16", [])


def test_cuda_defaults_to_float16_autocast_and_channels_last():
    config, _ = resolve_runtime(tiny_config(), "cuda")
    assert (config.amp, config.amp_dtype, config.channels_last) == (True, "float16", True)
    off, _ = resolve_runtime(tiny_config(amp=False, channels_last=False), "cuda")
    assert (off.amp, off.amp_dtype, off.channels_last) == (False, None, False)


def test_config_json_records_what_ran_and_the_notice_is_logged(tmp_path):
    lines = []
    from trainer import train

    train(tiny_config(amp=True, epochs=2, max_steps=1), out_dir=tmp_path, log=lines.append)
    recorded = json.loads((tmp_path / "config.json").read_text())
    assert (recorded["device"], recorded["amp"], recorded["amp_dtype"], recorded["channels_last"]) == ("cpu", False, None, True)
    assert sum("amp=True on CPU" in line for line in lines) == 1


@pytest.mark.slow
def test_bfloat16_run_resumes_bit_exact(tmp_path):
    from tests.trainer.helpers import assert_same_weights, final_weights

    config = tiny_config(amp_dtype="bfloat16")
    run(config, tmp_path / "full")
    run(config, tmp_path / "part", stop_after=1)
    run(config, tmp_path / "part", resume_from=tmp_path / "part")
    assert json.loads((tmp_path / "full" / "config.json").read_text())["amp_dtype"] == "bfloat16"
    assert_same_weights(final_weights(tmp_path / "full"), final_weights(tmp_path / "part"))


def test_resume_checks_the_resolved_settings(tmp_path):
    from trainer.errors import ConfigError

    run(tiny_config(epochs=2, max_steps=1), tmp_path, stop_after=1)  # channels_last resolved to True
    with pytest.raises(ConfigError, match="channels_last"):
        run(tiny_config(epochs=2, max_steps=1, channels_last=False), tmp_path, resume_from=tmp_path)
