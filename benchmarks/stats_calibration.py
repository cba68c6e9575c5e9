"""Calibration of the analysis' decisions (not a test): coverage, type-I error, power, false flags.

Runs the simulations of :mod:`analysis.stats.calibration` at full size (seeded) and writes a markdown
table to benchmarks/results/stats_calibration.md (and the numbers to stats_calibration.json).
The short seeded versions are tests/analysis/test_analysis_calibration.py. About 10 minutes on
2 cores.

    python benchmarks/stats_calibration.py [--quick]
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
from analysis import seeds_needed_for_p  # noqa: E402
from analysis.stats.rank import smallest_p  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the repetitions")
    args = ap.parse_args()
    f = 10 if args.quick else 1
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
           "Decision test: Mann-Whitney, exact below 10 seeds per arm, asymptotic from 10. "
           "Brunner-Munzel for contrast (not used to decide; on the first 2,000 pairs).", "",
           "| seeds per arm | lattice (std units) | null pairs | decision test | Brunner-Munzel | "
           "smallest attainable p |", "|---|---|---|---|---|---|"]
    out["type_i"] = []
    for n, step in ((3, None), (5, None), (7, None), (9, None), (10, None), (20, None),
                    (30, None), (50, None), (5, 0.3), (10, 0.3)):
        reps = 10_000 // f if step is None or n >= 10 else 1_000 // f
        r = K.rank_test_size(n, n, reps, seed=2, step=step)
        out["type_i"].append({"n": n, "step": step, "reps": reps, **r,
                              "smallest_p": smallest_p(n, n)})
        md.append(f"| {n} | {step or '-'} | {reps} | {r['rank_test']:.4f} | "
                  f"{r['brunner_munzel']:.4f} | {smallest_p(n, n):.2g} |")
        _write(md, args.quick)

    md += ["", "## Power of the report's procedure at the planner's n (true P(A>B) = 0.75)", "",
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


def _write(md: list[str], quick: bool, out: dict | None = None) -> None:
    """Write the table so far (a killed run leaves what it measured)."""
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    name = "stats_calibration_quick" if quick else "stats_calibration"
    (res / f"{name}.md").write_text("\n".join(md) + "\n")
    if out is not None:
        (res / f"{name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
