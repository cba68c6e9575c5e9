"""The sentences of "Beside the paper", each written from one
:class:`~analysis.groups.paper.PaperComparison` (or a count of them): what the paper has, what
this run's means say, whether the run's own test decides it, and the verdict. None claims more
than the report's own test: an undecided row says so, at 3 seeds as at 100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..text.formatting import fmt_p, fmt_value

#: How the sentences name each paper table.
TABLE_NAMES = {"table1": "Table 1", "table3": "Table 3", "table6": "Table 6", "table9": "Table 9",
               "drop_path": "the drop-path ablation", "smoothing": "the smoothing ablation", "figure4": "Figure 4"}
#: What an undecided row's ``why`` reads as.
WHY = {"not_resolvable": "not resolvable, as the design cannot reach α after Holm",
       "spread_refused": ("not resolvable, as the smaller arm's std is so much wider than the other's, with so few "
                          "seeds, that the tests do not hold α (the comparisons section states the rule; "
                          "benchmarks/results/stats_calibration_spread.md)"),
       "within_seed_noise": "the difference is within the seed noise",
       "not_compared": "the arms have too few seeds to compare",
       "untested": "the report does not compare it with every other level, only each level with the baseline",
       "not_decided": "they do not put one level above every other",
       "paper_tie": "the paper prints the same value for both, so there is no direction to agree with",
       "paper_noise": "the paper's own difference is within its noise"}
#: The paper's own test resolution, for Figure 4's sentences.
PAPER_TEST_RES = 224


def table_name(table: str) -> str:
    """'Table 9', 'the drop-path ablation', …"""
    return TABLE_NAMES.get(table, table)


def _pct(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f} %"


def _where(within: str) -> str:
    return f" ({within})" if within else ""


def _verdict_text(row: Any) -> str:
    if row.direction == "undecided":
        return "undecided"
    return "agrees with the paper" if row.direction == "agree" else "disagrees with the paper"


def _test_text(row: Any) -> str:
    """The decisive test: its name, Holm p and size (the smallest of the row's tests)."""
    ps = [t.p for t in row.tests if t.p is not None and not (isinstance(t.p, float) and math.isnan(t.p))]
    n = min((t.n for t in row.tests), default=0)
    p = f", p = {fmt_p(max(ps))}" if ps and row.kind == "pair" else ""
    return f"{row.test_name}{p}, n = {n}"


def paper_test_text(row: Any) -> str:
    """How the paper's own numbers tell its two values apart (or not): which test, and its result."""
    pt = row.paper_test
    if pt is None:
        return "the paper prints no seed std to judge its difference by"
    beyond = "beyond its noise" if pt.decided else "within its noise"
    if pt.kind == "welch":
        return f"Welch's t on the paper's {pt.n}-seed means and stds, p = {fmt_p(pt.p)}: {beyond}"
    return (f"the paper's side is one seed: |Δ| = {abs(pt.diff):.2f} {'>' if pt.decided else '≤'} "
            f"{pt.threshold:.2f}, twice the noise of a one-seed difference by Table 9's seed std: {beyond}")


def _decision_clause(row: Any, what: str) -> str:
    tests, verb = ("tests", "decide") if row.kind == "peak" else ("test", "decides")
    if row.decided and row.why == "paper_noise":
        return f"and its own {tests} {verb} {what} ({_test_text(row)}), but {WHY['paper_noise']}"
    if row.decided:
        return f"and its own {tests} {verb} {what} ({_test_text(row)})"
    return (f"but its own {tests} {'do' if row.kind == 'peak' else 'does'} not decide {what}: "
            f"{WHY.get(row.why, row.why)} ({_test_text(row)})")


def _lean(a: str, b: str, x: float, y: float, lean: str | None) -> str:
    if lean is None:
        return f"{a} and {b} level"
    return f"{a} above {b}" if lean == a else f"{a} below {b}"


def pair_sentence(row: Any) -> str:
    """A against B: the paper's two values, the run's two means, the run's decision, the verdict."""
    a, b = row.levels
    paper = (f"the paper has {_lean(a.name, b.name, a.paper, b.paper, row.paper_pick)} "
             f"({_pct(a.paper)} vs {_pct(b.paper)}; {paper_test_text(row)})")
    run = f"this run's means put {_lean(a.name, b.name, a.run, b.run, row.run_lean)} ({_pct(a.run)} vs {_pct(b.run)})"
    return (f"{table_name(row.table)}{_where(row.within)}, {a.name} against {b.name}: {paper}; {run}, "
            f"{_decision_clause(row, 'the difference')}: {_verdict_text(row)}.")


def peak_sentence(row: Any) -> str:
    """Where the peak is: the paper's highest level, the run's, whether the run's tests decide it."""
    paper = {lv.name: lv.paper for lv in row.levels}
    run = {lv.name: lv.run for lv in row.levels}
    names = "/".join(lv.name for lv in row.levels)
    p = (f"the paper's highest of {names} is {row.paper_pick} ({_pct(paper[row.paper_pick])}; against the "
         f"closest other level, {paper_test_text(row)})" if row.paper_pick
         else f"the paper's highest of {names} is shared by several levels")
    r = (f"this run's highest mean is {row.run_lean} ({_pct(run[row.run_lean])})" if row.run_lean
         else "this run's highest mean is shared by several levels")
    return (f"{table_name(row.table)}{_where(row.within)}, where the peak is: {p}; {r}, "
            f"{_decision_clause(row, 'that it is above every other level')}: {_verdict_text(row)}.")


def gain_sentence(row: Any) -> str:
    """Figure 4: a test resolution above the trials' own, gain or not, in the paper and the run."""
    own = row.tests[0].b
    best = row.tests[0]  # the deciding level (else the largest difference): groups.paper.gain_row
    paper = "gain" if row.paper_pick == "gains" else "do not gain"
    which = "decided-higher" if row.run_pick == "gains" else "best"
    return (f"Figure 4{_where(row.within)}: the paper says models trained this way {paper} from a test "
            f"resolution above the one they are tested at ({PAPER_TEST_RES} px; here {own}, the paired comparisons' "
            f"baseline); "
            f"this run's {which} resolution above it is {best.a}, {best.diff:+.2f} points, "
            f"{_decision_clause(row, 'whether it gains')}: {_verdict_text(row)}.")


def comparison_sentence(row: Any) -> str:
    """The sentence of one row, by its kind."""
    text = {"pair": pair_sentence, "peak": peak_sentence, "gain": gain_sentence}[row.kind](row)
    return text[:1].upper() + text[1:]


def _n(k: int, one: str, many: str) -> str:
    """``1 comparison`` / ``2 comparisons``: the count with its noun (or verb phrase) in number."""
    return f"{k} {one if k == 1 else many}"


def _units_clause(units: Any) -> str:
    """How a ``units: paper`` sweep's values were read back (the manifest's ``paper_units``)."""
    if not units:
        return ""
    parts = [f"{field} " + ", ".join(f"{fmt_value(d)}→{fmt_value(p)}" for p, d in pairs) for field, pairs in units.items()]
    return f" This sweep ran in paper units: its digits values are read back as the paper's ({'; '.join(parts)})."


def _unmatched_clause(unmatched: Sequence[str]) -> str:
    if not unmatched:
        return ""
    have = "has" if len(unmatched) == 1 else "have"
    return (f" {_n(len(unmatched), 'level', 'levels')} of this run {have} no paper counterpart (unmatched, in no row "
            f"below): {', '.join(unmatched)}.")


def count_sentence(rows: Sequence[Any], tables: Sequence[str], layouts: Sequence[str] = (),
                   unmatched: Sequence[str] = (), units: Any = None) -> str:
    """The section's first sentence: which paper tables, how many comparisons and peaks (and
    Figure 4's gains) agree, disagree, are undecided; ``layouts``: the paper layouts shown below
    (``Table 1``, ``Table 3``); ``unmatched``: the levels with no paper value; ``units``: the
    manifest's ``paper_units``."""
    where = ", ".join(table_name(t) for t in tables)
    tail = _unmatched_clause(unmatched) + _units_clause(units)
    if not rows:
        verb = "puts" if len(layouts) == 1 else "put"
        shown = f"; {' and '.join(layouts)} below {verb} its numbers beside the paper's" if layouts else ""
        return (f"This run maps onto {where}, but none of the report's comparisons has a paper value on both "
                f"sides{shown}.{tail}")
    n = {d: sum(r.direction == d for r in rows) for d in ("agree", "disagree", "undecided")}
    kinds = [sum(r.kind == k for r in rows) for k in ("pair", "peak", "gain")]
    what = [_n(k, one, many) for k, one, many in zip(kinds, ("comparison", "peak", "Figure 4 gain"),
                                                      ("comparisons", "peaks", "Figure 4 gains")) if k]
    what_text = " and ".join(what) if len(what) < 3 else f"{what[0]}, {what[1]} and {what[2]}"
    peaks = " (a peak reuses its family's tests: it is not a further test)" if kinds[1] else ""
    return (f"Beside the paper ({where}): of {what_text} with the paper's values{peaks}, "
            f"{_n(n['agree'], 'agrees', 'agree')} in direction and {'is' if n['agree'] == 1 else 'are'} decided "
            f"by this run's own tests, {_n(n['disagree'], 'disagrees', 'disagree')} and "
            f"{'is' if n['disagree'] == 1 else 'are'} decided, and {n['undecided']} "
            f"{'is' if n['undecided'] == 1 else 'are'} undecided (this run's tests do not decide "
            f"{'it' if n['undecided'] == 1 else 'them'}, or the paper's own numbers do not). Only directions are "
            f"compared: on another data set or budget the absolute numbers differ from the paper's.{tail}")


def no_mapping_sentence(by: Sequence[str], recipes_known: bool) -> str:
    """When the sweep maps onto no paper table (``recipes_known``: it runs A1/A2/A3)."""
    what = ", ".join(by) if by else "nothing (one configuration)"
    if recipes_known:
        return f"This run maps onto no table of the paper: it varies {what}, which no table of the paper varies so."
    return f"This run maps onto no table of the paper: it varies {what}, and runs none of the recipes A1/A2/A3."


def table3_skipped_sentence() -> str:
    """Table 3 asked for but without recorded paper names."""
    return ("The models compared are not named by the paper's architecture names (no `paper_model` recorded): "
            "Table 3 is not put beside them.")


def run_side(row: Any) -> str:
    """report.json's ``run`` of a row: the run's values in a few words."""
    if row.kind == "gain":
        best = row.tests[0]  # the deciding level (else the largest difference): groups.paper.gain_row
        return f"best above {row.tests[0].b}: {best.a}, {best.diff:+.2f} ({best.verdict})"
    if row.kind == "peak":
        return f"highest: {row.run_lean or 'tie'}" + (" (decided)" if row.decided else " (not decided)")
    a, b = row.levels
    return f"{a.name} {_pct(a.run)} vs {b.name} {_pct(b.run)} ({row.tests[0].verdict})"


def paper_side(row: Any) -> str:
    """report.json's ``paper`` of a row: the paper's values in a few words."""
    if row.kind == "gain":
        return f"{'gains' if row.paper_pick == 'gains' else 'no gain'} above {PAPER_TEST_RES} px"
    if row.kind == "peak":
        best = next((lv for lv in row.levels if lv.name == row.paper_pick), None)
        return f"highest: {row.paper_pick} ({_pct(best.paper)})" if best else "highest: tie"
    a, b = row.levels
    return f"{a.name} {_pct(a.paper)} vs {b.name} {_pct(b.paper)}"


def comparison_label(row: Any) -> str:
    """report.json's ``comparison`` of a row."""
    where = _where(row.within)
    if row.kind == "gain":
        return f"test resolution above the own{where}"
    if row.kind == "peak":
        return f"peak of {row.factor}{where}"
    a, b = row.levels
    return f"{a.name} against {b.name}{where}"
