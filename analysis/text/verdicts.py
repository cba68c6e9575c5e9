"""Every verdict sentence: the words a statistic's result says, built from its numbers.

One function per kind of result: :func:`comparison_sentence` (two arms of seeds,
:func:`analysis.compare`), :func:`not_compared_sentence` (an arm too small to compare),
:func:`paired_sentence` (a level against the baseline on the same trials,
:func:`analysis.compare_paired`), :func:`variance_sentence` (variance components),
:func:`gaussian_verdict` (a Gaussian fit) and :func:`verdict_sentence` (the last look of an
anytime-valid A/B comparison, which ``rsb-sweep ab`` writes to decision.json). They take
numbers and return text; they import nothing of the package above this layer, so the
statistics, the driver and the report all word a result the same way.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from ..errors import AnalysisError
from .formatting import fmt_p, fmt_value, label

NAN = float("nan")


def comparison_sentence(name_a, name_b, na, nb, diff, t, verdict, meaningful, gamma, alpha, metric,
                        m, test_ci, test_verdict, n_val) -> str:
    """The sentence of one comparison of A with B (``t``: its tests; ``m``: the Holm family's size).

    The verdict is the permutation Brunner-Munzel test's, about P(A>B); the interval printed
    is that of P(A>B), and "meaningful" (Bouthillier's γ) is said in the same sentence.
    """
    mag = f"{abs(diff):.2f}-point"
    word = "gain" if diff > 0 else "loss" if diff < 0 else "difference"
    p, lo, hi = t["p_a_gt_b"], t["pab_ci_low"], t["pab_ci_high"]
    ci = f" [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) else ""
    pab = f"P(A>B)={p:.2f}{ci}"
    holm = f", Holm over {m}" if m > 1 else ""
    test = f"permutation Brunner-Munzel p={fmt_p(t['p_decision'])}{holm}"
    seeds = f"{na} vs {nb} seeds"
    what = f"{metric} " if metric != "top1" else ""
    head = f"The {mag} {what}{word} of {name_a} over {name_b}"
    if verdict == "not_resolvable" and t.get("spread_refused"):
        small = name_a if na < nb else name_b
        return (f"{head} is not resolvable with {seeds}: {small}, the smaller arm, has a std more "
                f"than {t['refused_ratio']:g} times the other's, and with under {t['refused_below']} seeds "
                f"in the smaller arm the tests measured do not hold α={alpha:g} at such spreads "
                f"(benchmarks/results/stats_calibration_spread.md); {pab}.")
    if verdict == "not_resolvable":
        after = (f" ({fmt_p(t['p_min_decision'])} after Holm over {m} comparisons)"
                 if m > 1 and t["p_min_decision"] > t["p_min"] else "")
        return (f"{head} is not resolvable with {seeds}: the smallest attainable p is "
                f"{fmt_p(t['p_min'])}{after}, not below α={alpha:g}; {pab}.")
    if verdict == "within_seed_noise":
        return f"{head} is within seed noise: {pab} ({test}; {seeds})."
    where = " on this validation set" if n_val or test_verdict else ""
    tail = _test_set_tail(test_ci, test_verdict, n_val)
    if (diff > 0) != (p > 0.5) and diff != 0:
        tail += (f"; the verdict is about P(A>B): the mean of {name_a} is nevertheless "
                 f"{'higher' if diff > 0 else 'lower'}")
    if meaningful:
        verb = "beats" if p > 0.5 else "is worse than"
        bound = f"≥ γ={gamma:g}" if p > 0.5 else f"≤ 1−γ={1 - gamma:g}"
        return (f"{name_a} {verb} {name_b}: the {mag} {what}{word} is beyond seed noise{where} "
                f"and meaningful, {pab} {bound} ({test}; {seeds}){tail}.")
    return (f"{head} is beyond seed noise{where} but not meaningful: {pab} differs from 0.5 but "
            f"not by γ={gamma:g} ({test}; {seeds}){tail}.")


def _test_set_tail(test_ci, test_verdict, n_val) -> str:
    """What the paired image-bootstrap CI adds to a significant comparison."""
    if test_verdict == "clears_test_set_noise":
        return (f"; it also clears test-set noise: the paired image-bootstrap CI of the "
                f"difference [{test_ci[0]:.2f}, {test_ci[1]:.2f}] excludes 0")
    if test_verdict == "below_test_set_noise":
        return (f"; but it is below test-set noise: the paired image-bootstrap CI of the "
                f"difference [{test_ci[0]:.2f}, {test_ci[1]:.2f}] includes 0, so a new sample of "
                "test images could reverse it")
    if n_val:
        return "; whether it survives a new sample of test images needs per-image predictions"
    return ""


def not_compared_sentence(name_a: str, name_b: str, n_a: int, n_b: int) -> str:
    """Why an arm of a comparison family is not compared: fewer than 2 usable seeds."""
    short = name_a if n_a < 2 else name_b
    return f"{short} has {min(n_a, n_b)} usable seed(s): {name_a} cannot be compared with {name_b}."


def paired_sentence(r: dict, by: list[str], metric: str, confidence: float, m: int, need: int) -> str:
    """The sentence of one row of :func:`analysis.compare_paired` (``m`` levels in its Holm family;
    ``need``: the non-tied pairs that could reach α)."""
    alpha = 1 - confidence
    factor, level, base = r["factor"], fmt_value(r["level"]), fmt_value(r["baseline"])
    where = f" ({label(by, tuple(r[c] for c in by))})" if by else ""
    what = f"{metric} " if metric != "top1" else ""
    n = r["n_pairs"]
    head = f"{factor}={level} against {base}{where}"
    unpaired = f"; {r['n_unpaired']} trial(s) evaluated at only one of the two are not compared" if r["n_unpaired"] else ""
    excluded = f"; excluded rows: {r['excluded']}" if r["n_excluded"] else ""
    if n == 0:
        return f"{head}: no trial is evaluated at both{unpaired}{excluded}."
    diff = (f"{r['diff']:+.2f}-point {what}difference" +
            (f" [{r['diff_ci_low']:+.2f}, {r['diff_ci_high']:+.2f}] ({100 * confidence:g} % t-interval)"
             if math.isfinite(r["diff_ci_low"]) and r["diff_ci_low"] != r["diff_ci_high"] else ""))
    wins = (f"higher on {round(r['frac_better'] * n)} of {n} seeds"
            + (f", equal on {round(r['frac_tied'] * n)}" if r["frac_tied"] else ""))
    holm = f", Holm over {m}" if m > 1 else ""
    test = f"Wilcoxon signed-rank p={fmt_p(r['p_holm'])}{holm}, {r['wilcoxon_method']}"
    verdict = r["verdict"]
    if verdict == "within_seed_noise" and r["n_nonzero"] == 0:
        return f"{head}: identical {what or 'top-1 '}on all {n} seeds{unpaired}{excluded}."
    if verdict == "not_resolvable":
        after = f" ({fmt_p(r['p_min_holm'])} after Holm over {m})" if m > 1 else ""
        return (f"{head}: {diff}, {wins}; not resolvable with {r['n_nonzero']} non-tied pair(s): the smallest "
                f"attainable p is {fmt_p(r['p_min'])}{after}, not below α={alpha:g}; {need} non-tied pairs could "
                f"reach it{unpaired}{excluded}.")
    if verdict == "within_seed_noise":
        return f"{head}: {diff}, {wins}; within seed noise ({test}){unpaired}{excluded}."
    better = "higher" if verdict == "a_better" else "lower"
    return (f"{head}: {factor}={level} scores {better}: {diff}, {wins} ({test}; paired over {n} seeds)"
            f"{unpaired}{excluded}.")



def variance_sentence(tab: pd.DataFrame, what: str, n: int, metric: str, overlapping: bool = False) -> str:
    """What a variance-components table says (``overlapping``: each source's own set, no shares)."""
    if overlapping:
        parts = [f"{r.component} {r.std:.3f} [{math.sqrt(r.variance_ci_low):.3f}, "
                 f"{math.sqrt(r.variance_ci_high):.3f}]" for r in tab.itertuples()]
        return (f"Over {what} ({n} trials), the {metric} std of each source's own set is "
                + ", ".join(parts) + " points. Each includes the runs' non-determinism, so these "
                "overlap: they are not shares of one total and do not add up.")
    if len(tab) == 1:
        r = tab.iloc[0]
        return (f"Over {what}, the {metric} std due to {r['component']} is {r['std']:.3f} "
                f"[{math.sqrt(r['variance_ci_low']):.3f}, {math.sqrt(r['variance_ci_high']):.3f}] "
                "points.")
    if not np.isfinite(tab["share"]).all():
        return f"Over {what}, every trial has the same {metric}: there is no variance to split."
    parts = [f"{r.component} {100 * r.share:.0f}% [{100 * r.share_ci_low:.0f}%, "
             f"{100 * r.share_ci_high:.0f}%]" for r in tab.itertuples()]
    return (f"Over {what} ({n} trials), the seed variance of {metric} splits into "
            + ", ".join(parts) + ".")



def gaussian_verdict(n, x, shapiro_p, skew, kurt, alpha, step=None, ratio=NAN,
                     lattice_p=NAN, *, lattice_ratio: float) -> str:
    """The verdict of a Gaussian fit; ``lattice_ratio``: from which step/std the calibrated test decides."""
    if n < 3:
        return f"too few seeds (n={n}) to test normality"
    if np.ptp(x) == 0:
        return f"all {n} values are equal ({x[0]:.4g}): there is no spread to fit"
    small = "; few seeds, so the test has little power" if n < 20 else ""
    p, test = shapiro_p, "Shapiro-Wilk"
    lattice = ""
    if ratio >= lattice_ratio:
        p, test = lattice_p, "lattice-calibrated Shapiro-Wilk"
        lattice = (f"; the metric moves in steps of {step:.3g} points, {100 * ratio:.0f}% of the "
                   f"seed std, so ties are expected and the test is calibrated against Gaussian "
                   f"values rounded to that lattice (uncalibrated p={fmt_p(shapiro_p)})")
    if p >= alpha:
        return (f"consistent with a Gaussian ({test} p={fmt_p(p)}, n={n}, "
                f"skewness {skew:.2f}, excess kurtosis {kurt:.2f}{small}{lattice})")
    shape = []
    if abs(skew) >= 0.5:
        shape.append(f"{'left' if skew < 0 else 'right'}-skewed (skewness {skew:.2f})")
    if kurt >= 1:
        shape.append(f"heavy-tailed (excess kurtosis {kurt:.2f})")
    elif kurt <= -1:
        shape.append(f"light-tailed (excess kurtosis {kurt:.2f})")
    how = ", " + " and ".join(shape) if shape else ""
    return f"not Gaussian ({test} p={fmt_p(p)}, n={n}){how}{lattice}"



_VERDICT_WORDS = {
    "a_better": "{a} is better than {b}",
    "b_better": "{b} is better than {a}",
    "equivalent": "{a} and {b} are equivalent within δ = {delta:g}",
    "continue": "undecided after {n}",
}


def verdict_sentence(path: pd.DataFrame, *, name_a: str = "A", name_b: str = "B",
                     metric: str = "top1") -> str:
    """One sentence for the last row of :func:`sequential_compare`: verdict and interval."""
    if path.empty:
        raise AnalysisError("verdict_sentence needs at least one look.")
    last = path.iloc[-1]
    delta = float(path.attrs.get("delta", 0.0))
    alpha = float(path.attrs.get("alpha", 0.05))
    n = int(last["n"])
    head = _VERDICT_WORDS[last["decision"]].format(a=name_a, b=name_b, delta=delta,
                                                   n=f"{n} seed{'s' * (n != 1)}")
    if not np.isfinite(last["diff"]):
        ci = "no usable result in one of the arms yet"
    elif np.isfinite(last["cs_low"]) and np.isfinite(last["cs_high"]):
        ci = (f"{metric} difference {name_a} − {name_b} = {last['diff']:+.2f}, "
              f"{100 * (1 - alpha):g}% confidence sequence [{last['cs_low']:+.2f}, "
              f"{last['cs_high']:+.2f}]")
    else:
        ci = (f"{metric} difference {name_a} − {name_b} = {last['diff']:+.2f}, "
              "interval still unbounded")
    return f"{head[0].upper()}{head[1:]} ({ci}; {int(last['n_a'])} vs {int(last['n_b'])} seeds)."
