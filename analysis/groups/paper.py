"""This run's comparisons beside the paper's: wherever a sweep maps onto a paper table, each
comparison the report made, with the paper's two values, judged in direction.

Nothing here tests anything: the run's side of every row is one of the report's own rows, the
comparisons section's (two-sided Brunner-Munzel, Holm over its family: :func:`analysis.compare_all`
/ :func:`analysis.compare_within`) or the paired section's (Wilcoxon signed-rank, Holm over the
levels: :func:`analysis.compare_paired`). Decided here:

* **Which paper table.** By the factor a comparison varies (:func:`paper_table`): ``model`` →
  Table 3 (only where the results record the paper's name of the model, column ``paper_model``);
  ``drop_path`` / ``smoothing`` → those ablations; ``lr``, ``weight_decay``, ``loss``,
  ``aug_repeats`` → Table 6 (A2 only); ``recipe`` → Table 3 beside a paper model, the drop-path or
  smoothing ablation when that factor varies too, else Table 1; ``crop_pct`` (evaluations) → Table 9
  (the 10-seed means); ``test_res`` (evaluations) → Figure 4, which the paper states in words only.
* **Paper units.** A ``units: paper`` sweep's manifest maps its values (``paper_units``): the
  run's digits values are read back in the paper's units before each lookup; a level with no paper
  counterpart is unmatched (:func:`unmatched_levels`, counted in the section's first sentence).
* **Direction.** ``agree`` / ``disagree`` when the run's own test decides (verdict ``a_better`` or
  ``b_better``) and the paper's own printed numbers decide its direction (:func:`analysis.load.paper.
  paper_difference`: Table 9's mean, std and 10 seeds by Welch's t at α = 0.05; a one-seed table by
  2·√(std_a² + std_b²) with Table 9's seed stds); ``undecided`` otherwise (``why`` says which).
* **Peaks.** A family of three or more levels with paper values also gets a ``peak`` row: the
  paper's highest level against the run's; the run decides its peak only when the report's
  comparisons decide it above every other level (a baseline design compares each level with the
  baseline only, so a peak that is not the baseline is never decided).
* **Figure 4** (``gain`` rows, per recipe): the paper says A1 and A2 gain from a test resolution
  above the one they are tested at (224 px), A3 does not. The run gains when its best level above
  its own test resolution is higher; decided when any level above is decided higher by its
  paired test (that level is named), or (no gain) when every level above is decided lower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..contract import CONFIG_COLUMNS, MAIN_SET, PAPER_MODEL
from ..load.paper import (PAPER_RECIPES, PaperTest, PaperUnits, paper_difference, paper_noise, paper_table, paper_value,
                          to_paper_units)
from ..text.formatting import fmt_value, label, short_label
from .frames import split_usable

#: The verdicts of the report that decide a direction.
DECIDING = ("a_better", "b_better")
#: The run's tests, as the sentences name them.
UNPAIRED_TEST, PAIRED_TEST = "Brunner-Munzel, Holm-adjusted", "paired Wilcoxon signed-rank, Holm-adjusted"
#: What the paper says of Figure 4, per recipe: whether a test resolution above 224 px gains.
FIGURE4_GAINS = {"a1": True, "a2": True, "a3": False}


@dataclass(frozen=True, kw_only=True)
class Level:
    """One arm: the run's label, the paper's value (None where it prints none), the run's mean;
    ``paper_sd`` / ``paper_n``: the std and seeds behind the paper's value (:func:`paper_noise`)."""

    name: str
    paper: float | None
    run: float
    paper_sd: float | None = None
    paper_n: int = 1


@dataclass(frozen=True, kw_only=True)
class Test:
    """One of the report's comparisons: A against B, A − B, its verdict, Holm p and sizes;
    ``spread_refused``: the comparisons section refused it (smaller arm too small for its wider spread)."""

    a: str
    b: str
    diff: float
    verdict: str | None
    p: float | None
    n: int
    spread_refused: bool = False


@dataclass(frozen=True, kw_only=True)
class Family:
    """The levels of one factor within one slice, and the report's tests among them."""

    table: str
    factor: str
    within: str
    recipe: str
    test_name: str
    levels: tuple[Level, ...]
    tests: tuple[Test, ...]


@dataclass(frozen=True, kw_only=True)
class PaperComparison:
    """One row of "Beside the paper". ``kind``: ``pair`` (A against B), ``peak`` (the highest of a
    family), ``gain`` (Figure 4: does a test resolution above the own one gain). ``paper_pick`` /
    ``run_lean``: the higher arm (the peak, ``gains``/``no gain``) by the paper's values / by the
    run's means (None on a tie); ``run_pick``: what the run's tests decide (None when they do not);
    ``why``: why undecided (empty when decided); ``paper_test``: whether the paper's own numbers
    tell its two values apart (for a peak: its highest against the closest other level)."""

    table: str
    kind: str
    factor: str
    within: str
    test_name: str
    levels: tuple[Level, ...]
    tests: tuple[Test, ...]
    paper_pick: str | None
    run_lean: str | None
    run_pick: str | None
    direction: str
    why: str
    paper_test: PaperTest | None = None

    @property
    def decided(self) -> bool:
        """Whether the run's own statistics decide it."""
        return self.run_pick is not None


def run_constants(df: pd.DataFrame, by: Sequence[str]) -> dict[str, Any]:
    """The configuration columns that do not vary (their first usable value), with ``paper_model``."""
    rows = split_usable(df, "top1")[0]
    rows = rows if len(rows) else df
    cols = [c for c in (*CONFIG_COLUMNS, PAPER_MODEL) if c in df.columns and c not in by]
    return {c: rows[c].iloc[0] for c in cols} if len(rows) else {}


def _model_names(df: pd.DataFrame) -> dict[str, str]:
    if PAPER_MODEL not in df.columns or "model" not in df.columns:
        return {}
    named = df.dropna(subset=[PAPER_MODEL]).drop_duplicates("model")
    return {str(m): str(p) for m, p in zip(named["model"], named[PAPER_MODEL]) if str(p).strip()}


def unpaired_families(df: pd.DataFrame, by: Sequence[str], cmp: pd.DataFrame | None,
                      units: PaperUnits | None = None) -> list[Family]:
    """The comparisons section's rows grouped by (paper table, factor, slice); ``units``: the
    manifest's ``paper_units`` (a ``units: paper`` sweep), read back before each paper lookup."""
    if cmp is None or not len(cmp) or not by:
        return []
    by = list(by)
    const, models = run_constants(df, by), _model_names(df)
    keys = list(df[by].drop_duplicates().itertuples(index=False, name=None))
    named = {label(by, k): k for k in keys} | {short_label(by, k): k for k in keys}

    def config(key: Sequence[Any]) -> dict[str, Any]:
        c = {**const, **dict(zip(by, key))}
        if "model" in c and str(c["model"]) in models:
            c[PAPER_MODEL] = models[str(c["model"])]
        return to_paper_units(c, units or {})

    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in cmp.to_dict("records"):
        factor = row.get("factor", by[0]) if "factor" in cmp.columns else by[0]
        ka, kb = tuple(row[c] for c in by), named.get(str(row["name_b"]))
        if kb is None:
            continue
        ca, cb = config(ka), config(kb)
        table = paper_table(factor, by, ca)
        if table is None:
            continue
        g = groups.setdefault((table, factor, str(row.get("within", "") or "")),
                              {"recipe": str(ca.get("recipe", "")), "levels": {}, "tests": [], "order": {}})
        g["order"].update({row["name_a"]: ca.get(factor), row["name_b"]: cb.get(factor)})
        g["levels"][row["name_a"]] = _level(table, row["name_a"], ca, row["mean_a"])
        g["levels"][row["name_b"]] = _level(table, row["name_b"], cb, row["mean_b"])
        g["tests"].append(Test(a=row["name_a"], b=row["name_b"], diff=row["diff"], verdict=row["verdict"],
                               p=row.get("p_decision"), n=int(min(row["n_a"], row["n_b"])),
                               spread_refused=row.get("spread_refused") in (True, 1)))
    return [Family(table=t, factor=f, within=w, recipe=g["recipe"], test_name=UNPAIRED_TEST,
                   levels=tuple(sorted(g["levels"].values(), key=lambda lv: _sort_key(g["order"][lv.name]))),
                   tests=tuple(g["tests"])) for (t, f, w), g in groups.items()]


def _level(table: str, name: str, config: Mapping[str, Any], run: float) -> Level:
    sd, n = paper_noise(table, config)
    return Level(name=name, paper=paper_value(table, dict(config)), run=run, paper_sd=sd, paper_n=n)


def _sort_key(v: Any) -> tuple[int, Any]:
    """Levels in order: numbers by value, text (recipes, losses) alphabetically after them."""
    try:
        return (0, float(v))
    except (TypeError, ValueError):
        return (1, str(v))


def _level_name(factor: str, value: Any) -> str:
    return f"{fmt_value(value)} px" if factor == "test_res" else f"crop {fmt_value(value)}"


def paired_families(paired: Mapping[str, pd.DataFrame] | None,
                    baselines: Mapping[str, Mapping[str, Any]] | None) -> list[Family]:
    """The paired section's rows (eval set ``val``, the other evaluation factor at its baseline)
    per recipe: crop ratio → Table 9, test resolution → Figure 4."""
    out: list[Family] = []
    for factor, table in (("crop_pct", "table9"), ("test_res", "figure4")):
        rows = (paired or {}).get(factor)
        if rows is None or not len(rows) or "recipe" not in rows.columns:
            continue
        rows = rows[rows["eval_set"].astype(str) == MAIN_SET] if "eval_set" in rows.columns else rows
        other = "test_res" if factor == "crop_pct" else "crop_pct"
        if other in rows.columns and baselines and other in baselines:
            rows = rows[[_same(v, baselines[other]["value"]) for v in rows[other]]]
        group_cols = [c for c in rows.attrs.get("groups", ["recipe"]) if c in rows.columns and c != "eval_set"]
        for key, g in rows.groupby(group_cols, sort=True, dropna=False):
            out.append(_paired_family(table, factor, group_cols, key, g))
    return [f for f in out if f.recipe in PAPER_RECIPES]


def _paired_family(table: str, factor: str, cols: list[str], key: Any, g: pd.DataFrame) -> Family:
    key = key if isinstance(key, tuple) else (key,)
    recipe = str(dict(zip(cols, key)).get("recipe", ""))
    base = g["baseline"].iloc[0]

    def level(value: Any, run: float) -> Level:
        if table != "table9":
            return Level(name=_level_name(factor, value), paper=None, run=float(run))
        return _level("table9", _level_name(factor, value), {"recipe": recipe, "crop_pct": value}, float(run))

    levels = [level(base, g["mean_baseline"].iloc[0])] + [level(v, m) for v, m in zip(g["level"], g["mean_level"])]
    tests = [Test(a=_level_name(factor, r["level"]), b=_level_name(factor, base), diff=r["diff"], verdict=r["verdict"],
                  p=r["p_holm"], n=int(r["n_pairs"])) for r in g.to_dict("records")]
    return Family(table=table, factor=factor, within=short_label(cols, key), recipe=recipe, test_name=PAIRED_TEST,
                  levels=tuple(sorted(levels, key=lambda lv: _order(g, factor, lv.name))), tests=tuple(tests))


def _order(g: pd.DataFrame, factor: str, name: str) -> float:
    values = [*g["level"], g["baseline"].iloc[0]]
    for v in values:
        if _level_name(factor, v) == name:
            return float(v)
    return float("inf")


def _same(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return str(a) == str(b)


def _why(t: Test) -> str:
    """Why a test does not decide: its verdict, ``spread_refused`` apart from ``not_resolvable``."""
    if t.verdict == "not_resolvable" and t.spread_refused:
        return "spread_refused"
    return str(t.verdict or "not_compared")


def _higher(a: str, b: str, x: float | None, y: float | None) -> str | None:
    if x is None or y is None or pd.isna(x) or pd.isna(y) or x == y:
        return None
    return a if x > y else b


def _judge(paper_pick: str | None, run_pick: str | None, why: str, paper_test: PaperTest | None,
           in_words: bool) -> tuple[str, str]:
    """(direction, why): undecided without the run's decision, without a paper direction, or where
    the paper's own numbers do not tell its two values apart (``in_words``: Figure 4, the paper's text)."""
    if run_pick is None:
        return "undecided", why
    if paper_pick is None:
        return "undecided", "paper_tie"
    if not in_words and (paper_test is None or not paper_test.decided):
        return "undecided", "paper_noise"
    return ("agree" if paper_pick == run_pick else "disagree"), ""


def _row(fam: Family, kind: str, levels: Sequence[Level], tests: Sequence[Test], paper_pick: str | None,
         run_lean: str | None, run_pick: str | None, why: str, paper_test: PaperTest | None = None) -> PaperComparison:
    direction, why = _judge(paper_pick, run_pick, why, paper_test, kind == "gain")
    return PaperComparison(table=fam.table, kind=kind, factor=fam.factor, within=fam.within, test_name=fam.test_name,
                           levels=tuple(levels), tests=tuple(tests), paper_pick=paper_pick, run_lean=run_lean,
                           run_pick=run_pick, direction=direction, why=why, paper_test=paper_test)


def _paper_test(a: Level, b: Level) -> PaperTest | None:
    if a.paper is None or b.paper is None:
        return None
    return paper_difference((a.paper, a.paper_sd, a.paper_n), (b.paper, b.paper_sd, b.paper_n))


def pair_rows(fam: Family) -> list[PaperComparison]:
    """One row per test of the family whose two arms both have a paper value."""
    by_name = {lv.name: lv for lv in fam.levels}
    out = []
    for t in fam.tests:
        a, b = by_name[t.a], by_name[t.b]
        if a.paper is None or b.paper is None:
            continue
        decided = t.verdict in DECIDING
        run_pick = (t.a if t.verdict == "a_better" else t.b) if decided else None
        out.append(_row(fam, "pair", (a, b), (t,), _higher(t.a, t.b, a.paper, b.paper),
                        _higher(t.a, t.b, a.run, b.run), run_pick, "" if decided else _why(t),
                        _paper_test(a, b)))
    return out


def _beats(tests: Sequence[Test], best: str, other: str) -> bool:
    """Whether one of the report's tests decides ``best`` above ``other``."""
    return any((t.a, t.b, t.verdict) in ((best, other, "a_better"), (other, best, "b_better")) for t in tests)


def peak_row(fam: Family) -> PaperComparison | None:
    """Where the peak is, among the family's levels with a paper value (three or more)."""
    levels = [lv for lv in fam.levels if lv.paper is not None and not pd.isna(lv.run)]
    if len(levels) < 3:
        return None
    top_paper = max(lv.paper for lv in levels if lv.paper is not None)
    papers = [lv.name for lv in levels if lv.paper == top_paper]
    top_run = max(lv.run for lv in levels)
    runs = [lv.name for lv in levels if lv.run == top_run]
    lean = runs[0] if len(runs) == 1 else None
    decided = lean is not None and all(_beats(fam.tests, lean, lv.name) for lv in levels if lv.name != lean)
    why = "" if decided else ("untested" if lean is not None and not all(
        any({t.a, t.b} == {lean, lv.name} for t in fam.tests) for lv in levels if lv.name != lean) else "not_decided")
    top = next(lv for lv in levels if lv.name == papers[0])
    paper_tests = [_paper_test(top, lv) for lv in levels if lv.name != top.name]
    weakest = None if any(pt is None for pt in paper_tests) else min(
        paper_tests, key=lambda pt: (pt.decided, -(pt.p or 0.0), abs(pt.diff)))
    return _row(fam, "peak", levels, fam.tests, papers[0] if len(papers) == 1 else None, lean,
                lean if decided else None, why, weakest)


def gain_row(fam: Family) -> PaperComparison | None:
    """Figure 4: does a test resolution above the trials' own gain (the paper: A1/A2 yes, A3 no)."""
    if fam.recipe not in FIGURE4_GAINS or not fam.tests:
        return None
    own = fam.tests[0].b
    own_res = float(own.split()[0])
    above = [t for t in fam.tests if float(t.a.split()[0]) > own_res and not pd.isna(t.diff)]
    if not above:
        return None
    gains = [t for t in above if t.verdict == "a_better"]  # any decided gain decides it
    best = max(gains or above, key=lambda t: t.diff)
    lean = "gains" if gains or best.diff > 0 else "no gain"
    decided = bool(gains) or (lean == "no gain" and all(t.verdict == "b_better" for t in above))
    tests = (best, *(t for t in above if t is not best))  # the one the sentence names first
    return _row(fam, "gain", fam.levels, tests, "gains" if FIGURE4_GAINS[fam.recipe] else "no gain", lean,
                lean if decided else None, "" if decided else _why(best))


def paper_families(df: pd.DataFrame, by: Sequence[str], comparisons: pd.DataFrame | None = None,
                   paired: Mapping[str, pd.DataFrame] | None = None,
                   paired_baseline: Mapping[str, Mapping[str, Any]] | None = None,
                   units: PaperUnits | None = None) -> list[Family]:
    """The report's comparisons that map onto a paper table, as families (see :func:`beside_paper`)."""
    return unpaired_families(df, by, comparisons, units) + paired_families(paired, paired_baseline)


def unmatched_levels(families: Sequence[Family]) -> list[str]:
    """The levels of families on a paper table that have no paper value (e.g. a digits value a
    ``units: paper`` sweep has no paper counterpart for): they are in no row, and counted."""
    names = [lv.name for f in families if f.table != "figure4" for lv in f.levels if lv.paper is None]
    return list(dict.fromkeys(names))


def beside_paper(df: pd.DataFrame, by: Sequence[str], comparisons: pd.DataFrame | None = None,
                 paired: Mapping[str, pd.DataFrame] | None = None,
                 paired_baseline: Mapping[str, Mapping[str, Any]] | None = None,
                 units: PaperUnits | None = None) -> list[PaperComparison]:
    """Every comparison of the report that maps onto a paper table, judged against the paper.

    ``comparisons``: the comparisons section's table (:func:`analysis.compare_all` /
    :func:`analysis.compare_within` rows); ``paired``/``paired_baseline``: the paired section's
    ``{factor: compare_paired rows}`` and its baselines; ``units``: the manifest's ``paper_units``.
    Pair rows first, then each family's peak; Figure 4 gives one ``gain`` row per recipe.
    """
    return judge_families(paper_families(df, by, comparisons, paired, paired_baseline, units))


def judge_families(families: Sequence[Family]) -> list[PaperComparison]:
    """The rows of :func:`beside_paper` from its families."""
    out: list[PaperComparison] = []
    for fam in families:
        if fam.table == "figure4":
            row = gain_row(fam)
            out += [row] if row is not None else []
            continue
        out += pair_rows(fam)
        peak = peak_row(fam)
        out += [peak] if peak is not None else []
    return out
