"""Per-image final predictions of one run: gathered in image order, written as one parquet file.

At the final epoch the run writes ``<run folder>/predictions.parquet``: one row per image of
the main validation set (``eval_set='val'``) and of each extra evaluation set, with the
eight columns of DESIGN.md's predictions contract. The sweep driver gathers these per-run
files into ``<experiment>/predictions.parquet/`` (one file per trial); the analysis reads
them with ``analysis.load_predictions``.

* ``image`` is the index into the evaluation dataset, i.e. timm's sorted file order, so the
  same image has the same index in every trial. Under DDP each rank scores a strided share
  without padding (:func:`trainer.data.eval_loader`); :func:`gather_in_image_order` puts
  every rank's rows back at their dataset indices, so the file is identical at any world size.
* ``trial_id`` is the run folder's name: the trainer does not know the sweep's trial id, and
  the driver names each trial's folder by its trial id (the gatherer sets the column from
  the manifest all the same).
* The column names and types are written by the explicit :data:`PREDICTION_SCHEMA` below.
  Their one home as a contract is ``analysis.contract.PREDICTION_SCHEMA`` (trainer may not
  import analysis); ``tests/trainer/test_predictions.py`` asserts the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trainer.files import atomic_write_bytes

if TYPE_CHECKING:  # torch stays out of the driver's file-only commands (`rsb-sweep results`)
    from trainer.distributed import Dist

#: File name inside a run folder.
#: The main validation set's name in the ``eval_set`` column.
MAIN_SET = "val"

#: The eight columns and their types (must equal analysis.contract.PREDICTION_SCHEMA).
PREDICTION_SCHEMA = pa.schema([
    ("trial_id", pa.string()),
    ("eval_set", pa.string()),
    ("crop_pct", pa.float64()),
    ("test_res", pa.int64()),
    ("image", pa.int64()),
    ("target", pa.int64()),
    ("pred", pa.int64()),
    ("correct", pa.bool_()),
])


@dataclass(frozen=True)
class SetPredictions:
    """Top-1 predictions of one evaluation (one set, crop ratio, resolution), in image order."""

    eval_set: str
    crop_pct: float
    test_res: int
    targets: np.ndarray
    preds: np.ndarray


def gather_in_image_order(local: np.ndarray, indices: Sequence[int], ctx: Dist) -> np.ndarray:
    """Every rank's ``local`` values (one per image, in ``indices`` order) as one array in image order.

    ``indices`` are this rank's dataset indices; the ranks' shares must cover 0..N-1 exactly
    once (no padding), which is checked.
    """
    from trainer.distributed import all_gather

    parts = all_gather((np.asarray(indices, dtype=np.int64), np.asarray(local)), ctx)
    idx = np.concatenate([p[0] for p in parts])
    values = np.concatenate([p[1] for p in parts])
    if idx.size != values.size or not np.array_equal(np.sort(idx), np.arange(idx.size)):
        raise RuntimeError(f"evaluation shares do not cover the {idx.size} images exactly once")
    out = np.empty_like(values)
    out[idx] = values
    return out


def prediction_table(trial_id: str, sets: Sequence[SetPredictions]) -> pa.Table:
    """The eight-column table of ``sets`` for one trial (rows: set by set, image by image)."""
    columns: dict[str, list[np.ndarray]] = {name: [] for name in PREDICTION_SCHEMA.names}
    for s in sets:
        n = len(s.targets)
        targets, preds = np.asarray(s.targets, dtype=np.int64), np.asarray(s.preds, dtype=np.int64)
        columns["trial_id"].append(np.full(n, trial_id, dtype=object))
        columns["eval_set"].append(np.full(n, s.eval_set, dtype=object))
        columns["crop_pct"].append(np.full(n, float(s.crop_pct)))
        columns["test_res"].append(np.full(n, int(s.test_res), dtype=np.int64))
        columns["image"].append(np.arange(n, dtype=np.int64))
        columns["target"].append(targets)
        columns["pred"].append(preds)
        columns["correct"].append(targets == preds)
    arrays = [
        pa.array(np.concatenate(parts) if parts else [], type=field.type)
        for field, parts in zip(PREDICTION_SCHEMA, columns.values())
    ]
    return pa.Table.from_arrays(arrays, schema=PREDICTION_SCHEMA)


def with_trial_id(table: pa.Table, trial_id: str) -> pa.Table:
    """``table`` with every row's ``trial_id`` set to ``trial_id`` (the gatherer's manifest id)."""
    column = pa.array([trial_id] * table.num_rows, type=PREDICTION_SCHEMA.field("trial_id").type)
    return table.set_column(table.schema.get_field_index("trial_id"), "trial_id", column)


def write_predictions(path: Path, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (serialised in memory, then :func:`trainer.files.atomic_write_bytes`)."""
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    atomic_write_bytes(path, buf.getvalue().to_pybytes())
