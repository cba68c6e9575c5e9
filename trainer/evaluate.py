"""Evaluate a finished run's final checkpoint at other test-time settings, without retraining.

The test crop ratio (``crop_pct``), the test resolution (``test_res``) and extra evaluation
sets change evaluation only, so the RSB paper's Table 9 (crop ratio) and Figure 4 (test
resolution) need one trained model per (recipe, seed), evaluated many times: this module is
that evaluation. It runs in any process (a Ray task, a notebook, ``python -m
trainer.evaluate``) on one device, and:

* reads the run folder's ``config.json`` and its final checkpoint, whole or weights-only
  (:func:`trainer.checkpoint.load_weights`; a run that has not finished is refused: its
  weights are not the trial's result);
* builds the evaluation sets with :func:`trainer.data.build_eval_datasets` and, per
  setting, :func:`trainer.data.eval_transform` / :func:`trainer.data.eval_loader` with the
  overridden ``crop_pct`` / ``test_res``: the very path the training run evaluated with, so
  at the run's own setting the top-1 is exactly the final top-1 of its ``metrics.json``;
* draws nothing from the process's random streams: model construction and the loaders'
  seed draws happen inside a private :class:`~trainer.rng.RngStream`, so an evaluation in a
  process that also trains (a reused Ray actor) leaves that training bit-identical.

Per-image predictions leave through :mod:`trainer.predictions` (the eight-column contract),
keyed by (trial, eval set, crop_pct, test_res, image).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Optional, Sequence, Union

import numpy as np
import pyarrow as pa
import torch

from trainer import checkpoint as ckpt
from trainer import data as data_mod
from trainer.config import TrainConfig, parse_eval_set, resolve_runtime, validate
from trainer.distributed import Dist, pick_device
from trainer.errors import ConfigError, TrainerError
from trainer.loop import evaluate as evaluate_loader
from trainer.model import create_model
from trainer.predictions import MAIN_SET, SetPredictions, prediction_table, write_predictions
from trainer.rng import RngStream

Values = Union[float, int, Sequence[float], Sequence[int], None]


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """One evaluation of a trained model: one set at one (``crop_pct``, ``test_res``).

    Metrics are in percent (``eval_loss`` is the mean cross-entropy), exactly as the training
    run reports them; ``targets`` and ``preds`` hold every image's label and top-1 class in
    dataset order; ``seconds`` is the wall time of this evaluation pass alone.
    """

    eval_set: str
    crop_pct: float
    test_res: int
    top1: float
    top5: float
    eval_loss: float
    n_val: int
    seconds: float
    targets: np.ndarray = field(repr=False, compare=False)
    preds: np.ndarray = field(repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        """The evaluation's columns of ``evaluations.parquet`` (DESIGN.md)."""
        return {"eval_set": self.eval_set, "crop_pct": self.crop_pct, "test_res": self.test_res,
                "top1": self.top1, "top5": self.top5, "eval_loss": self.eval_loss, "n_val": self.n_val}

    def predictions(self) -> SetPredictions:
        """The per-image predictions, for :func:`trainer.predictions.prediction_table`."""
        return SetPredictions(self.eval_set, self.crop_pct, self.test_res, self.targets, self.preds)


def load_run_config(run_dir: Path) -> TrainConfig:
    """The configuration a run folder was trained with (its ``config.json``)."""
    path = Path(run_dir) / ckpt.CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no {ckpt.CONFIG_FILE}; pass a run folder written by the trainer "
                          f"(python -m trainer --out DIR, or a trial folder of an experiment)")
    return TrainConfig.from_dict(json.loads(path.read_text()))


def final_weights(run_dir: Path, config: TrainConfig) -> ckpt.Weights:
    """The weights of the run's final checkpoint (kept whole or weights-only); an error if the run
    has not finished training."""
    weights = ckpt.load_weights(Path(run_dir))
    if weights is None:
        raise ConfigError(f"{run_dir} holds no checkpoint (expected {run_dir}/checkpoints/epoch_XXXX/{ckpt.STATE_FILE}); "
                          "only a trained run can be evaluated")
    if weights.epoch < config.total_epochs:
        raise ConfigError(f"{run_dir} stopped after epoch {weights.epoch} of {config.total_epochs}; finish it "
                          f"(python -m trainer --resume {run_dir}, or rsb-sweep resume) before evaluating it")
    return weights


def evaluate_run(
    run_dir: Union[str, Path],
    crop_pct: Values = None,
    test_res: Values = None,
    eval_sets: Iterable[tuple[str, str]] = (),
    device: Optional[str] = None,
    only: Optional[Collection[tuple[str, float, int]]] = None,
    on_evaluation: Optional[Callable[[Evaluation], None]] = None,
) -> list[Evaluation]:
    """Evaluate the run's final weights at every (``crop_pct``, ``test_res``) on every set.

    ``crop_pct`` / ``test_res``: one value, several, or None for the run's own. The sets are
    the main validation set (``'val'``), the run's own extra sets and ``eval_sets`` (``(name,
    path)`` ImageFolders with the training classes; a name given again replaces the run's).
    ``device``: ``cpu``, ``cuda`` or ``auto``; None uses the run's own setting. ``only``: the
    ``(set, crop_pct, test_res)`` keys to evaluate, the others skipped (what a resumed
    evaluation still lacks); ``on_evaluation`` is called with each result as soon as it exists
    (so that a killed process keeps what it finished). Returns one :class:`Evaluation` per
    (crop_pct, test_res, set) evaluated, in that nesting order.
    """
    run_dir = Path(run_dir)
    config, settings = evaluation_settings(load_run_config(run_dir), crop_pct, test_res, eval_sets)
    weights = final_weights(run_dir, config)
    ctx = Dist(1, 0, 0, pick_device(device or config.device, 0))
    runtime, _ = resolve_runtime(config, ctx.device.type)  # as training resolved it (idempotent)
    amp = runtime.amp_dtype if runtime.amp else None
    channels_last = runtime.channels_last

    root = data_mod.data_root(config)
    classes = data_mod.check_image_folder(root)
    val, extra = data_mod.build_eval_datasets(config, root, classes)
    datasets = [(MAIN_SET, val), *extra]
    out: list[Evaluation] = []
    with RngStream(0):  # private streams: model init and loader seeds touch nothing outside
        model = create_model(config, len(classes))
        model.load_state_dict(weights.model)
        model = model.to(ctx.device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        for setting in settings:
            transform = data_mod.eval_transform(setting)
            for name, dataset in datasets:
                if only is not None and (name, setting.crop_pct, setting.test_res) not in only:
                    continue
                dataset.set_transform(transform)  # decoded images stay cached; transformed samples do not
                out.append(_evaluate_one(model, setting, name, dataset, ctx, amp, channels_last, len(classes)))
                if on_evaluation is not None:
                    on_evaluation(out[-1])
    return out


def evaluation_settings(config: TrainConfig, crop_pct: Values, test_res: Values,
                        eval_sets: Iterable[tuple[str, str]]) -> tuple[TrainConfig, list[TrainConfig]]:
    """The run's config with ``eval_sets`` joined to its own, and one config per (crop_pct,
    test_res) to evaluate, each validated (an out-of-range value is named before any work)."""
    crops = _values(crop_pct, config.crop_pct, float)
    resolutions = _values(test_res, config.test_res, int)
    sets = dict(config.eval_sets)
    sets.update(dict(eval_sets))
    config = dataclasses.replace(config, eval_sets=tuple(sets.items()))
    settings = [dataclasses.replace(config, crop_pct=c, test_res=r) for c, r in itertools.product(crops, resolutions)]
    for s in settings:
        validate(s)
    return config, settings


def _evaluate_one(model: torch.nn.Module, setting: TrainConfig, name: str, dataset: Any, ctx: Dist,
                  amp: Optional[str], channels_last: bool, num_classes: int) -> Evaluation:
    """One pass over ``dataset`` at ``setting``'s crop ratio and resolution, timed."""
    loader = data_mod.eval_loader(setting, dataset, world_size=1, rank=0)
    start = time.perf_counter()
    stats, _ = evaluate_loader(model=model, loader=loader, ctx=ctx, amp=amp, channels_last=channels_last,
                               num_classes=num_classes, per_image=True)
    return Evaluation(
        eval_set=name, crop_pct=setting.crop_pct, test_res=setting.test_res, top1=stats.top1,
        top5=stats.top5, eval_loss=stats.loss, n_val=stats.n, seconds=time.perf_counter() - start,
        targets=stats.targets, preds=stats.preds,
    )


def evaluation_predictions(trial_id: str, evaluations: Sequence[Evaluation]) -> pa.Table:
    """The eight-column predictions table of ``evaluations`` (DESIGN.md's contract)."""
    return prediction_table(trial_id, [e.predictions() for e in evaluations])


def _values(given: Values, own: Any, kind: type) -> list[Any]:
    """The settings to evaluate, in the order given, without repeats; None: the run's own."""
    if given is None:
        return [kind(own)]
    items = [given] if isinstance(given, (int, float, str)) else list(given)
    if not items:
        raise ConfigError("an empty list of settings to evaluate; give at least one value")
    return list(dict.fromkeys(kind(v) for v in items))


# --------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m trainer.evaluate",
        description="Evaluate a finished run's final checkpoint at other crop ratios / test resolutions "
                    "(no retraining); prints one JSON object per evaluation.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a trained run folder (config.json, checkpoints/)")
    p.add_argument("--crop-pct", default=None, metavar="A,B,…", help="test crop ratios (default: the run's own)")
    p.add_argument("--test-res", default=None, metavar="A,B,…", help="test resolutions in pixels (default: the run's own)")
    p.add_argument("--eval-set", action="append", default=[], metavar="NAME=PATH", help="extra ImageFolder evaluation set")
    p.add_argument("--device", default=None, help="cpu, cuda or auto (default: the run's own)")
    p.add_argument("--predictions", default=None, metavar="FILE",
                   help="also write the per-image predictions (eight-column parquet) to FILE")
    p.add_argument("--trial-id", default=None, help="trial_id of the predictions (default: the run folder's name)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        crops = _parse_list(args.crop_pct, "--crop-pct", float)
        resolutions = _parse_list(args.test_res, "--test-res", int)
        evaluations = evaluate_run(args.run_dir, crops, resolutions,
                                   eval_sets=[parse_eval_set(s) for s in args.eval_set], device=args.device)
    except TrainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.predictions:
        trial_id = args.trial_id or Path(args.run_dir).resolve().name
        write_predictions(Path(args.predictions), evaluation_predictions(trial_id, evaluations))
    for e in evaluations:
        print(json.dumps({**e.row(), "seconds": round(e.seconds, 4)}), flush=True)
    return 0


def _parse_list(text: Optional[str], flag: str, kind: type) -> Optional[list[Any]]:
    if text is None:
        return None
    values = []
    for v in (v.strip() for v in text.split(",")):
        try:
            number = float(v)
        except ValueError:
            number = float("nan")
        if number != number or (kind is int and not number.is_integer()):
            what = "whole numbers of pixels, e.g. 192,224" if kind is int else "numbers, e.g. 0.875,0.95"
            raise ConfigError(f"{flag} {text!r}: expected comma-separated {what}")
        values.append(kind(number))
    return values


if __name__ == "__main__":
    sys.exit(main())
