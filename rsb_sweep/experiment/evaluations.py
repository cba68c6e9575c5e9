"""Train once, evaluate many, on disk: which evaluations a trial has, their records, and the table.

The test crop ratio, the test resolution and extra evaluation sets change evaluation only
(RSB Table 9, Figure 4), so an experiment trains one model per (configuration, seed) and
evaluates it at every setting of its plan (the manifest's ``evaluate``,
:class:`~rsb_sweep.spec.model.EvalPlan`). Each evaluation is one record per (set, crop_pct,
test_res) in ``<trial>/evaluations/`` (written by the worker, :mod:`rsb_sweep.worker.evaluate`);
:func:`build_evaluations` turns the records into ``evaluations.parquet`` (DESIGN.md's contract,
one row per (trial, set, crop_pct, test_res), always, whatever its state), which ``results``,
``status`` and the driver (:mod:`rsb_sweep.driver.evaluate`) all use.

The trial's own setting is a row too, taken from its final epoch (``source`` ``training``),
never recomputed: on CPU a recomputation gives exactly the same numbers (tested), and on a
cluster it would cost a pass over the validation set per trial for nothing.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

import pandas as pd

from analysis.contract import (ERROR, EVALUATION_COLUMNS, EVALUATION_CONFIG_COLUMNS, EVALUATION_KEY_COLUMNS, MAIN_SET,
                              METRIC_COLUMNS, PENDING, TERMINATED, with_contract_dtypes)
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.experiment.store import EVALUATIONS_DIR, TrialFiles, TrialStore
from rsb_sweep.spec.model import EvalPlan


@dataclass(frozen=True, order=True)
class EvalKey:
    """One evaluation of one trial: a set at a (crop_pct, test_res)."""

    eval_set: str
    crop_pct: float
    test_res: int

    @property
    def stem(self) -> str:
        """The record's file stem in ``<trial>/evaluations/`` (file-system safe)."""
        text = f"{self.eval_set}-crop{self.crop_pct:g}-res{self.test_res}"
        return "".join(c if c.isalnum() or c in "-_.+=" else "_" for c in text)

    def as_tuple(self) -> tuple[str, float, int]:
        return (self.eval_set, self.crop_pct, self.test_res)


def trial_keys(config: Mapping[str, Any], plan: EvalPlan) -> list[tuple[EvalKey, bool]]:
    """Every evaluation of a trial under ``plan``, and whether its numbers come from training.

    The trial's own crop_pct / test_res are always among the settings (its row from
    training); the plan's values are added in ascending order; the sets are the main set, the
    trial's own extra sets, then the plan's.
    """
    own_crop, own_res = float(config["crop_pct"]), int(config["test_res"])
    crops = sorted({own_crop, *plan.crop_pct})
    resolutions = sorted({own_res, *plan.test_res})
    trained_sets = [MAIN_SET, *(name for name, _ in config.get("eval_sets") or ())]
    sets = list(dict.fromkeys([*trained_sets, *(name for name, _ in plan.eval_sets)]))
    out = []
    for crop, res, name in itertools.product(crops, resolutions, sets):
        from_training = crop == own_crop and res == own_res and name in trained_sets
        out.append((EvalKey(name, crop, res), from_training))
    return out


def missing_keys(config: Mapping[str, Any], files: TrialFiles, plan: EvalPlan) -> list[EvalKey]:
    """The evaluations a finished trial still lacks (failed ones count as done; ``--retry-failed`` clears them)."""
    if files.status != TERMINATED:
        return []
    return [k for k, from_training in trial_keys(config, plan) if not from_training and k.stem not in files.evaluations]


def evaluation_rows(experiment: str, trial_id: str, config: Mapping[str, Any], files: TrialFiles,
                    plan: EvalPlan) -> list[dict[str, Any]]:
    """The trial's rows of ``evaluations.parquet``: one per key of :func:`trial_keys`, in any state."""
    base = {c: config.get(c) for c in EVALUATION_CONFIG_COLUMNS}
    metrics = files.metrics or {}
    rows = []
    for key, from_training in trial_keys(config, plan):
        row: dict[str, Any] = {"experiment": experiment, "trial_id": trial_id, "eval_set": key.eval_set,
                               "crop_pct": key.crop_pct, "test_res": key.test_res,
                               "source": "training" if from_training else "evaluation", **base}
        record = files.evaluations.get(key.stem)
        if files.status == ERROR:
            row.update(status=ERROR, error=f"not evaluated: the trial failed in training "
                                                  f"({(files.error or {}).get('error', 'see its error.json')})")
        elif files.status != TERMINATED:
            row.update(status=PENDING)
        elif from_training:
            name = "" if key.eval_set == MAIN_SET else f"_{key.eval_set}"
            row.update(status=TERMINATED, top1=metrics.get(f"top1{name}"), top5=metrics.get(f"top5{name}"),
                       eval_loss=metrics.get(f"eval_loss{name}"),
                       n_val=metrics.get("n_val") if key.eval_set == MAIN_SET else None)
        elif record is None:
            row.update(status=PENDING)
        elif "error" in record:
            row.update(status=ERROR, error=record["error"])
        else:
            row.update(status=TERMINATED, **{k: record[k] for k in (*METRIC_COLUMNS, "n_val")})
        rows.append(row)
    return rows


def build_evaluations(exp: Experiment, files: Optional[Mapping[str, TrialFiles]] = None) -> pd.DataFrame:
    """``evaluations.parquet`` of ``exp``: every manifest trial × every evaluation of its plan."""
    files = files if files is not None else exp.store.read_all(exp.trial_ids)
    plan = exp.evaluate
    rows = [r for t in exp.trials for r in evaluation_rows(exp.name, t["trial_id"], t["config"], files[t["trial_id"]], plan)]
    return with_contract_dtypes(pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS)))


def counts_of(table: Optional[pd.DataFrame]) -> dict[str, int]:
    """Rows per status (TERMINATED, ERROR, PENDING) of an evaluations table."""
    if table is None:
        return {}
    counts = table["status"].value_counts().to_dict()
    return {k: int(counts.get(k, 0)) for k in (TERMINATED, ERROR, PENDING)}


def record_failures(store: TrialStore, trial_id: str, keys: Iterable[EvalKey], message: str) -> None:
    """Mark evaluations failed, with the error text (their rows become ERROR)."""
    for key in keys:
        store.write_json(trial_id, f"{EVALUATIONS_DIR}/{key.stem}.json",
                         {"error": message, **dict(zip(EVALUATION_KEY_COLUMNS, key.as_tuple())),
                          "time": time.time()})


def clear_failures(exp: Experiment) -> int:
    """Delete the failed evaluation records (``--retry-failed``); returns how many."""
    store = exp.store
    n = 0
    for tid, f in store.read_all(exp.trial_ids).items():
        for stem, record in f.evaluations.items():
            if "error" in record:
                store.delete(tid, f"{EVALUATIONS_DIR}/{stem}.json")
                n += 1
    return n
