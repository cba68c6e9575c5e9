"""Loading results tables; Table 9 and Table 6 rendering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis as A
from analysis import AnalysisError
from analysis.synthetic import synthetic_history, synthetic_results


# ----------------------------------------------------------------------------- load_results

def test_load_results_folder_parquet_csv(tmp_path):
    df = synthetic_results(5, n_error=1)
    (tmp_path / "a").mkdir()
    df.to_parquet(tmp_path / "a" / "results.parquet")
    (tmp_path / "b").mkdir()
    df.to_csv(tmp_path / "b" / "results.csv", index=False)
    for path in (tmp_path / "a", tmp_path / "b", tmp_path / "a" / "results.parquet",
                 tmp_path / "b" / "results.csv", str(tmp_path / "a")):
        got = A.load_results(path)
        assert len(got) == 5 and got["status"].tolist() == df["status"].tolist()
        np.testing.assert_allclose(got["top1"], df["top1"])


def test_load_results_prefers_parquet(tmp_path):
    df = synthetic_results(3)
    df.to_parquet(tmp_path / "results.parquet")
    df.head(1).to_csv(tmp_path / "results.csv", index=False)
    assert len(A.load_results(tmp_path)) == 3


def test_load_results_clear_errors(tmp_path):
    with pytest.raises(AnalysisError, match="neither results.parquet nor results.csv"):
        A.load_results(tmp_path)
    with pytest.raises(AnalysisError, match="does not exist"):
        A.load_results(tmp_path / "nope.parquet")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(AnalysisError, match="expected an experiment folder"):
        A.load_results(tmp_path / "x.txt")
    synthetic_results(2).drop(columns=["seed", "status"]).to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(AnalysisError, match="status, seed"):
        A.load_results(tmp_path)
    synthetic_results(2).head(0).to_parquet(tmp_path / "results.parquet")
    with pytest.raises(AnalysisError, match="empty"):
        A.load_results(tmp_path)


def test_load_history_and_columns(tmp_path):
    df = synthetic_results(4, [dict(crop_pct=0.9), dict(crop_pct=1.0)])
    synthetic_history(df, n_epochs=5).to_parquet(tmp_path / "history.parquet")
    h = A.load_history(tmp_path)
    assert set(A.contract.HISTORY_COLUMNS) <= set(h.columns) and len(h) == 8 * 5
    assert A.metric_columns(df) == ["top1", "top1_real", "top1_v2"]
    assert A.config_columns(df) == ["crop_pct"]


# ----------------------------------------------------------------------------- tables

@pytest.fixture(scope="module")
def recipes_summary():
    df = pd.concat([
        synthetic_results(30, [dict(recipe="a1", epochs=600, shift=0.6)], seed=1),
        synthetic_results(30, [dict(recipe="a2")], seed=2),
        synthetic_results(30, [dict(recipe="a3", train_res=160, epochs=100, shift=-1.7)], seed=3),
    ], ignore_index=True)
    return df, A.summarize(df, by="recipe", metric=["top1", "top1_real", "top1_v2"], n_resamples=999)


def test_format_table9_layout_and_numbers(recipes_summary):
    df, s = recipes_summary
    t = A.format_table9(s)
    assert list(t.frame.columns) == ["", "statistic", "val", "ReaL", "V2"]
    assert len(t.frame) == 9  # 3 recipes × (mean (std), max – min, seed 0)
    a2 = df[df.recipe == "a2"]
    block = t.frame.iloc[3:6]
    assert block.iloc[0, 0] == "a2 (n=30)"
    assert block.iloc[0]["val"] == f"{a2.top1.mean():.2f} ({a2.top1.std():.2f})"
    assert block.iloc[1]["ReaL"] == f"{a2.top1_real.max():.2f} – {a2.top1_real.min():.2f}"
    assert block.iloc[2]["V2"] == f"{a2.loc[a2.seed == 0, 'top1_v2'].item():.2f}"
    md = t.markdown.splitlines()
    assert md[0].startswith("|  | statistic | val") and len(md) == 11
    assert t.latex.count(r"\midrule") == 3  # header + between the 3 blocks
    assert "--" in t.latex and r"\toprule" in t.latex and "_" not in t.latex.replace(r"\_", "")
    assert str(t) == t.markdown


def test_format_table9_single_seed_and_missing_seed0():
    df = synthetic_results(1)
    s = A.summarize(df.assign(seed=5), n_resamples=999)
    t = A.format_table9(s)
    assert t.frame.iloc[0]["val"] == f"{df.top1.item():.2f}"  # no "(nan)"
    assert t.frame.iloc[2]["val"] == "–"


def test_format_table6_grid():
    grid = [dict(lr=lr, weight_decay=wd, loss=loss, shift=(0.5 if (lr, wd, loss) == (8e-3, 0.02, "bce") else 0))
            for lr in (3e-3, 8e-3) for wd in (0.01, 0.02) for loss in ("bce", "ce")]
    df = synthetic_results(12, grid, seed=4)
    s = A.summarize(df, by=["lr", "weight_decay", "loss"], n_resamples=999)
    cmp = A.compare_all(df, {"lr": 3e-3, "weight_decay": 0.01, "loss": "bce"},
                        by=["lr", "weight_decay", "loss"], n_resamples=999)
    t = A.format_table6(s, comparisons=cmp)
    assert list(t.frame.columns) == ["", "loss=bce", "loss=ce"]
    assert list(t.frame[""]) == ["lr=0.003, wd=0.01", "lr=0.003, wd=0.02", "lr=0.008, wd=0.01",
                                 "lr=0.008, wd=0.02"]
    cells = t.frame.set_index("")
    row = s[(s.lr == 8e-3) & (s.weight_decay == 0.02) & (s.loss == "bce")].iloc[0]
    # best (bold) and meaningfully better than the reference (†)
    assert cells.loc["lr=0.008, wd=0.02", "loss=bce"] == f"**{row['mean']:.2f} ({row['std']:.2f})** †"
    assert "†" not in cells.loc["lr=0.008, wd=0.02", "loss=ce"]
    assert t.frame.set_index("").loc["lr=0.003, wd=0.01", "loss=bce"].endswith("(ref)")
    assert r"\textbf{" in t.latex and "**" not in t.latex and r"$^\dagger$" in t.latex
    with pytest.raises(AnalysisError, match="one metric"):
        A.format_table6(A.summarize(df, by="lr", metric=["top1", "top5"], n_resamples=999))
