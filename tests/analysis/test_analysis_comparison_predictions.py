"""Comparisons with both error bars: seed noise (over trials) and test-set noise (over images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis as A
from analysis.sections import comparisons_section, find_predictions, summary_section
from analysis.synthetic import synthetic_results

N_IMG = 400


def _study(extra_right: int, seeds: int = 20, seed: int = 0):
    """Two LRs on one 400-image set: most images fixed (right or wrong), 4 coin flips per trial;
    lr 3e-3 also gets ``extra_right`` images right that lr 5e-3 always misses."""
    rng = np.random.default_rng(seed)
    fixed = rng.random(N_IMG) < 0.8
    flip = np.arange(4)
    wins = np.arange(4, 4 + extra_right)
    df = synthetic_results(seeds, [dict(lr=5e-3), dict(lr=3e-3)], seed=seed, n_val=N_IMG)
    rows, mats = [], {}
    for tid, lr in zip(df["trial_id"], df["lr"]):
        c = fixed.copy()
        c[flip] = rng.random(flip.size) < 0.5
        c[wins] = lr == 3e-3
        mats[tid] = c
        rows.append(pd.DataFrame({"trial_id": tid, "eval_set": "val", "crop_pct": 0.95,
                                  "test_res": 224, "image": np.arange(N_IMG),
                                  "target": np.zeros(N_IMG, int), "pred": (~c).astype(int),
                                  "correct": c}))
    df["top1"] = [100 * mats[t].mean() for t in df["trial_id"]]
    return df, pd.concat(rows, ignore_index=True), mats


def test_compare_all_adds_the_test_set_error_bar():
    # 1 extra image of 400: beyond seed noise, but a new sample of test images could lose it
    df, pred, _ = _study(extra_right=1)
    c = A.compare_all(df, "lr=0.005", by="lr", predictions=pred, n_resamples=999).iloc[0]
    assert c.verdict == "a_better" and c.test_set_verdict == "below_test_set_noise"
    assert c.test_diff_ci_low < 0 < c.test_diff_ci_high
    assert "below test-set noise" in c.sentence and "beyond seed noise on this validation set" in c.sentence
    # the CI is the noise helper's paired image bootstrap of the two correctness matrices
    ids = {lr: df.loc[df.lr == lr, "trial_id"] for lr in (3e-3, 5e-3)}
    ref = A.paired_image_bootstrap(A.correctness_matrix(pred, ids[3e-3]),
                                   A.correctness_matrix(pred, ids[5e-3]), n_resamples=999)
    assert (c.test_diff_ci_low, c.test_diff_ci_high) == pytest.approx(tuple(ref.confidence_interval))
    # 30 extra images: clears both
    df, pred, _ = _study(extra_right=30)
    c = A.compare_all(df, "lr=0.005", by="lr", predictions=pred, n_resamples=999).iloc[0]
    assert c.verdict == "a_better" and c.test_set_verdict == "clears_test_set_noise"
    assert "also clears test-set noise" in c.sentence
    # without predictions: NaN columns and no test-set verdict
    c = A.compare_all(df, "lr=0.005", by="lr", n_resamples=999).iloc[0]
    assert np.isnan(c.test_diff_ci_low) and c.test_set_verdict is None


def test_compare_takes_correctness_matrices():
    df, _, mats = _study(extra_right=30)
    a = [mats[t] for t in df.loc[df.lr == 3e-3, "trial_id"]]
    b = [mats[t] for t in df.loc[df.lr == 5e-3, "trial_id"]]
    top = lambda m: [100 * x.mean() for x in m]  # noqa: E731
    c = A.compare(top(a), top(b), correct_a=np.array(a), correct_b=np.array(b), n_resamples=999)
    assert c.test_set_verdict == "clears_test_set_noise" and c.test_diff_ci_low > 0
    with pytest.raises(A.AnalysisError, match="both"):
        A.compare(top(a), top(b), correct_a=np.array(a))


def test_report_section_reads_the_experiments_predictions(tmp_path):
    df, pred, _ = _study(extra_right=1)
    pred.to_parquet(tmp_path / "predictions.parquet")
    found = find_predictions(tmp_path)
    assert found is not None and len(found) == len(pred)
    assert find_predictions(tmp_path / "missing") is None
    top1 = summary_section(df, ["lr"]).top1
    sec = comparisons_section(df, ["lr"], top1, "lr=0.005", found)
    assert list(sec.data["test_set_verdict"]) == ["below_test_set_noise"]
    assert "test_diff_ci_low" in sec.table.columns
