"""model_args: the extra timm arguments a digits stand-in needs, written, checked, recorded; and the
preset's width on ResNets only."""

from __future__ import annotations

import json

import pytest

from trainer import resolve_config
from trainer.config import TrainConfig
from trainer.errors import ConfigError
from trainer.model import build_model, create_model
from trainer.model_args import format_model_args, parse_model_args

from .helpers import run

VIT_ARGS = "img_size=24,patch_size=4,embed_dim=24,depth=1,num_heads=2,dynamic_img_size=True,dynamic_img_pad=True"


def test_model_args_text_is_canonical_and_round_trips():
    text = format_model_args("patch_size=4, img_size=24,layers=(1,1,1,1),act=gelu,wa=8.0")
    assert text == "act=gelu,img_size=24,layers=(1,1,1,1),patch_size=4,wa=8.0"
    assert format_model_args(text) == text
    assert format_model_args({"patch_size": 4, "img_size": 24}) == format_model_args("{'img_size': 24, 'patch_size': 4}")
    assert parse_model_args(text)["layers"] == (1, 1, 1, 1) and parse_model_args(text)["wa"] == 8.0
    assert parse_model_args("") == {} and format_model_args(None) == ""


@pytest.mark.parametrize("text, words", [
    ("img_size", "not key=value"), ("num_classes=3", "set by the trainer"), ("drop_path_rate=0.1", "drop_path"),
    ("x={'a': 1}", "number, boolean, string"), ("{1: 2}", "keyword argument name"),
])
def test_bad_model_args_name_the_fix(text, words):
    with pytest.raises(ConfigError, match=words):
        resolve_config("a2", model_args=text)


def test_config_records_model_args_and_the_width_applies_to_resnets_only():
    vit = resolve_config("a2", model="vit_tiny_patch16_224", model_args="patch_size=4 ,img_size=24")
    assert vit.width_mult == 1.0 and vit.model_args == "img_size=24,patch_size=4"
    assert TrainConfig.from_dict(json.loads(json.dumps(vit.to_dict()))) == vit
    assert resolve_config("a2").width_mult == 0.25  # the preset's ResNet keeps its width
    assert resolve_config("a2", model="resnet18").width_mult == 0.25
    with pytest.raises(ConfigError, match="only applies to timm ResNets.*model_args"):
        resolve_config("a2", model="vit_tiny_patch16_224", width_mult=0.5)
    on_data = resolve_config("a2", data="/nonexistent/imagenet", model="vit_tiny_patch16_224")
    assert on_data.width_mult == 1.0 and on_data.model_args == ""


def test_timm_refusing_an_argument_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"timm could not build 'vit_tiny_patch16_224' with .*not_an_arg"):
        build_model("vit_tiny_patch16_224", 10, model_args="not_an_arg=3")
    with pytest.raises(ConfigError, match="set by width_mult"):
        build_model("resnet18", 10, width_mult=0.5, model_args="stem_width=8")
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("resnet_nope", 10)


@pytest.mark.slow
def test_a_vit_stand_in_trains_one_step_on_digits_at_its_own_size(tmp_path):
    """A real run (one optimizer step, full evaluation) of a 24-px ViT, trained at A3's smaller
    train resolution and tested at 24 px: config.json records its arguments. ~5-20 s."""
    config = resolve_config("a3", model="vit_tiny_patch16_224", model_args=VIT_ARGS, epochs=1, warmup_epochs=0,
                            max_steps=1, batch_size=16)
    assert config.train_res < config.test_res
    result = run(config, tmp_path / "vit")
    assert 0.0 <= result.metrics["top1"] <= 100.0
    recorded = json.loads((tmp_path / "vit" / "config.json").read_text())
    assert recorded["model_args"] == format_model_args(VIT_ARGS) and recorded["width_mult"] == 1.0
    net = create_model(TrainConfig.from_dict(recorded), num_classes=10)
    assert net.patch_embed.patch_size == (4, 4)
