"""A transfer study over a results table (DESIGN.md "Studies built on other studies"): rows of
fine-tunings, ``dataset`` their target, ``pretrain_trial`` the pretrained model they start from.

The design is nested: fine-tuning seeds within each pretrained model. Recipe against recipe, the
unit of replication is therefore the *pretrained model*, not the fine-tuning run: fine-tunings of
one model share its pretraining seed, so counting them as independent would inflate every test.
:func:`model_means` averages the fine-tunings of each model first; :func:`transfer_comparisons`
and :func:`transfer_improvement` use those means. :func:`transfer_variance` uses every run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from ..contract import MAIN_SET, PRETRAIN_RECIPE, PRETRAIN_TRIAL, TERMINATED
from ..errors import AnalysisError, require_columns
from ..load.predictions import correctness_matrix
from ..stats.arrays import N_RESAMPLES
from ..stats.improvement import ProbabilityOfImprovement, clustered_improvement, probability_of_improvement
from ..stats.nested import component_std, nested_example_noise, nested_variance
from .comparisons import Arm, compare_arms
from .frames import StatusSpec, describe_exclusions, split_usable
from .noise import own_evaluation

#: The columns a transfer table must have.
TRANSFER_REQUIRED = ("dataset", PRETRAIN_RECIPE, PRETRAIN_TRIAL)
#: The interval's method when some pretrained model lacks a target (:func:`transfer_improvement`).
PER_TARGET_METHOD = ("stratified bootstrap per target (rliable): the targets do not have the same pretrained "
                     "models, so each target's models are redrawn separately")
#: The reason of a usable row without a target, a pretraining recipe or a pretrained model.
NO_TRANSFER_KEYS = "no dataset / pretrain_recipe / pretrain_trial"
#: The label of a target's row pooled over pretraining recipes in :func:`transfer_variance`.
ALL_RECIPES = "all"


def transfer_rows(df: pd.DataFrame, metric: str = "top1", status: StatusSpec = TERMINATED
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(usable fine-tunings, excluded rows with their ``reason``) of a transfer table; raises
    AnalysisError naming the missing transfer columns."""
    require_columns(df, TRANSFER_REQUIRED, "a transfer analysis (rows written by `rsb-sweep transfer`)")
    usable, excluded = split_usable(df, metric, status)
    lost = usable[list(TRANSFER_REQUIRED)].isna().any(axis=1)
    if lost.any():  # a fine-tuning that does not say its target or model: counted, not silently dropped
        excluded = pd.concat([excluded, usable.loc[lost].assign(reason=NO_TRANSFER_KEYS)])
        usable = usable.loc[~lost].copy()
    if "recipe" in usable.columns and usable["recipe"].nunique(dropna=True) > 1:
        raise AnalysisError(
            f"the fine-tunings use {usable['recipe'].nunique()} fine-tuning recipes "
            f"({', '.join(sorted(map(str, usable['recipe'].dropna().unique())))}): the transfer analysis compares "
            "pretraining recipes under one fine-tuning recipe; analyse each fine-tuning recipe's rows apart "
            "(filter the results on `recipe`).")
    for col in TRANSFER_REQUIRED:
        usable[col] = usable[col].astype(str)
    return usable, excluded


def model_means(df: pd.DataFrame, metric: str = "top1", *, status: StatusSpec = TERMINATED) -> pd.DataFrame:
    """One row per (target, pretraining recipe, pretrained model): the mean ``metric`` of its
    fine-tunings and how many (``n_finetunes``); ``trial_id`` is the pretrained model."""
    usable, _ = transfer_rows(df, metric, status)
    keys = ["dataset", PRETRAIN_RECIPE, PRETRAIN_TRIAL]
    out = usable.groupby(keys, sort=True)[metric].agg(["mean", "size"]).reset_index()
    out = out.rename(columns={"mean": metric, "size": "n_finetunes"})
    out["trial_id"] = out[PRETRAIN_TRIAL]
    out["status"] = TERMINATED
    return out


def transfer_variance(
    df: pd.DataFrame,
    metric: str = "top1",
    *,
    predictions: pd.DataFrame | None = None,
    status: StatusSpec = TERMINATED,
    confidence: float = 0.95,
    n_draws: int = 10_000,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Per target, the between-pretrained-model and within (fine-tuning seed) variance
    (:func:`analysis.stats.nested.nested_variance`): one row pooled over the pretraining
    recipes (``pretrain_recipe`` = ``all``, each recipe keeping its own mean), then one per
    recipe. With ``predictions`` (the fine-tunings' per-image table), the part of each
    component that is test-set noise (:func:`~analysis.stats.nested.nested_example_noise`,
    on the main set). A row that cannot be estimated keeps its reason in ``notes``.
    """
    usable, excluded = transfer_rows(df, metric, status)
    main = own_evaluation(predictions, df, MAIN_SET) if predictions is not None and len(predictions) else None
    rows = []
    for target, t in usable.groupby("dataset", sort=True):
        parts = [(ALL_RECIPES, t)] + ([] if t[PRETRAIN_RECIPE].nunique() < 2
                                      else list(t.groupby(PRETRAIN_RECIPE, sort=True)))
        for recipe, g in parts:
            row: dict[str, Any] = {"dataset": target, PRETRAIN_RECIPE: recipe, "metric": metric, "n": len(g),
                                   "n_models": g[PRETRAIN_TRIAL].nunique()}
            try:
                v = nested_variance(g[metric], g[PRETRAIN_TRIAL], g[PRETRAIN_RECIPE], confidence=confidence,
                                    n_draws=n_draws, random_state=random_state)
            except AnalysisError as e:
                rows.append({**row, "notes": str(e)})
                continue
            row.update({k: val for k, val in v.to_dict().items() if k not in ("n", "n_models")})
            row.update(between_std=component_std(v.between), within_std=component_std(v.within))
            if main is not None and metric == "top1":
                row.update(_noise_columns(main, g))
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["excluded"] = describe_exclusions(excluded["reason"]) if len(excluded) else ""
    return out


def _noise_columns(main: pd.DataFrame, g: pd.DataFrame) -> dict[str, Any]:
    """The test-set-noise parts of one group's components, or a note saying why not."""
    ids = g["trial_id"].astype(str)
    have = ids.isin(set(main["trial_id"].astype(str)))
    if not have.all():
        return {"noise_note": f"{int((~have).sum())} fine-tunings have no predictions"}
    try:
        c = correctness_matrix(main, trial_ids=ids, what=f"target {g['dataset'].iloc[0]}")
        c = c.loc[list(ids)]
        noise = nested_example_noise(c.to_numpy(), g[PRETRAIN_TRIAL], g[PRETRAIN_RECIPE])
    except AnalysisError as e:
        return {"noise_note": str(e)}
    return {"n_images": noise.n_images, "between_example": noise.between_example,
            "within_example": noise.within_example, "between_example_share": noise.between_example_share,
            "within_example_share": noise.within_example_share, "noise_note": noise.note}


def recipes(df: pd.DataFrame) -> list[str]:
    """The pretraining recipes of a transfer table, sorted."""
    return sorted(df[PRETRAIN_RECIPE].dropna().astype(str).unique())


def transfer_comparisons(
    df: pd.DataFrame,
    baseline: str | None = None,
    metric: str = "top1",
    *,
    status: StatusSpec = TERMINATED,
    gamma: float = 0.75,
    confidence: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Every pretraining recipe against ``baseline`` (default: the first, sorted) on each target,
    one Holm family over all targets and recipes (:func:`analysis.groups.comparisons.compare_arms`,
    the comparisons of the report), on the pretrained models' means (:func:`model_means`): ``n_a``
    and ``n_b`` count pretrained models. Columns ``dataset`` and ``pretrain_recipe`` lead."""
    means = model_means(df, metric, status=status)
    names = recipes(means)
    base = names[0] if baseline is None else str(baseline)
    if base not in names:
        raise AnalysisError(f"baseline pretraining recipe {base!r} is not in the table ({', '.join(names)}).")
    empty = means.iloc[0:0]
    arms = []
    for target, t in means.groupby("dataset", sort=True):
        b = t[t[PRETRAIN_RECIPE] == base]
        for r in names:
            a = t[t[PRETRAIN_RECIPE] == r]
            if r != base and len(a) and len(b):
                arms.append(Arm(a=a, b=b, name_a=f"{r} on {target}", name_b=f"{base} on {target}",
                                key={"dataset": target, PRETRAIN_RECIPE: r}, excluded=empty))
    if not arms:
        raise AnalysisError("transfer_comparisons: no target has two pretraining recipes to compare.")
    return compare_arms(arms, ["dataset", PRETRAIN_RECIPE], metric, gamma=gamma, confidence=confidence,
                        n_resamples=n_resamples, random_state=random_state)


def transfer_improvement(
    df: pd.DataFrame,
    a: str,
    b: str,
    metric: str = "top1",
    *,
    status: StatusSpec = TERMINATED,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | None = 0,
) -> ProbabilityOfImprovement:
    """rliable's probability that a model pretrained with recipe ``a`` beats one pretrained with
    ``b`` after fine-tuning, averaged over the targets that have both (each target weighs the
    same). The same pretrained models are fine-tuned on every target, so the interval is a cluster
    bootstrap (:func:`analysis.stats.improvement.clustered_improvement`: each recipe's models
    redrawn once, on every target); when the targets do not have the same models, rliable's
    per-target stratified bootstrap (:func:`~analysis.stats.improvement.probability_of_improvement`)
    instead, its ``method`` saying so."""
    means = model_means(df, metric, status=status)
    tasks = sorted(set(means.loc[means[PRETRAIN_RECIPE] == a, "dataset"])
                   & set(means.loc[means[PRETRAIN_RECIPE] == b, "dataset"]))
    if not tasks:
        raise AnalysisError(f"no target has fine-tunings of both {a!r} and {b!r}.")
    sides = [means[(means[PRETRAIN_RECIPE] == r) & means["dataset"].isin(tasks)]
             .pivot(index=PRETRAIN_TRIAL, columns="dataset", values=metric).reindex(columns=tasks) for r in (a, b)]
    opts = dict(tasks=tasks, confidence=confidence, n_resamples=n_resamples, random_state=random_state)
    if all(s.notna().all().all() for s in sides):
        return clustered_improvement(sides[0].to_numpy(), sides[1].to_numpy(), **opts)
    poi = probability_of_improvement([sides[0][t].dropna().to_numpy() for t in tasks],
                                     [sides[1][t].dropna().to_numpy() for t in tasks], **opts)
    return replace(poi, method=PER_TARGET_METHOD)


def recipe_pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    """Every (a, b) pair of pretraining recipes with a before b in sorted order."""
    names = recipes(df)
    return [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]

