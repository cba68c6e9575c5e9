"""Resolving, validating and printing configs; seeds."""

import json
import subprocess
import sys

import pytest

from trainer import ConfigError, TrainConfig, derive_seed, resolve_config
from trainer.config import parse_value


def test_seeds_derive_from_seed_and_are_independent():
    a, b = resolve_config("a2", seed=0), resolve_config("a2", seed=1)
    seeds_a = (a.seed_init, a.seed_data, a.seed_aug)
    seeds_b = (b.seed_init, b.seed_data, b.seed_aug)
    assert len(set(seeds_a)) == 3 and len(set(seeds_b)) == 3
    assert set(seeds_a).isdisjoint(seeds_b)
    assert resolve_config("a2", seed=0) == a  # deterministic


def test_each_seed_source_can_be_pinned():
    config = resolve_config("a2", seed=5, seed_init=123)
    assert config.seed_init == 123
    assert config.seed_data == derive_seed(5, 1) and config.seed_aug == derive_seed(5, 2)


def test_config_round_trips_through_json():
    config = resolve_config("a3", seed=3, eval_sets=(("v2", "/tmp/v2"),))
    again = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(lr=-1e-3), r"lr=-0.001 is out of range: must be > 0"),
        (dict(crop_pct=1.5), r"crop_pct=1.5 is out of range: must be in \(0, 1\]"),
        (dict(crop_pct=0.0), r"crop_pct=0.0 is out of range"),
        (dict(loss="mse"), r"loss='mse' is out of range"),
        (dict(batch_size=3), r"batch_size=3 is out of range"),
        (dict(model="resnet5O"), r"unknown model 'resnet5O'"),
        (dict(opt="lambda"), r"unknown optimizer 'lambda'"),
        (dict(learning_rate=1e-3), r"unknown config field\(s\) learning_rate"),
        (dict(warmup_epochs=500), r"warmup_epochs=500 is out of range"),
    ],
)
def test_bad_overrides_are_clear_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("a2", **overrides)


def test_parse_value_uses_field_types():
    assert parse_value("lr", "3e-3") == 3e-3
    assert parse_value("epochs", "12") == 12
    assert parse_value("auto_augment", "none") is None
    assert parse_value("amp", "true") is True
    with pytest.raises(ConfigError, match="--epochs: cannot read 'ten' as int"):
        parse_value("epochs", "ten")


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True, timeout=300, **kw)


def test_print_config_resolves_overrides():
    out = run_cli("--recipe", "a3", "--seed", "4", "--lr", "3e-3", "--crop-pct", "0.9", "--print-config")
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    assert config["recipe"] == "a3" and config["lr"] == 3e-3 and config["crop_pct"] == 0.9
    assert config["seed_data"] == derive_seed(4, 1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipe", "b2"], "error: unknown recipe 'b2'"),
        (["--model", "resnet9000"], "error: unknown model 'resnet9000'"),
        (["--lr", "-1"], "error: lr=-1.0 is out of range"),
        (["--data", "/nonexistent/imagenet", "--epochs", "10"], "error: data folder /nonexistent/imagenet does not exist"),
    ],
)
def test_cli_errors_are_one_line(args, message):
    out = run_cli(*args)
    assert out.returncode == 2
    assert out.stderr.strip().startswith(message), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
