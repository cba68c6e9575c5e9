"""The per-image predictions, re-exported from their home :mod:`analysis.load.predictions`.

Kept as a module path because code outside the analysis package names it
(``tests/trainer``: ``analysis.predictions.validate_predictions``)."""

from .load.predictions import (  # noqa: F401 (re-exported)
    EVALUATION_KEY,
    PREDICTION_COLUMNS,
    PREDICTION_KEY,
    PREDICTION_SCHEMA,
    PREDICTIONS_NAME,
    correctness_matrix,
    load_predictions,
    per_trial_top1,
    validate_predictions,
)
from .stats.image_noise import as_correctness  # noqa: F401 (re-exported)
