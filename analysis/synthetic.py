"""Synthetic results tables with DESIGN.md's columns, for tests, benchmarks and documentation.

The numbers imitate a ResNet-50 A2 seed study (top-1 ≈ 79.8 %, seed std ≈ 0.2 points on a
50 000-image validation set), with accuracies rounded to what ``n_val`` images can give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .contract import (
    ERROR,
    EVALUATION_COLUMNS,
    EVALUATION_SOURCE,
    MAIN_SET,
    PENDING,
    RUNNING,
    TERMINATED,
    TRAINING_SOURCE,
    with_contract_dtypes,
)

#: The A2 recipe's hyper-parameters (DESIGN.md, Table 2 of the RSB paper).
A2 = dict(
    recipe="a2", model="resnet50", dataset="imagenet", lr=5e-3, weight_decay=0.02, loss="bce",
    aug_repeats=3, crop_pct=0.95, smoothing=0.0, drop_path=0.05, mixup=0.1, cutmix=1.0,
    epochs=300, batch_size=2048, train_res=224, test_res=224,
)


def synthetic_results(
    n_seeds: int = 100,
    configs: Sequence[Mapping[str, Any]] | None = None,
    *,
    mean: float = 79.8,
    std: float = 0.2,
    n_val: int = 50_000,
    extra_sets: Sequence[str] = ("real", "v2"),
    n_error: int = 0,
    n_running: int = 0,
    seed: int = 0,
    experiment: str = "synthetic",
) -> pd.DataFrame:
    """A results table: ``n_seeds`` trials (seeds 0..n−1) for each configuration.

    ``configs`` is a list of overrides of :data:`A2`; the keys ``shift`` (added to the mean) and
    ``std`` (seed std) set the effect. The last ``n_error`` seeds of each configuration are
    marked ERROR and the ``n_running`` before them RUNNING, both with NaN metrics.
    """
    rng = np.random.default_rng(seed)
    configs = list(configs) if configs else [{}]
    rows = []
    for ci, cfg in enumerate(configs):
        cfg = dict(cfg)
        shift = float(cfg.pop("shift", 0.0))
        sd = float(cfg.pop("std", std))
        hp = {**A2, **cfg}
        for s in range(n_seeds):
            acc = mean + shift + sd * rng.standard_normal()
            acc = np.round(acc / 100 * n_val) / n_val * 100
            row: dict[str, Any] = dict(
                experiment=experiment, trial_id=f"trial_{ci:03d}_{s:04d}", status=TERMINATED,
                **{k: hp[k] for k in ("recipe", "model", "dataset")},
                seed=s, seed_init=s, seed_data=s, seed_aug=s,
                **{k: v for k, v in hp.items() if k not in ("recipe", "model", "dataset")},
                top1=acc, top5=min(99.9, acc + 15.0 + 0.05 * rng.standard_normal()),
                eval_loss=0.9 - 0.01 * (acc - mean) + 0.005 * rng.standard_normal(),
            )
            for k, name in enumerate(extra_sets):
                offset = {"real": 6.3, "v2": -12.1}.get(name, -5.0 * (k + 1))
                row[f"top1_{name}"] = acc + offset + 0.1 * rng.standard_normal()
            row.update(
                n_val=n_val, epochs_done=hp["epochs"], restarts=0,
                train_hours=14.0 + 0.3 * rng.standard_normal(), n_workers=4,
                device="NVIDIA V100-SXM2-32GB", peak_mem_gb=21.5 + 0.1 * rng.standard_normal(),
                error=None,
            )
            if s >= n_seeds - n_error - n_running:  # the last seeds fail or are still running
                failed = s >= n_seeds - n_error
                row["status"] = ERROR if failed else RUNNING
                for m in ("top1", "top5", "eval_loss", *(f"top1_{e}" for e in extra_sets)):
                    row[m] = np.nan
                row["epochs_done"] = hp["epochs"] // 3
                row["error"] = "RuntimeError: CUDA out of memory" if failed else None
            rows.append(row)
    return pd.DataFrame(rows)


def synthetic_evaluations(
    n_seeds: int = 10,
    recipes: Sequence[str] = ("a1", "a2", "a3"),
    crop_pct: Sequence[float] = (0.875, 0.9, 0.95, 1.0),
    test_res: Sequence[int] = (224,),
    *,
    eval_sets: Sequence[str] = (MAIN_SET,),
    crop_shift: Mapping[float, float] | None = None,
    own_crop: float = 0.95,
    train_res: int = 224,
    own_res: int = 224,
    std: float = 0.2,
    pair_sd: float = 0.03,
    n_val: int = 50_000,
    n_eval_error: int = 0,
    n_pending: int = 0,
    seed: int = 0,
    experiment: str = "synthetic",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(results, evaluations) of a train-once, evaluate-many study, both contract-exact.

    One trained model per (recipe, seed): ``results`` holds it at its own ``own_crop`` /
    ``own_res`` (seed std ``std``); ``evaluations`` holds it at every ``crop_pct`` ×
    ``test_res`` × ``eval_sets``, the own setting as the ``training`` row (the same top-1 as
    ``results``), the others as ``evaluation`` rows: own top-1 + ``crop_shift[crop]`` −
    ``crop_shift[own_crop]`` + a resolution curve peaking at 1.15 × ``train_res``, plus an
    evaluation noise of sd ``pair_sd`` (the model's training noise cancels in the paired
    difference). The first ``n_eval_error`` seeds of each recipe have their evaluation at the
    largest crop ratio ERROR, the next ``n_pending`` PENDING (NaN metrics).
    """
    rng = np.random.default_rng(seed + 1)
    shift = dict(crop_shift or {0.875: -0.3, 0.9: -0.1, 0.95: 0.0, 1.0: 0.2})
    extra = [e for e in eval_sets if e != MAIN_SET]
    configs = [dict(recipe=r, crop_pct=own_crop, train_res=train_res, test_res=own_res) for r in recipes]
    results = synthetic_results(n_seeds, configs, std=std, n_val=n_val, extra_sets=extra, seed=seed,
                                experiment=experiment)

    def curve(res: float) -> float:
        return -0.5 * ((res - 1.15 * train_res) / (0.15 * train_res)) ** 2

    def evaluated(own: float, crop: float, res: int) -> float:
        """A trained model's top-1 at another setting: its own, moved by crop and resolution."""
        acc = (own + shift.get(float(crop), 0.0) - shift.get(float(own_crop), 0.0)
               + curve(res) - curve(own_res) + pair_sd * rng.standard_normal())
        return float(np.round(acc / 100 * n_val) / n_val * 100)

    rows = _evaluation_rows(results, eval_sets, crop_pct, test_res,
                            lambda crop, res: bool(np.isclose(crop, own_crop)) and res == own_res, evaluated)
    ev = _fail_evaluations(pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS)), max(crop_pct), n_eval_error,
                           n_pending)
    return with_contract_dtypes(results), with_contract_dtypes(ev)


def _evaluation_rows(results: pd.DataFrame, eval_sets: Sequence[str], crop_pct: Sequence[float],
                     test_res: Sequence[int], is_own: Callable[[float, int], bool],
                     evaluated: Callable[[float, float, int], float]) -> list[dict[str, Any]]:
    """One evaluations row per (trained model, eval set, crop, resolution): the model's own
    setting as its ``training`` row, every other as an ``evaluation`` row scored by ``evaluated``."""
    rows = []
    for r in results.to_dict("records"):
        for eval_set in eval_sets:
            own = r["top1"] if eval_set == MAIN_SET else r[f"top1_{eval_set}"]
            for crop in crop_pct:
                for res in test_res:
                    row = {c: r[c] for c in EVALUATION_COLUMNS if c in r}
                    row.update(eval_set=eval_set, crop_pct=float(crop), test_res=int(res), status=TERMINATED,
                               error=None)
                    if is_own(crop, res):
                        main = eval_set == MAIN_SET
                        row.update(source=TRAINING_SOURCE, top1=own, top5=r["top5"] if main else np.nan,
                                   eval_loss=r["eval_loss"] if main else np.nan)
                    else:
                        acc = evaluated(own, crop, res)
                        row.update(source=EVALUATION_SOURCE, top1=acc, top5=min(99.9, acc + 15.0),
                                   eval_loss=0.9 - 0.01 * (acc - 79.8))
                    rows.append(row)
    return rows


def _fail_evaluations(ev: pd.DataFrame, crop: float, n_error: int, n_pending: int) -> pd.DataFrame:
    """The first ``n_error`` seeds' evaluations at ``crop`` ERROR, the next ``n_pending`` PENDING."""
    last = ev["crop_pct"] == crop
    for k, (status, error) in enumerate(((ERROR, "RuntimeError: evaluation failed"), (PENDING, None))):
        first = (0, n_error)[k]
        seeds = range(first, first + (n_error, n_pending)[k])
        hit = last & ev["seed"].isin(list(seeds)) & (ev["source"] == EVALUATION_SOURCE)
        ev.loc[hit, ["status", "error"]] = [status, error]
        ev.loc[hit, ["top1", "top5", "eval_loss"]] = np.nan
    return ev


def synthetic_crossed(
    levels: Sequence[int] = (4, 4, 4),
    sds: Mapping[str, float] | None = None,
    *,
    residual_sd: float = 0.05,
    mean: float = 79.8,
    seed: int = 0,
) -> pd.DataFrame:
    """A fully crossed seed_init × seed_data × seed_aug design with known component stds.

    ``sds`` maps each source to the std of its random effect (default 0.15 / 0.10 / 0.05).
    """
    rng = np.random.default_rng(seed)
    sds = dict(sds or {"seed_init": 0.15, "seed_data": 0.10, "seed_aug": 0.05})
    names = list(sds)
    effects = {f: sds[f] * rng.standard_normal(n) for f, n in zip(names, levels)}
    grids = np.meshgrid(*[np.arange(n) for n in levels], indexing="ij")
    idx = {f: g.ravel() for f, g in zip(names, grids)}
    n = idx[names[0]].size
    y = mean + sum(effects[f][idx[f]] for f in names) + residual_sd * rng.standard_normal(n)
    df = pd.DataFrame({f: idx[f] for f in names})
    df.insert(0, "trial_id", [f"trial_{i:04d}" for i in range(n)])
    df.insert(1, "status", TERMINATED)
    df.insert(2, "seed", np.arange(n))
    df["top1"] = y
    for k, v in A2.items():
        df[k] = v
    df["n_val"] = 50_000
    return df


def synthetic_history(
    results: pd.DataFrame, n_epochs: int = 40, *, seed: int = 0, metric: str = "top1"
) -> pd.DataFrame:
    """history.parquet-style rows: a saturating top-1 curve per trial ending at its final value."""
    rng = np.random.default_rng(seed)
    rows = []
    done = results[results["status"] == TERMINATED]
    epochs = np.arange(1, n_epochs + 1)
    for r in done.itertuples(index=False):
        final = getattr(r, metric)
        curve = final * (1 - np.exp(-epochs / (n_epochs / 5))) / (1 - np.exp(-5.0))
        curve = curve + 0.3 * rng.standard_normal(n_epochs) * (1 - epochs / n_epochs)
        lr = 5e-3 * 0.5 * (1 + np.cos(np.pi * (epochs - 1) / n_epochs))
        for e, t1, l in zip(epochs, curve, lr):
            rows.append(dict(experiment=r.experiment, trial_id=r.trial_id, epoch=int(e), lr=l,
                             train_loss=0.2 + 2.0 * np.exp(-e / 8), top1=t1,
                             top5=min(99.9, t1 + 15), eval_loss=0.9 + 2.0 * np.exp(-e / 8),
                             n_val=r.n_val, epoch_seconds=170.0, images_per_second=7500.0))
    return pd.DataFrame(rows)


#: Targets of :func:`synthetic_transfer`: name -> (validation images, mean top-1), Table 5's shape.
TRANSFER_TARGETS = {"flowers": (1020, 97.5), "cars": (8041, 92.0), "cifar100": (10_000, 86.0)}


def synthetic_transfer(
    recipes: Mapping[str, float] | None = None,
    targets: Mapping[str, tuple[int, float]] | None = None,
    *,
    n_models: int | Mapping[str, int] = 3,
    n_finetunes: int | Callable[[np.random.Generator], int] = 3,
    between_std: float = 0.3,
    within_std: float = 0.2,
    target_correlation: float = 0.0,
    seed: int = 0,
    experiment: str = "synthetic_transfer",
) -> pd.DataFrame:
    """A transfer results table (``rsb-sweep transfer``'s rows): for each pretraining recipe
    (``recipes``: name -> shift of the mean), ``n_models`` pretrained models (their effect
    N(0, between_std²) on every target), each fine-tuned ``n_finetunes`` times on each target
    (``targets``: name -> (n_val, mean top-1); the fine-tuning noise N(0, within_std²)), top-1
    rounded to what n_val images give. ``n_finetunes`` may be a function of the generator, for
    unbalanced designs. ``target_correlation``: the correlation of one model's effects between
    two targets (a part of the model's effect shared by every target; 0: independent)."""
    if not 0 <= target_correlation <= 1:
        raise ValueError(f"target_correlation must be in [0, 1], got {target_correlation}.")
    rng = np.random.default_rng(seed)
    recipes = dict(recipes) if recipes is not None else {"a1": 0.2, "a2": 0.0, "a3": -0.4}
    targets = dict(targets) if targets is not None else TRANSFER_TARGETS
    rows = []
    for r, shift in recipes.items():
        k = n_models[r] if isinstance(n_models, Mapping) else n_models
        for m in range(k):
            effect = between_std * rng.standard_normal(len(targets))
            if target_correlation:  # the shared part, drawn after the rest: the default stream is unchanged
                shared = rng.standard_normal()
                effect = np.sqrt(1 - target_correlation) * effect + between_std * np.sqrt(target_correlation) * shared
            for t, (name, (n_val, mean)) in enumerate(targets.items()):
                n_ft = n_finetunes(rng) if callable(n_finetunes) else n_finetunes
                for s in range(n_ft):
                    acc = mean + shift + effect[t] + within_std * rng.standard_normal()
                    rows.append(_transfer_row(experiment, r, m, name, s, acc, n_val))
    return with_contract_dtypes(pd.DataFrame(rows))


def _transfer_row(experiment: str, recipe: str, m: int, target: str, s: int, acc: float, n_val: int) -> dict:
    acc = float(np.round(acc / 100 * n_val) / n_val * 100)
    hp = {k: v for k, v in A2.items() if k not in ("recipe", "model", "dataset")}
    return dict(experiment=experiment, trial_id=f"ft_{recipe}_{m:02d}_{target}_{s:02d}", status=TERMINATED,
                recipe="ft", model="resnet50", dataset=target, seed=s, seed_init=s, seed_data=s, seed_aug=s,
                **hp, top1=acc, n_val=n_val, pretrain_trial=f"src_{recipe}_{m:02d}", pretrain_recipe=recipe,
                pretrain_seed=m, pretrain_dataset="imagenet")
