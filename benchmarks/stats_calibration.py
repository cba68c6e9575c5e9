"""Calibration of the analysis' decisions (not a test): coverage, type-I error, power, false flags.

Runs the simulations of :mod:`analysis.stats.calibration` at full size (seeded) and writes a markdown
table to benchmarks/results/stats_calibration.md (and the numbers to stats_calibration.json).
The short seeded versions are tests/analysis/test_analysis_calibration.py. About 10 minutes on
2 cores.

    python benchmarks/stats_calibration.py [--quick] [--part all|spread|rest]

``--part asymptotic`` the asymptotic Brunner-Munzel test from 100 seeds (stats_calibration_asymptotic.md),
``--part spread`` runs only the unequal-spread tables (:mod:`analysis.stats.calibration_spread`,
the choice of the decision test; written to stats_calibration_spread.md/.json, about 25 minutes
under ``nice`` on a shared 2-core machine), ``--part rest`` only the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.stats import calibration as K  # noqa: E402
from analysis.stats import calibration_spread as KS  # noqa: E402
from analysis import seeds_needed_for_p  # noqa: E402
from analysis.stats.rank import smallest_p  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the repetitions")
    ap.add_argument("--part", choices=("all", "spread", "asymptotic", "rest"), default="all")
    args = ap.parse_args()
    f = 10 if args.quick else 1
    if args.part in ("all", "spread"):
        spread(f, args.quick)
    if args.part in ("all", "asymptotic"):
        asymptotic(f, args.quick)
    if args.part in ("spread", "asymptotic"):
        return 0
    out: dict[str, list] = {}
    md: list[str] = ["# Calibration of the analysis' decisions", "",
                     "`python benchmarks/stats_calibration.py`; seeded simulations of the package's "
                     "own procedures (analysis/calibration.py). α = 0.05, 95 % intervals.", ""]
    t0 = time.time()

    md += ["## P(A>B) CI (logit Brunner-Munzel, separation bound), 10 vs 10 seeds", "",
           "| distribution | true P(A>B) | pairs | coverage | mean width | outside [0, 1] |",
           "|---|---|---|---|---|---|"]
    out["pab_ci"] = []
    for dist in K.DISTRIBUTIONS:
        for p in (0.5, 0.8):
            reps = 4000 // f
            r = K.pab_ci_coverage(10, p, dist, reps, seed=1)
            out["pab_ci"].append({"dist": dist, "p": p, "reps": reps, **r})
            md.append(f"| {dist} | {p} | {reps} | {r['coverage']:.3f} | {r['mean_width']:.3f} | "
                      f"{r['outside_01']:.3f} |")
            _write(md, args.quick)

    md += ["", "## Type-I error under the null (iid Gaussian seeds)", "",
           "Decision test: the permutation Brunner-Munzel test (every split up to 20,000, else 199 "
           "random ones here, 9,999 in the report). Mann-Whitney (the former decision test; exact "
           "below 10 seeds per arm, asymptotic from 10) and the asymptotic Brunner-Munzel test (on "
           "the first 2,000 pairs) for contrast.", "",
           "| seeds per arm | lattice (std units) | null pairs | decision test | Mann-Whitney | "
           "Brunner-Munzel asympt. | smallest attainable p (decision) |", "|---|---|---|---|---|---|---|"]
    out["type_i"] = []
    for n, step in ((3, None), (5, None), (7, None), (9, None), (10, None), (20, None),
                    (30, None), (50, None), (5, 0.3), (10, 0.3)):
        reps = 10_000 // f if step is None or n >= 10 else 1_000 // f
        r = K.rank_test_size(n, n, reps, seed=2, step=step, n_permutations=199)
        out["type_i"].append({"n": n, "step": step, "reps": reps, **r,
                              "smallest_p": smallest_p(n, n)})
        md.append(f"| {n} | {step or '-'} | {reps} | {r['decision']:.4f} | {r['rank_test']:.4f} | "
                  f"{r['brunner_munzel']:.4f} | {smallest_p(n, n):.2g} |")
        _write(md, args.quick)

    md += ["", "## Power of the report's procedure at the planner's n (true P(A>B) = 0.75; "
           "permutation Brunner-Munzel, 199 random splits, Holm)", "",
           "| comparisons (Holm) | seeds per arm | from | runs | called better | called meaningful |",
           "|---|---|---|---|---|---|"]
    out["power"] = []
    for m, n, src in ((1, seeds_needed_for_p(), "seeds_needed_for_p()"),
                      (1, seeds_needed_for_p(alternative="one-sided"), "one-sided Noether (29)"),
                      (3, seeds_needed_for_p(comparisons=3), "seeds_needed_for_p(comparisons=3)")):
        reps = 4000 // f
        r = K.procedure_power(n, 0.75, m, reps, seed=3)
        out["power"].append({"comparisons": m, "n": n, "source": src, "reps": reps, **r})
        md.append(f"| {m} | {n} | {src} | {reps} | {r['significant']:.3f} | "
                  f"{r['meaningful']:.3f} |")
        _write(md, args.quick)

    md += ["", "## CI of a group mean: coverage of t and BCa", "",
           "| seeds | distribution | groups | t | BCa |", "|---|---|---|---|---|"]
    out["mean_ci"] = []
    for n in (3, 5, 10, 20, 30, 50):
        for dist in K.DISTRIBUTIONS:
            reps = 2000 // f
            r = K.mean_ci_coverage(n, dist, reps, seed=4)
            out["mean_ci"].append({"n": n, "dist": dist, "reps": reps, **r})
            md.append(f"| {n} | {dist} | {reps} | {r['t']:.3f} | {r['bca']:.3f} |")
            _write(md, args.quick)

    md += ["", "## Outlier false flags on clean Gaussian groups", "",
           "| seeds | groups | the rule (n ≥ 10, robust z, expected count < 0.05) | "
           "robust z > 3.5 alone |", "|---|---|---|---|"]
    out["outliers"] = []
    for n in (3, 5, 10, 20, 100):
        reps = 2000 // f
        r = K.outlier_false_flags(n, reps, seed=5)
        out["outliers"].append({"n": n, "reps": reps, **r})
        md.append(f"| {n} | {reps} | {r['rule']:.3f} | {r['robust_z_only']:.3f} |")
        _write(md, args.quick)

    md += ["", "## Shapiro-Wilk on lattice-rounded Gaussian seeds (n = 100)", "",
           "| step / std | samples | plain rejection | lattice-calibrated rejection |",
           "|---|---|---|---|"]
    out["lattice"] = []
    for ratio in (0.166, 0.5):
        reps = 200 // f
        r = K.lattice_shapiro_size(100, ratio, reps, seed=6)
        out["lattice"].append({"step_ratio": ratio, "reps": reps, **r})
        md.append(f"| {ratio} | {reps} | {r['plain']:.3f} | {r['calibrated']:.3f} |")
        _write(md, args.quick)

    md += ["", f"Total {time.time() - t0:.0f} s."]
    _write(md, args.quick, out)
    print("\n".join(md))
    return 0


#: Columns of the unequal-spread table: (test, heading).
SPREAD_COLUMNS = (("bm_rule", "**BM rule (decision)**"), ("bm_rule10", "BM rule, refusal below 10"),
                  ("welch_rule", "Welch rule"), ("welch_max", "max(perm. Welch, Welch t)"),
                  ("perm_welch", "perm. Welch"), ("welch_t", "Welch t"), ("perm_bm", "perm. BM"),
                  ("bm_asymptotic", "BM asympt."), ("mwu", "MWU (today)"),
                  ("welch_ci_coverage", "Welch CI coverage"), ("pab_ci_coverage", "P(A>B) CI coverage"))
COVERAGE = ("welch_ci_coverage", "pab_ci_coverage")


def spread(f: int, quick: bool) -> None:
    """Type-I error and interval coverage when spreads and seed counts differ; power at equal spreads."""
    reps, power_reps, n_perm = 20_000 // f, 10_000 // f, 199
    md = ["# The decision test when spreads and seed counts differ", "",
          f"`python benchmarks/stats_calibration.py --part spread`: {reps:,} null pairs a cell, "
          f"{n_perm} random permutations a pair (a Monte-Carlo permutation p is exactly valid for "
          "any B), α = 0.05. The smaller arm's std is `ratio` times the larger's (> 1: the small "
          "arm is wider). Welch-type tests (the decision, permutation Welch, Welch t) are judged "
          "against equal means; Brunner-Munzel and Mann-Whitney against P(A>B) = ½ (skewed arms: "
          f"negated Gamma({KS.SKEW_SHAPE:g}), skewness −1; with unequal spreads the two nulls "
          "differ). The two candidate rules: *Welch rule* max(permutation Welch p, Welch t p), "
          "*BM rule* the permutation Brunner-Munzel p (the decision), each with no verdict when the "
          "smaller arm has < 20 seeds, fewer than the other, and a std > 1.5× the other's (*BM rule, "
          "refusal below 10*: the same below 10 seeds, the first try). Coverage: of 0 by the Welch interval of "
          "the mean difference (equal means), of ½ by the logit Brunner-Munzel interval of P(A>B) "
          "(P(A>B) = ½; t quantile on Brunner-Munzel's df), printed with every comparison.", "",
          "| seeds | shape | ratio | " + " | ".join(h for _, h in SPREAD_COLUMNS) + " |",
          "|---|---|---|" + "---|" * len(SPREAD_COLUMNS)]
    out: dict[str, list] = {"null": [], "power": []}
    t0 = time.time()
    for n_s, n_l in KS.DESIGNS:
        for shape in KS.SHAPES:
            for ratio in KS.RATIOS:
                if n_s == n_l and ratio < 1:
                    continue  # equal arms: the other direction is the same cell
                r = KS.null_rates(n_s, n_l, ratio, shape, reps, n_perm, seed=21)
                out["null"].append({"n_small": n_s, "n_large": n_l, "shape": shape, "ratio": ratio,
                                    "reps": reps, **r})
                md.append(f"| {n_s} v {n_l} | {shape} | {ratio:.2g} | "
                          + " | ".join(f"{r[k]:.4f}" if k in r else "-" for k, _ in SPREAD_COLUMNS) + " |")
                _write(md, quick, name="stats_calibration_spread")
    md += ["", f"## Power at equal spreads (Gaussian, shift 1 std, {power_reps:,} pairs)", "",
           "| seeds | " + " | ".join(h for k, h in SPREAD_COLUMNS if k not in COVERAGE) + " |",
           "|---|" + "---|" * (len(SPREAD_COLUMNS) - len(COVERAGE))]
    for n_s, n_l in KS.DESIGNS:
        r = KS.equal_spread_power(n_s, n_l, 1.0, power_reps, n_perm, seed=22)
        out["power"].append({"n_small": n_s, "n_large": n_l, "shift": 1.0, "reps": power_reps, **r})
        md.append(f"| {n_s} v {n_l} | " + " | ".join(f"{r[k]:.3f}" for k, _ in SPREAD_COLUMNS
                                                     if k not in COVERAGE) + " |")
        _write(md, quick, name="stats_calibration_spread")
    md += ["", f"Total {time.time() - t0:.0f} s (under nice -n 10 on a shared 2-core machine)."]
    _write(md, quick, out, name="stats_calibration_spread")
    print("\n".join(md))


def asymptotic(f: int, quick: bool) -> None:
    """Type-I error of the asymptotic Brunner-Munzel test, the decision from 100 seeds."""
    t0 = time.time()
    rows = KS.asymptotic_sizes(reps=20_000 // f)
    md = ["# The decision test from 100 seeds in the smaller arm: asymptotic Brunner-Munzel", "",
          f"`python benchmarks/stats_calibration.py --part asymptotic`: {rows[0]['reps']:,} null pairs "
          "a cell, P(A>B) = ½, α = 0.05; arms as in stats_calibration_spread.md.", "",
          "| seeds | shape | ratio | type-I |", "|---|---|---|---|"]
    md += [f"| {r['n_small']} v {r['n_large']} | {r['shape']} | {r['ratio']:.2g} | {r['bm_asymptotic']:.4f} |"
           for r in rows]
    md += ["", f"Total {time.time() - t0:.0f} s."]
    _write(md, quick, {"asymptotic": rows}, name="stats_calibration_asymptotic")


def _write(md: list[str], quick: bool, out: dict | None = None, name: str = "stats_calibration") -> None:
    """Write the table so far (a killed run leaves what it measured)."""
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    name = f"{name}_quick" if quick else name
    (res / f"{name}.md").write_text("\n".join(md) + "\n")
    if out is not None:
        (res / f"{name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
