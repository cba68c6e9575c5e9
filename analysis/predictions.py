"""The per-image predictions, re-exported from their home :mod:`analysis.load.predictions`.

Kept as a module path because code outside the analysis package names it
(``tests/trainer``: ``analysis.predictions.validate_predictions``)."""

from .contract import EVALUATION_KEY_COLUMNS as EVALUATION_KEY  # noqa: F401 (the name this module had)
from .contract import PREDICTION_COLUMNS, PREDICTION_KEY, PREDICTION_SCHEMA  # noqa: F401 (re-exported)
from .contract import PREDICTIONS_DATASET as PREDICTIONS_NAME  # noqa: F401 (the name this module had)
from .load.predictions import (  # noqa: F401
    correctness_matrix,
    load_predictions,
    per_trial_top1,
    validate_predictions,
)
from .stats.image_noise import as_correctness  # noqa: F401 (re-exported)

__all__ = ['EVALUATION_KEY', 'PREDICTIONS_NAME', 'PREDICTION_COLUMNS', 'PREDICTION_KEY', 'PREDICTION_SCHEMA',
           'as_correctness', 'correctness_matrix', 'load_predictions', 'per_trial_top1',
           'validate_predictions']
