"""Transfer (issue 20, Table 5): the nested variance split, its test-set-noise parts and rliable's
probability of improvement, on synthetic nested data with known components."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm

import analysis as A
from analysis.errors import AnalysisError
from analysis.stats.improvement import pairwise_improvement, probability_of_improvement
from analysis.stats.nested import nested_example_noise, nested_variance
from analysis.synthetic import synthetic_transfer


def _nested(rng, sb, sw, models=3, recipes=2, finetunes=lambda rng: 3):
    y, m, r = [], [], []
    for i in range(recipes):
        for j in range(models):
            b = rng.normal(0, sb)
            for _ in range(finetunes(rng)):
                y.append(50 + 5 * i + b + rng.normal(0, sw))
                m.append(f"r{i}m{j}")
                r.append(f"r{i}")
    return np.array(y), m, r


@pytest.mark.parametrize("unbalanced", [False, True])
def test_nested_variance_covers_known_components(unbalanced):
    """Coverage of the 95 % intervals over 150 simulated studies (3 models × 2 recipes, 3 or 2–5
    fine-tunings each), and the mean of the unfloored estimate near the truth."""
    rng = np.random.default_rng(7)
    sb, sw = 0.5, 0.3
    draw = (lambda g: int(g.integers(2, 6))) if unbalanced else (lambda g: 3)
    hits_b = hits_w = hits_s = 0
    raws = []
    for i in range(150):
        y, m, r = _nested(rng, sb, sw, finetunes=draw)
        v = nested_variance(y, m, r, n_draws=800, random_state=i)
        hits_b += v.between_ci.low <= sb**2 <= v.between_ci.high
        hits_w += v.within_ci.low <= sw**2 <= v.within_ci.high
        hits_s += v.share_between_ci.low <= sb**2 / (sb**2 + sw**2) <= v.share_between_ci.high
        raws.append(v.between_raw)
    for hits in (hits_b, hits_w, hits_s):
        assert 0.89 <= hits / 150 <= 0.995
    assert abs(np.mean(raws) - sb**2) < 3 * np.std(raws) / np.sqrt(150)


def test_nested_variance_matches_anova_and_notes_negative():
    """The mean squares are statsmodels' nested ANOVA's; a negative estimate is kept raw and noted."""
    rng = np.random.default_rng(3)
    y, m, r = _nested(rng, 0.4, 0.3, finetunes=lambda g: int(g.integers(2, 5)))
    v = nested_variance(y, m, r)
    d = pd.DataFrame({"y": y, "m": m, "r": r})
    model_mean, recipe_mean = d.groupby("m")["y"].transform("mean"), d.groupby("r")["y"].transform("mean")
    assert v.ms_between == pytest.approx(((model_mean - recipe_mean) ** 2).sum() / v.df_between, rel=1e-9)
    assert v.ms_within == pytest.approx(((d["y"] - model_mean) ** 2).sum() / v.df_within, rel=1e-9)
    one = d[d["r"] == "r0"]  # one recipe: statsmodels' one-way ANOVA is the oracle
    tab = anova_lm(ols("y ~ C(m)", data=one).fit())
    w = nested_variance(one["y"], one["m"])
    assert w.ms_between == pytest.approx(tab.loc["C(m)", "mean_sq"], rel=1e-9)
    assert w.ms_within == pytest.approx(tab.loc["Residual", "mean_sq"], rel=1e-9)
    assert v.between_raw == pytest.approx((v.ms_between - v.ms_within) / v.n0)
    assert not v.balanced and "unbalanced" in v.to_dict()["notes"]
    same = np.repeat([0.0, 0.3, -0.3], 4) + np.tile([1.0, -1.0, 0.5, -0.5], 3)  # means closer than seeds
    neg = nested_variance(same, np.repeat(["a", "b", "c"], 4))
    assert neg.between_raw < 0 and neg.between == 0 and "negative" in neg.to_dict()["notes"]
    assert neg.between_ci.low == 0 and neg.between_ci.high > 0


def test_nested_variance_refuses_unidentifiable_designs():
    with pytest.raises(AnalysisError, match="at least 2 pretrained models"):
        nested_variance([1, 2, 3, 4], ["a", "a", "b", "b"], ["x", "x", "y", "y"])
    with pytest.raises(AnalysisError, match="2 fine-tunings"):
        nested_variance([1, 2, 3], ["a", "b", "c"])
    with pytest.raises(AnalysisError, match="two pretraining recipes"):
        nested_variance([1, 2, 3, 4], ["a", "a", "b", "b"], ["x", "y", "y", "y"])


def test_nested_example_noise_agrees_with_example_noise():
    """The within part is the df-pooled independent-example variance of A.example_noise run on each
    pretrained model's fine-tunings; the components are nested_variance's on the same top-1."""
    rng = np.random.default_rng(5)
    n_img, models = 400, np.repeat(["m0", "m1", "m2", "m3"], [3, 4, 2, 3])
    p = 1 / (1 + np.exp(-(rng.normal(1, 1.5, n_img)[None, :] + rng.normal(0, 0.4, (4, n_img)))))
    row = pd.factorize(models)[0]
    correct = rng.random((len(models), n_img)) < p[row]
    noise = nested_example_noise(correct, models)
    top1 = 100 * correct.mean(axis=1)
    v = nested_variance(top1, models)
    assert noise.between == pytest.approx(v.between_raw) and noise.within == pytest.approx(v.within)
    ids = [f"t{i}" for i in range(len(models))]
    preds = pd.DataFrame({"trial_id": np.repeat(ids, n_img), "eval_set": "val", "crop_pct": 0.95, "test_res": 224,
                          "image": np.tile(np.arange(n_img), len(models)), "target": 0,
                          "pred": np.where(correct.ravel(), 0, 1),
                          "correct": correct.ravel()})
    res = pd.DataFrame({"trial_id": ids, "model_": models})
    ex = A.example_noise(preds, results=res, by="model_")
    k = ex["n_trials"].to_numpy()
    pooled = np.sum((k - 1) * ex["independent_example_var"].to_numpy()) / np.sum(k - 1)
    assert noise.within_example == pytest.approx(pooled, rel=1e-9)
    assert 0 < noise.within_example_share


def test_probability_of_improvement_direct_and_balanced_over_tasks():
    rng = np.random.default_rng(0)
    xs = [rng.normal(1, 1, 3), rng.normal(0, 1, 100), np.array([2.0, 2.0])]
    ys = [rng.normal(0, 1, 4), rng.normal(0, 1, 100), np.array([2.0, 1.0])]
    res = probability_of_improvement(xs, ys, tasks=["a", "b", "c"], n_resamples=1000)
    direct = [np.mean([(a > b) + 0.5 * (a == b) for a in x for b in y]) for x, y in zip(xs, ys)]
    assert res.per_task == pytest.approx(direct)
    mwu = [stats.mannwhitneyu(x, y).statistic / (len(x) * len(y)) for x, y in zip(xs, ys)]
    assert res.per_task == pytest.approx(mwu)
    assert res.statistic == pytest.approx(np.mean(direct))  # each task weighs 1/3, whatever its size
    assert res.confidence_interval.low <= res.statistic <= res.confidence_interval.high
    assert res.few_runs and res.n_tasks == 3
    assert pairwise_improvement([1, 2], [1, 2]) == 0.5
    with pytest.raises(AnalysisError, match="same tasks"):
        probability_of_improvement(xs, ys[:2])


def test_probability_of_improvement_against_rliable():
    rly = pytest.importorskip("rliable.metrics")
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.3, 1, (5, 4)), rng.normal(0, 1, (5, 4))
    res = probability_of_improvement(list(x.T), list(y.T), n_resamples=4000)
    assert res.statistic == pytest.approx(rly.probability_of_improvement(x, y))
    library = pytest.importorskip("rliable.library")
    _, ci = library.get_interval_estimates({"xy": [x, y]}, rly.probability_of_improvement, reps=4000)
    assert np.asarray(res.confidence_interval) == pytest.approx(np.ravel(ci["xy"]), abs=0.03)


def test_transfer_config_columns_and_dtypes():
    """pretrain_recipe and dataset are what is compared; the source's trial and seed never are,
    nor a column the target's preset fixes (epochs per target)."""
    df = synthetic_transfer()
    df["epochs"] = df["dataset"].map({"flowers": 10, "cars": 20, "cifar100": 30}).astype("Int64")
    assert A.config_columns(df) == ["dataset", "pretrain_recipe"]
    assert str(df["pretrain_seed"].dtype) == "Int64" and str(df["pretrain_trial"].dtype) == "string"
    one = df[df["dataset"] == "cars"]
    assert A.config_columns(one) == ["pretrain_recipe"]


def test_transfer_improvement_redraws_each_model_once_on_every_target():
    """The same pretrained models are fine-tuned on every target: a target that is a copy of another
    adds no information, so its interval is the one target's (a per-target redraw narrows it)."""
    from analysis.report.sections_transfer import transfer_section

    one = synthetic_transfer({"a": 0.2, "b": 0.0}, {"cars": (100000, 90.0)}, n_models=6, seed=2)
    two = pd.concat([one, one.assign(dataset="cars2", trial_id=one["trial_id"] + "_2")], ignore_index=True)
    p1, p2 = A.transfer_improvement(one, "a", "b"), A.transfer_improvement(two, "a", "b")
    assert p2.statistic == pytest.approx(p1.statistic) and p2.tasks == ("cars", "cars2")
    assert tuple(p2.confidence_interval) == pytest.approx(tuple(p1.confidence_interval))
    assert p2.method.startswith("cluster")
    said = " ".join(transfer_section(two).sentences)
    assert "redraws each recipe's pretrained models once" in said
    # a model without one of the targets: redrawn per target, and the result and sentence say so
    lacks = two[~((two["pretrain_trial"] == "src_a_00") & (two["dataset"] == "cars2"))]
    p3 = A.transfer_improvement(lacks, "a", "b")
    assert p3.n_x == (6, 5) and "separately" in p3.method
    assert "may be too narrow" in " ".join(transfer_section(lacks).sentences)


def test_synthetic_transfer_shares_model_effects_across_targets():
    df = synthetic_transfer({"a": 0.0}, {f"t{i}": (10**6, 80.0) for i in range(2)}, n_models=300,
                            n_finetunes=1, within_std=0.0, target_correlation=0.9, seed=1)
    wide = df.pivot(index="pretrain_trial", columns="dataset", values="top1")
    assert np.corrcoef(wide["t0"], wide["t1"])[0, 1] == pytest.approx(0.9, abs=0.05)
    assert wide.std().to_numpy() == pytest.approx([0.3, 0.3], abs=0.04)
    with pytest.raises(ValueError, match="target_correlation"):
        synthetic_transfer(target_correlation=1.5)


def transfer_improvement_coverage(n_studies: int, rho: float, n_models: int, *, n_resamples: int = 1000):
    """(cluster, per-target) coverage of the 95 % probability-of-improvement interval over seeded
    synthetic studies: 2 recipes 0.3 points apart, 5 targets, σ_b 0.5, σ_w 0.2, 3 fine-tunings, a
    model's effects correlated ``rho`` between targets (docs/analysis/README.md, "Transfer")."""
    from analysis.groups.transfer import model_means

    targets = {f"t{i}": (100_000, 80.0 + i) for i in range(5)}
    sb, sw, nft, d = 0.5, 0.2, 3, 0.3
    truth = stats.norm.cdf(d / np.sqrt(2 * (sb**2 + sw**2 / nft)))
    hits = np.zeros(2)
    for k in range(n_studies):
        df = synthetic_transfer({"a": d, "b": 0.0}, targets, n_models=n_models, n_finetunes=nft, between_std=sb,
                                within_std=sw, target_correlation=rho, seed=1000 + k)
        m = model_means(df)
        side = [[m.loc[(m["dataset"] == t) & (m["pretrain_recipe"] == r), "top1"].to_numpy() for t in sorted(targets)]
                for r in ("a", "b")]
        for j, p in enumerate((A.transfer_improvement(df, "a", "b", n_resamples=n_resamples, random_state=k),
                               probability_of_improvement(*side, n_resamples=n_resamples, random_state=k))):
            hits[j] += p.confidence_interval.low <= truth <= p.confidence_interval.high
    return tuple(hits / n_studies)


@pytest.mark.slow
def test_transfer_improvement_covers_with_models_shared_across_targets():
    """100 studies, 10 models a side, correlation 0.9: 15–40 s on the shared 2-core machine."""
    cluster, per_target = transfer_improvement_coverage(100, 0.9, 10)
    assert cluster >= 0.85 and per_target < 0.8
