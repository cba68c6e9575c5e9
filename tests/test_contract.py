"""The results contract is spelled once (analysis.contract); the trainer, which may not import the
analysis, writes two of its names itself: they must agree."""

from analysis import contract as C
from trainer.checkpoint import PREDICTIONS_FILE
from trainer.predictions import MAIN_SET


def test_the_trainer_writes_the_contract_names():
    assert MAIN_SET == C.MAIN_SET
    assert PREDICTIONS_FILE == C.PREDICTIONS_DATASET


def test_statuses_and_evaluation_key_columns_are_contract_columns():
    assert set(C.STATUSES) == {"TERMINATED", "ERROR", "RUNNING", "PENDING"}
    assert set(C.ENDED) <= set(C.STATUSES)
    assert set(C.EVALUATION_KEY_COLUMNS) <= set(C.EVALUATION_COLUMNS)
    assert set(C.EVAL_ONLY_FIELDS) <= set(C.HYPER_COLUMNS)
