"""Bad input: each a clear one-line error that names the fix; nothing computed is lost."""

import shutil

import pytest

from tests.conftest import write_image_folder
from tests.trainer.helpers import run, tiny_config
from trainer import DataError, DivergenceError, resolve_config, train
from trainer.checkpoint import find_checkpoint, list_checkpoints


def folder_config(root, **kw):
    return resolve_config("a2", data=str(root), **{"epochs": 1, "warmup_epochs": 0, "batch_size": 4,
                                                    "train_res": 16, "test_res": 16, "width_mult": 0.25, "model": "resnet18",
                                                    "workers": 0, "aug_repeats": 0, **kw})


def test_missing_data_folder(tmp_path):
    with pytest.raises(DataError, match=f"data folder {tmp_path / 'nope'} does not exist"):
        train(folder_config(tmp_path / "nope"), log=lambda _: None)


def test_folder_without_val(image_folder):
    shutil.rmtree(image_folder / "val")
    with pytest.raises(DataError, match="has no val/ subfolder"):
        train(folder_config(image_folder), log=lambda _: None)


def test_empty_class_folder(image_folder):
    for f in (image_folder / "train" / "b").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"class folder .*train/b holds no images"):
        train(folder_config(image_folder), log=lambda _: None)


def test_mismatched_classes(image_folder):
    shutil.rmtree(image_folder / "val" / "c")
    with pytest.raises(DataError, match="different classes"):
        train(folder_config(image_folder), log=lambda _: None)


def test_corrupt_image_is_named(image_folder):
    bad = image_folder / "train" / "a" / "0.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(DataError, match=f"corrupt image {bad}"):
        train(folder_config(image_folder), log=lambda _: None)


def test_corrupt_image_is_named_from_a_loader_worker(image_folder):
    bad = image_folder / "train" / "b" / "1.png"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError, match=f"corrupt image {bad}"):
        train(folder_config(image_folder, workers=1), log=lambda _: None)


def test_trains_on_an_image_folder(tmp_path):
    root = write_image_folder(tmp_path / "imgs", per_class=(8, 4))
    result = train(folder_config(root, epochs=2), out_dir=tmp_path / "out", log=lambda _: None)
    assert result.completed and result.metrics["n_val"] == 12
    assert 0 <= result.metrics["top1"] <= 100


def test_diverging_loss_stops_with_epoch_and_step_and_keeps_the_checkpoint(tmp_path):
    # epoch 1 warms up at 1e-6 (fine); epoch 2 runs plain SGD at 1e12, which overflows.
    config = tiny_config(epochs=3, warmup_epochs=1, warmup_lr=1e-6, opt="sgd", lr=1e12, loss="ce")
    with pytest.raises(DivergenceError, match=r"loss became (NaN|inf|-?\d.*) at epoch 2, step \d+; try a lower --lr") as err:
        run(config, tmp_path)
    assert err.value.epoch == 2
    kept = list_checkpoints(tmp_path / "checkpoints")
    assert [p.name for p in kept] == ["epoch_0001"]
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 1
    assert find_checkpoint(tmp_path) == kept[0]


def test_extra_eval_set_with_other_classes(image_folder, tmp_path):
    other = write_image_folder(tmp_path / "other", classes=("x", "y", "z"))
    with pytest.raises(DataError, match="evaluation set 'v2'.*must use the same class folders"):
        train(folder_config(image_folder, eval_sets=(("v2", str(other / "val")),)), log=lambda _: None)
