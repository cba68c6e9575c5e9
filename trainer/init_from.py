"""Fine-tuning: start a run from a trained run's backbone, with a fresh classifier for the target's classes.

It adapts the weights the way timm's train.py does with ``--pretrained --pretrained-path FILE --num-classes N``
(``timm.create_model(..., pretrained_cfg_overlay=dict(file=FILE, num_classes=-1))``): the model is created for
the target's class count, the source's classifier is dropped (``num_classes=-1`` always drops it), and every
other parameter and buffer (BN running statistics included) is the source's, bit for bit. The new classifier
is timm's own initialisation, drawn from ``seed_init``. (timm's ``--initial-checkpoint`` is strict: it fails
on a new class count.) The model and its width are the source run's.

The source is a finished run folder (its final checkpoint, whole or weights-only) or one of its
``checkpoints/epoch_XXXX/`` folders; an unfinished run is refused with the epoch it reached. It is read at
epoch 0 only: a resumed fine-tuning run needs its own checkpoints alone. ``config.json`` records the
checkpoint read (``init_from``), its epoch (``init_from_epoch``) and the hash of the source's config
(``init_from_hash``, :func:`config_hash`).

Resolving a source (:func:`find_source`, :func:`resolve_source`: the command line, and the run's start before
anything is written) reads JSON and folder names, and checks the target's resolution against the source model
on torch's meta device; :func:`load_source` and :func:`load_backbone` read and copy the weights.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from trainer.checkpoint import (CHECKPOINTS_DIR, CONFIG_FILE, STATE_FILE, Weights, checkpoint_epoch,
                                checkpoint_name, list_checkpoints, load_weights)
from trainer.config import EXECUTION_FIELDS, TrainConfig
from trainer.errors import ConfigError

#: Fields a fine-tuning run takes from its source (a typed different value is refused).
SOURCE_FIELDS = ("model", "width_mult")


@dataclass(frozen=True, kw_only=True)
class Source:
    """A checkpoint to fine-tune from: where it is, how far its run had trained, and that run's config."""

    run: Path  # the source run folder
    checkpoint: Path  # the checkpoint folder read (…/checkpoints/epoch_XXXX)
    epoch: int  # epochs the checkpoint had trained
    config: dict[str, Any]  # the source run's config.json
    config_hash: str  # config_hash(config)


def config_hash(config: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-1 over what a config computes: its fields outside ``EXECUTION_FIELDS``, as
    canonical JSON, a field missing from it counting as its default (what a run made before the field did).
    Equal for every checkpoint of one run (a resume may change execution fields only)."""
    kept = {k: v for k, v in {**_defaults(), **config}.items() if k not in EXECUTION_FIELDS}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    return TrainConfig().to_dict()


def find_source(path: str | Path) -> Source:
    """The checkpoint that ``--init-from PATH`` names: a finished run folder's final checkpoint, or one
    ``epoch_XXXX/`` folder. :class:`ConfigError` naming the fix for anything else (nothing is read but JSON)."""
    given = Path(path).expanduser()
    where = given.resolve()
    if not where.is_dir():
        raise ConfigError(f"--init-from {given}: no such folder; give a finished run folder or one of its "
                          f"checkpoints/epoch_XXXX/ folders")
    epoch = checkpoint_epoch(where)
    run = where.parent.parent if epoch is not None else (where.parent if where.name == CHECKPOINTS_DIR else where)
    config = _read_config(run, given)
    total = int(config.get("epochs", 0)) + int(config.get("cooldown_epochs", 0))
    if epoch is not None:
        if not (where / STATE_FILE).is_file():
            raise ConfigError(f"--init-from {given}: checkpoint folder without {STATE_FILE} (incomplete); give a "
                              f"complete one, e.g. {_newest_hint(run)}")
        checkpoint = where
    else:
        found = list_checkpoints(run / CHECKPOINTS_DIR)
        if not found:
            raise ConfigError(f"--init-from {given}: the run has no checkpoint ({run}/{CHECKPOINTS_DIR}/ is empty "
                              f"or missing); give a run that has trained")
        checkpoint, epoch = found[-1], int(checkpoint_epoch(found[-1]) or 0)
        if epoch < total:
            raise ConfigError(f"--init-from {given}: the run is unfinished: it reached epoch {epoch} of {total}. "
                              f"Finish it (python -m trainer --resume {run}), or fine-tune from that checkpoint "
                              f"explicitly: --init-from {checkpoint}")
    return Source(run=run, checkpoint=checkpoint, epoch=epoch, config=config, config_hash=config_hash(config))


def resolve_source(config: TrainConfig, typed: Optional[Mapping[str, Any]] = None) -> TrainConfig:
    """``config`` with its ``init_from`` resolved (:func:`find_source`): the checkpoint folder, its epoch and
    config hash recorded, the source's model and width taken, and the target's resolutions checked against
    the source model. A ``typed`` (command-line) model or width other than the source's, a recorded hash or
    epoch the source no longer has: :class:`ConfigError`. Unchanged without ``init_from``; idempotent."""
    if not config.init_from:
        return config
    source = find_source(config.init_from)
    for name in SOURCE_FIELDS:
        mine, theirs = (typed or {}).get(name), source.config.get(name)
        if mine is not None and mine != theirs:
            raise ConfigError(f"--{name.replace('_', '-')} {mine}: a fine-tuning run keeps its source's {name} "
                              f"({theirs!r}, from {source.run}); drop --{name.replace('_', '-')}")
    _check_recorded(config, source)
    for res in sorted({config.train_res, config.test_res}):
        check_input_size(source, res)
    return dataclasses.replace(config, init_from=str(source.checkpoint), init_from_epoch=source.epoch,
                               init_from_hash=source.config_hash, model=source.config["model"],
                               width_mult=float(source.config.get("width_mult", 1.0)))


def check_input_size(source: Source, res: int) -> None:
    """:class:`ConfigError` when the source model cannot take ``res``×``res`` images (a ViT at another size)."""
    problem = _size_problem(source.config["model"], res)
    if problem:
        raise ConfigError(
            f"--init-from {source.run}: its model {source.config['model']} cannot take {res}×{res} images "
            f"({problem}); fine-tune it at the resolution it was trained at (--train-res "
            f"{source.config.get('train_res')} --test-res {source.config.get('test_res')}), or start from a model "
            f"that takes any size (a ResNet)")


@functools.lru_cache(maxsize=64)
def _size_problem(model: str, res: int) -> Optional[str]:
    """Why ``model`` fails a forward pass at ``res`` px, or None: shapes only, on torch's meta device (the
    width does not matter: only ResNets take ``width_mult``, and they take any size)."""
    import timm
    import torch

    try:
        with torch.device("meta"):
            net = timm.create_model(model, pretrained=False, num_classes=2)
            net.eval()(torch.empty(1, 3, res, res))
    except (AssertionError, RuntimeError, ValueError) as exc:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def _check_recorded(config: TrainConfig, source: Source) -> None:
    """The epoch and hash ``config`` records, if any, must be the source's (a rerun of a stored config)."""
    if config.init_from_epoch is not None and source.epoch != config.init_from_epoch:
        raise ConfigError(f"--init-from {config.init_from}: holds epoch {source.epoch}, not the recorded "
                          f"{config.init_from_epoch}; give the checkpoint the config records "
                          f"({source.run}/{CHECKPOINTS_DIR}/{checkpoint_name(config.init_from_epoch)})")
    if config.init_from_hash is not None and source.config_hash != config.init_from_hash:
        raise ConfigError(f"--init-from {config.init_from}: the source's config hash is {source.config_hash}, "
                          f"not the recorded {config.init_from_hash}: the source changed; fine-tune from the run "
                          f"the config records")


def load_source(config: TrainConfig) -> Weights:
    """The source weights of a fine-tuning ``config`` resolved by :func:`resolve_source`, read at epoch 0
    (whole and weights-only checkpoints alike); its config's hash checked against the recorded one."""
    weights = load_weights(Path(config.init_from))
    if weights is None or checkpoint_epoch(weights.folder) != config.init_from_epoch:
        raise ConfigError(f"--init-from {config.init_from}: the checkpoint of epoch {config.init_from_epoch} is "
                          f"gone; give an existing one")
    stored = config_hash(weights.config)
    if stored != config.init_from_hash:
        raise ConfigError(f"--init-from {weights.folder}: its config hash is {stored}, not the recorded "
                          f"{config.init_from_hash}: the source changed; fine-tune from the run the config records")
    return weights


def classifier_keys(model: Any) -> list[str]:
    """The state-dict keys of ``model``'s classifier (timm's ``pretrained_cfg['classifier']``)."""
    names = model.pretrained_cfg.get("classifier", "fc")
    names = (names,) if isinstance(names, str) else tuple(names)
    return [k for k in model.state_dict() if any(k == n or k.startswith(n + ".") for n in names)]


def load_backbone(model: Any, state: Mapping[str, Any]) -> list[str]:
    """Copy every entry of the source state dict into ``model`` except the classifier's (timm's
    ``num_classes=-1``); the classifier keys kept as ``model`` initialised them, returned. A source whose
    backbone does not fit ``model`` exactly is a :class:`ConfigError`."""
    head = classifier_keys(model)
    backbone = {k: v for k, v in state.items() if k not in head}
    try:
        result = model.load_state_dict(backbone, strict=False)
    except RuntimeError as exc:
        raise ConfigError(f"the source checkpoint's backbone does not fit the model: {exc}".splitlines()[0]) from None
    missing = sorted(set(result.missing_keys) - set(head))
    if missing or result.unexpected_keys:
        raise ConfigError(f"the source checkpoint does not match the model: missing {missing[:4]}, unexpected "
                          f"{list(result.unexpected_keys)[:4]}; fine-tune from a run of the same model")
    return head


def _read_config(run: Path, given: Path) -> dict[str, Any]:
    try:
        return json.loads((run / CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise ConfigError(f"--init-from {given}: not a run folder ({run} has no {CONFIG_FILE}); give a run folder "
                          f"written by the trainer, or one of its checkpoints/epoch_XXXX/ folders") from None
    except ValueError as exc:
        raise ConfigError(f"--init-from {given}: cannot read {run / CONFIG_FILE} ({exc})") from None


def _newest_hint(run: Path) -> str:
    found = list_checkpoints(run / CHECKPOINTS_DIR)
    return str(found[-1]) if found else f"{run}/{CHECKPOINTS_DIR}/epoch_XXXX"
