"""The one --baseline parser (analysis.groups.baseline): one split, one typing rule, one matcher."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import AnalysisError
from analysis.groups.baseline import (
    baseline_levels,
    parse_baseline,
    resolve_baseline,
    same_level,
    spec_items,
    split_baseline,
    typed_value,
)


def test_a_spec_splits_at_commas_and_the_first_equals_sign_stripped_and_skipping_empty_parts():
    assert spec_items(" recipe = a2 ,, lr=5e-3,") == [("recipe", "a2"), ("lr", "5e-3")]
    assert spec_items("name=a=b") == [("name", "a=b")]


def test_values_take_their_columns_contract_type():
    got = parse_baseline("recipe=1,lr=5e-3,aug_repeats=3,crop_pct=1,test_res=224,custom=0.5,other=x")
    assert got == {"recipe": "1", "lr": 0.005, "aug_repeats": 3, "crop_pct": 1.0, "test_res": 224,
                   "custom": 0.5, "other": "x"}
    assert [type(got[k]) for k in ("recipe", "aug_repeats", "crop_pct", "test_res")] == [str, int, float, int]
    assert typed_value("lr", "abc") == "abc"  # not a number: it will match no group, and say so
    with pytest.raises(AnalysisError, match="baseline test_res='wide' is not a number; give e.g. test_res=224"):
        typed_value("test_res", "wide")


def test_the_training_part_is_canonical_text_and_the_evaluation_only_part_numbers():
    assert split_baseline(" recipe = a2 , crop_pct=0.875") == ("recipe=a2", {"crop_pct": 0.875})
    assert split_baseline({"test_res": "288", "lr": 0.01}) == ({"lr": 0.01}, {"test_res": 288})


def test_a_level_matches_a_spec_as_a_number_or_as_text():
    assert same_level(0.005, "5e-3") and same_level(0.005, 0.005000000001) and same_level(3, 3.0)
    assert same_level("a2", "a2") and not same_level("a2", "a3") and not same_level(0.005, 0.006)


def test_every_baseline_form_resolves_to_the_same_group():
    df = pd.DataFrame({"lr": [0.003, 0.003, 0.005, 0.005], "loss": ["bce", "ce", "bce", "ce"]})
    for spec in ("lr=5e-3,loss=ce", {"lr": 0.005, "loss": "ce"}, (0.005, "ce")):
        assert resolve_baseline(df, ["lr", "loss"], spec) == (0.005, "ce")
    with pytest.raises(AnalysisError, match="matches no group"):
        resolve_baseline(df, ["lr", "loss"], "lr=0.004,loss=ce")
    with pytest.raises(AnalysisError, match="not among the compared columns"):
        resolve_baseline(df, ["lr"], "wd=0.1")
    assert baseline_levels("lr=5e-3,loss=ce", ["lr", "loss"]) == {"lr": 0.005, "loss": "ce"}
    assert baseline_levels((0.005, "ce"), ["lr", "loss"]) == {"lr": 0.005, "loss": "ce"}
    assert baseline_levels(None, ["lr"]) == {}
