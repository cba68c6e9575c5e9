"""Per-image test-set noise (Jordan 2023) and the paired test-set bootstrap, against direct simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis as A
from analysis import AnalysisError
from analysis.contract import PREDICTION_COLUMNS

FAST = dict(n_resamples=999)


def _simulate(rng, p, k, shift=None):
    """k trials x n images of independent Bernoulli(p_i [+ the trial's shift]) correctness."""
    rate = p[None, :] if shift is None else np.clip(p[None, :] + shift[:, None], 0, 1)
    return rng.random((k, p.size)) < rate


def _table(matrices: dict, eval_set="val", crop_pct=0.95, test_res=32):
    """Predictions rows for {trial_id: correctness vector}; targets 0, pred 0 when correct else 1."""
    frames = []
    for trial_id, correct in matrices.items():
        n = correct.size
        frames.append(pd.DataFrame({
            "trial_id": trial_id, "eval_set": eval_set, "crop_pct": crop_pct, "test_res": test_res,
            "image": np.arange(n), "target": np.zeros(n, int), "pred": (~correct).astype(int), "correct": correct,
        }))
    return pd.concat(frames, ignore_index=True)


def test_components_match_direct_formulas():
    rng = np.random.default_rng(0)
    c = _simulate(rng, rng.uniform(0.3, 0.9, 200), k=7)
    k, n = c.shape
    res = A.example_noise_components(c, **FAST)
    acc = 100 * c.mean(axis=1)
    p = c.mean(axis=0)
    assert res.observed_var == pytest.approx(np.var(acc, ddof=1), rel=1e-12)
    assert res.independent_example_var == pytest.approx(1e4 * k / (k - 1) * np.sum(p * (1 - p)) / n**2, rel=1e-12)
    cov = np.cov(c.T.astype(float))  # images x images, ddof=1 over trials
    off_diagonal = cov.sum() - np.trace(cov)
    assert res.distribution_var == pytest.approx(1e4 * off_diagonal / (n * (n - 1)), rel=1e-9, abs=1e-12)
    assert res.mean_top1 == pytest.approx(acc.mean())
    assert res.test_sampling_std == pytest.approx(100 * p.std() / np.sqrt(n), rel=0.1)


def test_independent_errors_leave_no_distribution_variance():
    """Known p_i, independent trials: the per-image part is the whole variance, the rest covers 0."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0.2, 0.95, 400)
    truth = 1e4 * np.sum(p * (1 - p)) / p.size**2
    runs = [A.example_noise_components(_simulate(rng, p, k=10), random_state=r, **FAST) for r in range(60)]
    observed = np.mean([r.observed_var for r in runs])
    independent = np.mean([r.independent_example_var for r in runs])
    assert independent == pytest.approx(truth, rel=0.03)
    assert observed == pytest.approx(independent, rel=0.15)
    dist = np.array([r.distribution_var for r in runs])
    assert abs(dist.mean()) < 3 * dist.std() / np.sqrt(dist.size)
    covered = np.mean([r.distribution_var_ci.low <= 0 <= r.distribution_var_ci.high for r in runs])
    assert covered >= 0.85  # measured 0.93-0.97 at 5-20 trials over 150 runs (docs/analysis/per_image_noise.md)


def test_per_trial_shift_is_distribution_variance():
    """Every image's rate moves by ±0.1 with the trial: Var(A_D) = 0.01, i.e. 100 points²."""
    rng = np.random.default_rng(2)
    p = rng.uniform(0.2, 0.8, 400)
    shift = rng.choice([-0.1, 0.1], size=30)
    res = A.example_noise_components(_simulate(rng, p, k=30, shift=shift), **FAST)
    true_var = 1e4 * np.var(shift, ddof=1)  # the drawn shifts' own variance
    assert res.distribution_var_ci.low > 0
    assert res.distribution_var_ci.low <= true_var <= res.distribution_var_ci.high
    assert res.distribution_var > 10 * res.independent_example_var


def test_too_few_trials_say_why():
    res = A.example_noise_components(np.array([[True, False, True]]), **FAST)
    assert np.isnan(res.observed_var) and np.isnan(res.distribution_var_ci.low) and "at least 2 trials" in res.note
    two = A.example_noise_components(np.array([[True, False, True], [True, True, False]]), **FAST)
    assert np.isfinite(two.distribution_var_ci.low) and two.note == ""


def test_example_noise_table_groups_by_config_and_evaluation():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.3, 0.9, 120)
    mats = {"lr1": _simulate(rng, p, 4), "lr2": _simulate(rng, p, 5)}
    rows, results = [], []
    for config, m in mats.items():
        for t, correct in enumerate(m):
            tid = f"{config}_s{t}"
            rows.append(_table({tid: correct}))
            rows.append(_table({tid: correct[:60]}, eval_set="v2"))
            results.append({"trial_id": tid, "lr": 1e-3 if config == "lr1" else 2e-3, "status": "TERMINATED"})
    preds, results = pd.concat(rows, ignore_index=True), pd.DataFrame(results)
    table = A.example_noise(preds, results, by="lr", **FAST)
    assert list(table.columns[:4]) == ["lr", "eval_set", "crop_pct", "test_res"]
    assert len(table) == 4
    row = table[(table.lr == 2e-3) & (table.eval_set == "val")].iloc[0]
    direct = A.example_noise_components(mats["lr2"], **FAST)
    assert (row.n_images, row.n_trials) == (120, 5)
    assert row.observed_var == pytest.approx(direct.observed_var)
    assert row.distribution_var_ci_low == pytest.approx(direct.distribution_var_ci.low)
    assert table[table.eval_set == "v2"].n_images.tolist() == [60, 60]
    assert len(A.example_noise(preds, **FAST)) == 2  # without results: one group per evaluation

    with pytest.raises(AnalysisError, match="pass results="):
        A.example_noise(preds, by="lr")
    with pytest.raises(AnalysisError, match="not in the results table"):
        A.example_noise(preds, results.iloc[1:], by="lr")
    with pytest.raises(AnalysisError, match="different set of images"):
        A.example_noise(preds[~((preds.trial_id == "lr1_s0") & (preds.image == 5))], **FAST)


def test_load_predictions_reads_file_dataset_and_experiment(tmp_path):
    rng = np.random.default_rng(4)
    a, b = _table({"t1": rng.random(30) < 0.7}), _table({"t2": rng.random(30) < 0.7})
    (tmp_path / "exp" / "predictions.parquet").mkdir(parents=True)
    a.to_parquet(tmp_path / "exp" / "predictions.parquet" / "t1.parquet", index=False)
    b.to_parquet(tmp_path / "exp" / "predictions.parquet" / "t2.parquet", index=False)
    pd.concat([b, a]).to_parquet(tmp_path / "one.parquet", index=False)
    from_dir = A.load_predictions(tmp_path / "exp")
    from_file = A.load_predictions(tmp_path / "one.parquet")
    assert tuple(from_dir.columns) == PREDICTION_COLUMNS
    pd.testing.assert_frame_equal(from_dir, from_file)
    assert from_dir.dtypes.astype(str).to_dict() == A.PREDICTION_SCHEMA
    assert len(from_dir) == 60


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.drop(columns="pred"), "pred"),
    (lambda d: pd.concat([d, d.iloc[:1]]), "repeat"),
    (lambda d: d.assign(correct=~d.correct), "disagrees"),
])
def test_load_predictions_rejects_bad_tables(tmp_path, damage, message):
    bad = damage(_table({"t1": np.array([True, False, True])}))
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    with pytest.raises(AnalysisError, match=message):
        A.load_predictions(tmp_path / "bad.parquet")
    with pytest.raises(AnalysisError, match="does not exist"):
        A.load_predictions(tmp_path / "nowhere")


def test_paired_image_bootstrap_covers_the_population_difference():
    """Test images drawn afresh from a large population: the CI covers A-B's population gap."""
    rng = np.random.default_rng(5)
    pop_a = rng.uniform(0.3, 0.95, 20000)
    pop_b = np.clip(pop_a - rng.normal(0.02, 0.1, pop_a.size), 0, 1)
    truth = 100 * (pop_a.mean() - pop_b.mean())
    covered = []
    for r in range(30):
        images = rng.choice(pop_a.size, 300, replace=False)
        res = A.paired_image_bootstrap(_simulate(rng, pop_a[images], 5), _simulate(rng, pop_b[images], 5),
                                       random_state=r, **FAST)
        covered.append(res.confidence_interval.low <= truth <= res.confidence_interval.high)
    assert np.mean(covered) >= 0.8
    assert res.statistic == pytest.approx(res.mean_a - res.mean_b)
    assert res.method == "BCa" and res.n_images == 300 and (res.n_trials_a, res.n_trials_b) == (5, 5)


def test_paired_image_bootstrap_pairs_images_and_aligns_frames():
    rng = np.random.default_rng(6)
    p = rng.uniform(0.05, 0.95, 400)
    a = _simulate(rng, p, 5)
    b = a.copy()
    b[:, :8] = False  # B loses 8 images A gets right in every trial: a small, consistent gap
    a[:, :8] = True
    paired = A.paired_image_bootstrap(a, b, **FAST)
    assert paired.statistic == pytest.approx(2.0)
    assert paired.excludes_zero  # image-level pairing removes the images' own difficulty
    frame_a = pd.DataFrame(a, columns=np.arange(400))
    frame_b = pd.DataFrame(b, columns=np.arange(400)).iloc[:, ::-1]  # same images, other column order
    assert A.paired_image_bootstrap(frame_a, frame_b, **FAST).statistic == pytest.approx(2.0)
    with pytest.raises(AnalysisError, match="different images"):
        A.paired_image_bootstrap(frame_a, frame_b.iloc[:, 1:], **FAST)
    with pytest.raises(AnalysisError, match="same images"):
        A.paired_image_bootstrap(a, b[:, 1:], **FAST)


def test_correctness_matrix_picks_one_evaluation():
    rng = np.random.default_rng(7)
    val = _table({"a": rng.random(20) < 0.5, "b": rng.random(20) < 0.5})
    wide = pd.concat([val, _table({"a": rng.random(20) < 0.5}, crop_pct=1.0)], ignore_index=True)
    m = A.correctness_matrix(wide, trial_ids=["b", "a"], crop_pct=0.95)
    assert m.shape == (2, 20) and m.index.tolist() == ["a", "b"]
    np.testing.assert_array_equal(m.loc["b"].to_numpy(), val[val.trial_id == "b"].correct.to_numpy())
    with pytest.raises(AnalysisError, match="found 2"):
        A.correctness_matrix(wide, trial_ids=["a"])
    with pytest.raises(AnalysisError, match="no predictions for trials c"):
        A.correctness_matrix(wide, trial_ids=["c"])
