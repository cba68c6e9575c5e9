"""The results contract (DESIGN.md): columns, statuses, evaluation-only fields and file names.

The one home of each: the analysis is the contract's reader, so the names live here; the sweep
driver imports them to write the tables (``results.parquet``, ``history.parquet``,
``evaluations.parquet``, ``predictions.parquet/``, ``decision.json``). Nothing here imports
anything of the package, nor pandas at import time: any writer can use these names. (The trainer,
which must not import the analysis, writes ``val`` and ``predictions.parquet`` under its own
names; ``tests/test_contract.py`` checks that they agree.)
"""

from __future__ import annotations

from typing import Iterable

#: Values of the ``status`` column (results, evaluations): finished, failed, started, not started.
TERMINATED, ERROR, RUNNING, PENDING = "TERMINATED", "ERROR", "RUNNING", "PENDING"
STATUSES = (TERMINATED, ERROR, RUNNING, PENDING)
#: Statuses of a trial that will not change without a ``resume --retry-failed``.
ENDED = (TERMINATED, ERROR)

#: File stems of the tables in an experiment folder (``.parquet``, and ``.csv`` for results).
RESULTS_STEM, HISTORY_STEM = "results", "history"
RESULTS_PARQUET, RESULTS_CSV = f"{RESULTS_STEM}.parquet", f"{RESULTS_STEM}.csv"
HISTORY_PARQUET = f"{HISTORY_STEM}.parquet"
#: The per-image predictions: a parquet dataset (a folder, one file per trial and evaluation).
PREDICTIONS_DATASET = "predictions.parquet"
#: ``rsb-sweep ab``'s verdict and looks, in the experiment folder (read by the report).
DECISION_FILE = "decision.json"
#: The main validation set's name in ``eval_set`` (extra sets are named by the user).
MAIN_SET = "val"

IDENTITY_COLUMNS = ("experiment", "trial_id", "status", "recipe", "model", "dataset")
SEED_COLUMNS = ("seed", "seed_init", "seed_data", "seed_aug")
#: The effective hyper-parameters (trainer config fields of the same names).
HYPER_COLUMNS = ("lr", "weight_decay", "loss", "aug_repeats", "crop_pct", "smoothing", "drop_path", "mixup", "cutmix",
                 "epochs", "batch_size", "train_res", "test_res")
#: Final-epoch metrics on the main validation set; ``top1_<set>`` columns follow them.
METRIC_COLUMNS = ("top1", "top5", "eval_loss")
#: The metric the comparisons and the report are about: final-epoch top-1 on the main set.
MAIN_METRIC = METRIC_COLUMNS[0]
RUN_COLUMNS = ("n_val", "epochs_done", "restarts", "train_hours", "n_workers", "device", "peak_mem_gb", "error")

#: Every column of results.parquet, in order (``top1_<set>`` columns go right after ``eval_loss``).
RESULT_COLUMNS = IDENTITY_COLUMNS + SEED_COLUMNS + HYPER_COLUMNS + METRIC_COLUMNS + RUN_COLUMNS

#: Transfer (DESIGN.md "Studies built on other studies"): a fine-tuned row's source model. Its
#: ``dataset`` is the target; ``pretrain_recipe`` (and ``pretrain_dataset``) are configuration,
#: ``pretrain_trial`` and ``pretrain_seed`` (the source's ``seed``) are seed-like, never a factor.
#: The design is nested: fine-tuning seeds within each pretrained model (``pretrain_trial``).
PRETRAIN_TRIAL, PRETRAIN_RECIPE, PRETRAIN_SEED, PRETRAIN_DATASET = (
    "pretrain_trial", "pretrain_recipe", "pretrain_seed", "pretrain_dataset")
PRETRAIN_COLUMNS = (PRETRAIN_TRIAL, PRETRAIN_RECIPE, PRETRAIN_SEED, PRETRAIN_DATASET)
#: The paper's name of a trial's architecture (a sweep file's ``digits_models:`` ``paper:`` label, e.g.
#: "ResNet-18" for the digits stand-in of ``resnet18``), right after ``model`` when a sweep names one: a
#: label of ``model``, never a factor of its own. "Beside the paper" reads Table 3's rows by it.
PAPER_MODEL = "paper_model"
PRETRAIN_CONFIG_COLUMNS = (PRETRAIN_RECIPE, PRETRAIN_DATASET)
PRETRAIN_SEED_COLUMNS = (PRETRAIN_TRIAL, PRETRAIN_SEED)
#: A transfer experiment's manifest (the driver's ``sweep.json``) names its source experiment
#: folder under ``["transfer"]["source"]``: the report reads the source's results from there.
SWEEP_MANIFEST, TRANSFER_KEY, TRANSFER_SOURCE_KEY = "sweep.json", "transfer", "source"

#: Columns that define a *configuration*: what a study compares.
CONFIG_COLUMNS = IDENTITY_COLUMNS[3:] + HYPER_COLUMNS + PRETRAIN_CONFIG_COLUMNS

#: Every column of history.parquet (one row per trial and epoch), in order.
HISTORY_COLUMNS = ("experiment", "trial_id", "epoch", "lr", "train_loss", "top1", "top5", "eval_loss", "n_val",
                   "epoch_seconds", "images_per_second")

#: dtypes of results.parquet: float64, nullable Int64, string.
FLOAT_COLUMNS = ("lr", "weight_decay", "crop_pct", "smoothing", "drop_path", "mixup", "cutmix", "top1", "top5",
                 "eval_loss", "train_hours", "peak_mem_gb")
INT_COLUMNS = ("seed", "seed_init", "seed_data", "seed_aug", "aug_repeats", "epochs", "batch_size", "train_res",
               "test_res", "epochs_done", "restarts", "n_val", "n_workers", PRETRAIN_SEED)
TEXT_COLUMNS = ("experiment", "trial_id", "status", "recipe", "model", "dataset", "loss", "device", "error",
                PRETRAIN_TRIAL, PRETRAIN_RECIPE, PRETRAIN_DATASET, PAPER_MODEL)
#: Text columns of evaluations.parquet besides those.
EVALUATION_TEXT_COLUMNS = ("eval_set", "source")

#: ``evaluations.parquet`` (train once, evaluate many): its file stem and columns, in order.
EVALUATIONS_STEM = "evaluations"
EVALUATIONS_PARQUET = f"{EVALUATIONS_STEM}.parquet"
#: Trainer fields that change evaluation only: two trials never differ only in these; the
#: evaluations table holds one row per value evaluated (plus ``eval_set``, the set evaluated).
EVAL_ONLY_FIELDS = ("crop_pct", "test_res")
#: The trainer field naming extra evaluation sets: evaluation-only too (a sweep never trains per set).
EVAL_SETS_FIELD = "eval_sets"
#: Every trainer field that changes evaluation only (what a sweep moves from its grid to ``evaluate``).
EVAL_ONLY_CONFIG_FIELDS = EVAL_ONLY_FIELDS + (EVAL_SETS_FIELD,)
#: The columns that name one evaluation of a trained model (with ``trial_id``, one row).
EVALUATION_KEY_COLUMNS = ("eval_set",) + EVAL_ONLY_FIELDS
#: ``source``: ``training`` (the trial's own setting, from its final epoch, not recomputed) or
#: ``evaluation`` (its final checkpoint evaluated again at another setting).
TRAINING_SOURCE, EVALUATION_SOURCE = "training", "evaluation"
EVALUATION_SOURCES = (TRAINING_SOURCE, EVALUATION_SOURCE)
#: The trial's configuration and seed columns an evaluations row carries (not crop_pct / test_res:
#: those are the evaluation's own).
EVALUATION_CONFIG_COLUMNS = (IDENTITY_COLUMNS[3:] + SEED_COLUMNS
                             + tuple(c for c in HYPER_COLUMNS if c not in EVAL_ONLY_FIELDS))
EVALUATION_COLUMNS = (("experiment", "trial_id", "eval_set", "crop_pct", "test_res") + METRIC_COLUMNS
                      + ("n_val", "status", "error", "source") + EVALUATION_CONFIG_COLUMNS)

#: Prefix of the top-1 columns of extra evaluation sets (``top1_real``, ``top1_v2`` …).
EXTRA_TOP1_PREFIX = "top1_"

#: ``predictions.parquet`` (:data:`PREDICTIONS_DATASET`): column name -> pandas dtype, in order;
#: one row per (trial, eval set, crop_pct, test_res, image). The trainer writes it by its own
#: list; ``tests/trainer/test_predictions.py`` checks that the two agree.
PREDICTION_SCHEMA: dict[str, str] = {
    "trial_id": "string",
    "eval_set": "string",  # MAIN_SET = the main validation set; else the extra set's name
    "crop_pct": "float64",  # the evaluation's crop ratio
    "test_res": "int64",  # the evaluation's resolution (pixels)
    "image": "int64",  # stable index into the set: the dataset's sorted file order
    "target": "int64",
    "pred": "int64",  # top-1 class
    "correct": "bool",  # pred == target
}
PREDICTION_COLUMNS = tuple(PREDICTION_SCHEMA)
#: The columns that identify a row of the predictions.
PREDICTION_KEY = ("trial_id", *EVALUATION_KEY_COLUMNS, "image")


def with_contract_dtypes(df):
    """A copy of the DataFrame ``df`` with the contract's dtypes, as the driver writes them: float64
    (``top1_<set>`` too), nullable Int64, string; other columns unchanged. (pandas is imported here,
    in the call, so that importing this module stays free.)"""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if col in INT_COLUMNS:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
        elif col in FLOAT_COLUMNS or col.startswith(EXTRA_TOP1_PREFIX):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        elif col in TEXT_COLUMNS + EVALUATION_TEXT_COLUMNS:
            out[col] = out[col].astype("string")
    return out


def extra_top1_columns(names: Iterable[str]) -> list[str]:
    """The ``top1_<set>`` names among ``names``, sorted."""
    return sorted({n for n in names if n.startswith(EXTRA_TOP1_PREFIX)})


def with_extra_sets(columns: tuple[str, ...], extra: Iterable[str]) -> list[str]:
    """``columns`` with the ``top1_<set>`` columns ``extra`` inserted right after ``eval_loss``."""
    at = columns.index("eval_loss") + 1
    return list(columns[:at]) + list(extra) + list(columns[at:])


#: A ``units: paper`` sweep's manifest maps its values from the paper's units to the digits preset's:
#: ``sweep.json["paper_units"] = {field: [[paper, digits], …]}`` (rsb_sweep.experiment.folder).
PAPER_UNITS_KEY = "paper_units"

#: ``rsb-sweep race``: the verdict, every configuration, one entry per look (rsb_sweep.experiment.race_file).
RACE_FILE = "race.json"
