"""Coverage of example_noise's distribution_var CI and of paired_image_bootstrap (not a test).

Simulated correctness matrices with known per-image rates p_i ~ U(0.2, 0.95) on n images:
independent trials (distribution variance 0), or each trial's rates shifted by N(0, tau²)
(distribution variance tau², in points² 1e4 tau²). For each number of trials, the share of
replications whose 95 % CI covers the truth, the mean estimate, and the mean ratio of the
independent-example part to the observed variance. Then the paired test-set bootstrap: test
images drawn from a population of 20,000, its CI's coverage of the population difference.
Writes benchmarks/results/example_noise_coverage.json; the short versions are in
tests/analysis/test_example_noise.py.

    python benchmarks/example_noise_coverage.py [--reps 150] [--images 500]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import analysis as A  # noqa: E402


def noise_coverage(reps: int, n: int, trials: list[int], taus: list[float], seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.2, 0.95, n)
    rows = []
    for tau in taus:
        truth = 1e4 * tau**2
        for k in trials:
            est, covered, ratio = [], 0, []
            for r in range(reps):
                shift = rng.normal(0, tau, k)
                correct = rng.random((k, n)) < np.clip(p[None] + shift[:, None], 0, 1)
                res = A.example_noise_components(correct, n_resamples=199, random_state=r)
                est.append(res.distribution_var)
                covered += res.distribution_var_ci.low <= truth <= res.distribution_var_ci.high
                ratio.append(res.independent_example_var / res.observed_var)
            rows.append(dict(tau=tau, truth_points2=truth, trials=k, images=n, reps=reps,
                             mean_distribution_var=float(np.mean(est)), sd_distribution_var=float(np.std(est)),
                             ci_coverage=covered / reps, mean_independent_over_observed=float(np.mean(ratio))))
            print(rows[-1])
    return rows


def paired_coverage(reps: int, n: int, k: int = 5, seed: int = 5) -> dict:
    rng = np.random.default_rng(seed)
    pop_a = rng.uniform(0.3, 0.95, 20000)
    pop_b = np.clip(pop_a - rng.normal(0.02, 0.1, pop_a.size), 0, 1)
    truth = 100 * (pop_a.mean() - pop_b.mean())
    covered, width = 0, []
    for r in range(reps):
        images = rng.choice(pop_a.size, n, replace=False)
        a = rng.random((k, n)) < pop_a[images]
        b = rng.random((k, n)) < pop_b[images]
        res = A.paired_image_bootstrap(a, b, n_resamples=999, random_state=r)
        covered += res.confidence_interval.low <= truth <= res.confidence_interval.high
        width.append(res.confidence_interval.high - res.confidence_interval.low)
    out = dict(images=n, trials_each=k, reps=reps, truth_points=truth, ci_coverage=covered / reps,
               mean_ci_width=float(np.mean(width)))
    print(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=150)
    ap.add_argument("--images", type=int, default=500)
    args = ap.parse_args()
    result = dict(
        distribution_var=noise_coverage(args.reps, args.images, [5, 10, 20, 50], [0.0, 0.02]),
        paired_image_bootstrap=paired_coverage(min(args.reps, 100), 300),
    )
    out = ROOT / "benchmarks" / "results" / "example_noise_coverage.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
