"""The RSB paper's numbers, as data: ``rsb_paper_values.csv`` (packaged beside this module, a copy of
``../shared/paper/rsb_paper_values.csv``: see ``PAPER_VALUES.md``) read as a DataFrame.

One row per printed value: ``table`` (``table1``, ``table3``, ``table5``, ``table6``, ``drop_path``,
``smoothing``, ``table9``), ``row``, ``column``, ``value`` (the text as printed, empty when the
paper prints none), ``note``; plus ``number``, the value parsed (NaN when empty or not a number).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from ..contract import PAPER_MODEL, PAPER_UNITS_KEY, SWEEP_MANIFEST
from ..errors import AnalysisError

#: The packaged file's name (in :mod:`analysis.load`).
PAPER_VALUES_FILE = "rsb_paper_values.csv"
#: The columns of the file, in order, and the parsed ``number``.
PAPER_COLUMNS = ("table", "row", "column", "value", "note", "number")


@lru_cache(maxsize=1)
def _all_values() -> pd.DataFrame:
    with resources.files(__package__).joinpath(PAPER_VALUES_FILE).open("r", encoding="utf-8") as f:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df["number"] = pd.to_numeric(df["value"].str.strip(), errors="coerce")
    return df[list(PAPER_COLUMNS)]


def paper_values(table: str | None = None) -> pd.DataFrame:
    """The paper's values (all tables, or one: ``paper_values("table9")``), a fresh copy.

    Raises AnalysisError naming the tables the file has when ``table`` is not one of them.
    """
    df = _all_values()
    if table is None:
        return df.copy()
    tables = list(pd.unique(df["table"]))
    if table not in tables:
        raise AnalysisError(f"the paper's values have no table {table!r}; they have {', '.join(tables)}.")
    return df[df["table"] == table].reset_index(drop=True)


def paper_number(table: str, row: str, column: str) -> float | None:
    """One printed value as a number, or None when the paper prints none there."""
    df = _all_values()
    hit = df[(df["table"] == table) & (df["row"] == row) & (df["column"] == column)]["number"]
    return None if hit.empty or pd.isna(hit.iloc[0]) else float(hit.iloc[0])


#: The paper's recipes, as the results' ``recipe`` column names them.
PAPER_RECIPES = ("a1", "a2", "a3")
#: Table 6's factors (A2's ablation: loss × LR × WD × repeated augmentation).
TABLE6_FACTORS = ("lr", "weight_decay", "loss", "aug_repeats")


def paper_table(factor: str, by: Sequence[str], config: Mapping[str, Any]) -> str | None:
    """The paper table a comparison of ``factor`` maps onto (see :mod:`analysis.groups.paper`), or None."""
    if factor == "model":
        return "table3" if config.get(PAPER_MODEL) else None
    if factor in ("drop_path", "smoothing"):
        return factor
    if factor in TABLE6_FACTORS:
        return "table6"
    if factor != "recipe":
        return None
    if "model" in by:
        return "table3" if config.get(PAPER_MODEL) else None
    for table in ("drop_path", "smoothing"):
        if table in by:
            return table
    return None if any(f in by for f in TABLE6_FACTORS) else "table1"


def _float(v: object) -> float | None:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if x != x else x


def _close(a: object, b: object) -> bool:
    x, y = _float(a), _float(b)
    return x is not None and y is not None and abs(x - y) <= 1e-9 + 1e-6 * abs(y)


def _table6_row(row: str) -> dict[str, object]:
    """``"BCE lr=5e-3 wd=0.02 ra=on"`` as ``{"loss": "bce", "lr": 0.005, "weight_decay": 0.02, "ra": True}``."""
    loss, *parts = row.split()
    kv = dict(p.split("=", 1) for p in parts)
    return {"loss": loss.lower(), "lr": _float(kv.get("lr")), "weight_decay": _float(kv.get("wd")),
            "ra": kv.get("ra") == "on"}


def _level_row(table: str, value: object) -> str | None:
    """The row of a one-factor table (``drop_path``, ``table9``) whose level is ``value``."""
    for row in pd.unique(paper_values(table)["row"]):
        if _close(row.split("=", 1)[1], value):
            return str(row)
    return None


def paper_value(table: str, config: dict[str, object]) -> float | None:
    """The paper's top-1 for a run's configuration in ``table``, or None where it prints none.

    ``config``: the run's configuration columns (``recipe`` a1/a2/a3; ``paper_model`` for
    ``table3``; ``drop_path``, ``smoothing`` (on when > 0), ``crop_pct`` (Table 9's mean over 10
    seeds); for ``table6`` ``loss``, ``lr``, ``weight_decay``, ``aug_repeats`` (on when > 1), A2 only).
    """
    recipe = str(config.get("recipe", "")).lower()
    if recipe not in PAPER_RECIPES:
        return None
    if table == "table1":
        return paper_number("table1", recipe.upper(), "top1_val")
    if table == "table3":
        name = config.get("paper_model")
        return paper_number("table3", str(name), f"top1_{recipe}") if name else None
    if table == "smoothing":
        on = _float(config.get("smoothing"))
        return None if on is None else paper_number("smoothing", f"smoothing={'on' if on > 0 else 'off'}",
                                                     f"top1_{recipe}")
    if table in ("drop_path", "table9"):
        level = config.get("drop_path" if table == "drop_path" else "crop_pct")
        row = _level_row(table, level)
        column = f"top1_{recipe}" if table == "drop_path" else f"{recipe}_mean"
        return None if row is None else paper_number(table, row, column)
    if table == "table6" and recipe == "a2":
        ra = (_float(config.get("aug_repeats")) or 0) > 1
        for row in pd.unique(paper_values("table6")["row"]):
            p = _table6_row(str(row))
            if (p["loss"] == str(config.get("loss", "")).lower() and p["ra"] == ra
                    and _close(config.get("lr"), p["lr"]) and _close(config.get("weight_decay"), p["weight_decay"])):
                return paper_number("table6", str(row), "top1_a2_seed0")
    return None


#: A value of a field the sweep mapped from the paper's units that has no paper counterpart.
UNMATCHED = "unmatched"
#: Paper units read back: ``{field: ((paper, digits), …)}``.
PaperUnits = Mapping[str, tuple[tuple[float, float], ...]]


def read_paper_units(experiment: Path | str | None) -> dict[str, tuple[tuple[float, float], ...]]:
    """The ``paper_units`` of an experiment folder's manifest (a ``units: paper`` sweep on digits:
    each mapped value, paper → digits), or ``{}`` (no folder, no manifest, literal units)."""
    manifest = Path(experiment) / SWEEP_MANIFEST if experiment is not None else None
    if manifest is None or not manifest.is_file():
        return {}
    try:
        doc = json.loads(manifest.read_text())
    except (OSError, ValueError) as e:
        raise AnalysisError(f"{manifest} is not readable JSON ({e}); restore it or report the results file.") from e
    units = doc.get(PAPER_UNITS_KEY) if isinstance(doc, dict) else None
    if not isinstance(units, dict):
        return {}
    return {str(f): tuple((float(p), float(d)) for p, d in pairs) for f, pairs in units.items()}


def to_paper_units(config: Mapping[str, object], units: PaperUnits) -> dict[str, object]:
    """``config`` with each mapped field's digits value read back in the paper's units; a value with
    no paper counterpart becomes :data:`UNMATCHED` (it then matches no paper row)."""
    out = dict(config)
    for field, pairs in units.items():
        if field in out and _float(out[field]) is not None:
            out[field] = next((p for p, d in pairs if _close(out[field], d)), UNMATCHED)
    return out


#: The paper's crop ratio, whose Table 9 seed std is the noise of one seed for the one-seed tables.
PAPER_CROP_ROW = "crop_pct=0.95"
#: Table 9's seeds, and the level at which the paper's own differences count.
TABLE9_SEEDS, PAPER_ALPHA = 10, 0.05


def paper_noise(table: str, config: Mapping[str, object]) -> tuple[float | None, int]:
    """(std, seeds) behind a paper value of ``table``: Table 9's own std over its 10 seeds; for the
    one-seed tables (Table 1, 3, 6, drop-path, smoothing) the recipe's Table 9 seed std (at the
    paper's crop 0.95) with 1 seed. (None, 1) outside the paper's recipes."""
    recipe = str(config.get("recipe", "")).lower()
    if recipe not in PAPER_RECIPES:
        return None, 1
    if table == "table9":
        row = _level_row("table9", config.get("crop_pct"))
        return (None if row is None else paper_number("table9", row, f"{recipe}_std")), TABLE9_SEEDS
    return paper_number("table9", PAPER_CROP_ROW, f"{recipe}_std"), 1


@dataclass(frozen=True, kw_only=True)
class PaperTest:
    """Whether the paper's own printed numbers tell two values apart. ``kind``: ``welch`` (both
    sides mean, std and n: Welch's t, two-sided, α = 0.05; ``p``) or ``one_seed`` (a side is one
    seed: ``|diff|`` against ``threshold`` = 2·√(std_a² + std_b²), Table 9's seed stds)."""

    kind: str
    diff: float
    decided: bool
    p: float | None = None
    threshold: float | None = None
    n: int = 1


def paper_difference(a: tuple[float, float | None, int], b: tuple[float, float | None, int]) -> PaperTest | None:
    """The paper's test of value ``a`` against ``b``, each (value, std, n); None without both stds."""
    (x, sx, nx), (y, sy, ny) = a, b
    if sx is None or sy is None:
        return None
    diff = x - y
    if nx > 1 and ny > 1:
        va, vb = sx * sx / nx, sy * sy / ny
        if va + vb == 0:
            return PaperTest(kind="welch", diff=diff, decided=diff != 0, p=0.0 if diff else 1.0, n=min(nx, ny))
        dof = (va + vb) ** 2 / (va * va / (nx - 1) + vb * vb / (ny - 1))
        p = float(2 * stats.t.sf(abs(diff) / math.sqrt(va + vb), dof))
        return PaperTest(kind="welch", diff=diff, decided=p < PAPER_ALPHA, p=p, n=min(nx, ny))
    threshold = 2 * math.sqrt(sx * sx + sy * sy)
    return PaperTest(kind="one_seed", diff=diff, decided=abs(diff) > threshold, threshold=threshold)
