"""Simulated family-wise error and trainings of ``rsb-sweep race`` against the fixed design (issue 21).

Seeded simulation of seed results (normal, per-configuration std σ), raced a wave at a time up to
``--max-seeds`` seeds by ``analysis.stats.race.race`` (anytime-valid confidence sequences for every
pair, α split over the pairs), exactly what the driver calls:

1. family-wise error, P(a configuration within δ of the best is ever dropped), at 4, 8 and 22
   configurations, for an all-equal grid (every drop is an error) and the Table-6 shape;
2. trainings against the fixed design: n seeds for every configuration, decided once at the end by
   the same drop and stop rules with fixed-n Bonferroni t intervals (α over the same pairs). The
   matching n is the smallest at which the fixed design keeps the best and picks within δ of it
   (the configuration with the highest mean) at least as often as the race, reaches a decision
   (one survivor, or all equivalent within δ) at least as often, and leaves no more survivors on
   average (the same resolution); its FWER is shown beside it.

The Table-6 shape is the 22 configurations of the paper's Table 6 (A2, seed 0: means from
``--paper-values``, spread 2.5 points, the best two 0.12 apart); for 4 and 8 configurations the
configurations at evenly spaced ranks of it, the best included. Writes
benchmarks/results/race_sim.{json,md}.

    nice -n 10 python benchmarks/race_sim.py [--sims 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.stats.race import RACE_VERDICTS, race  # noqa: E402
from analysis.stats.sequential import DEFAULT_PHI  # noqa: E402

ALPHA = 0.05
PAPER = Path(__file__).resolve().parents[1] / "analysis" / "load" / "rsb_paper_values.csv"  # packaged copy of ../shared/paper/


def table6_means(path: Path) -> np.ndarray:
    """The 22 top-1 values of the paper's Table 6, in the file's order."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["table"] == "table6"]
    if len(rows) != 22:
        raise SystemExit(f"{path}: expected 22 table6 rows, found {len(rows)}")
    return np.array([float(r["value"]) for r in rows])


def shape(means: np.ndarray, k: int) -> np.ndarray:
    """``k`` configurations at evenly spaced ranks of ``means`` (the best first)."""
    ranked = np.sort(means)[::-1]
    return ranked[np.round(np.linspace(0, len(ranked) - 1, k)).astype(int)]


def outcome(mu: np.ndarray, delta: float, alive: np.ndarray, mean: np.ndarray, decided: np.ndarray,
            trainings: np.ndarray) -> dict:
    """The rates both designs are compared on, from each simulation's survivors and means."""
    close = mu >= mu.max() - delta  # within δ of the best: dropping one is an error
    best = mu == mu.max()
    pick = np.argmax(np.where(alive, mean, -np.inf), axis=-1)
    return {"fwer": float((close & ~alive).any(axis=-1).mean()),
            "p_best_kept": float((best & alive).any(axis=-1).mean()),
            "p_pick_within_delta": float(close[pick].mean()),
            "p_decided": float(decided.mean()), "survivors": float(alive.sum(axis=-1).mean()),
            "trainings": float(np.mean(trainings))}


def race_outcome(x: np.ndarray, mu: np.ndarray, delta: float, wave: int, max_seeds: int, phi: float) -> dict:
    r = race(x[..., :max_seeds], looks=list(range(wave, max_seeds + 1, wave)), alpha=ALPHA, delta=delta,
             max_seeds=max_seeds, phi=phi)
    decided = np.isin(r.verdict, [RACE_VERDICTS.index("one_survivor"), RACE_VERDICTS.index("equivalent")])
    out = outcome(mu, delta, r.alive, r.mean, decided, r.trainings)
    out["verdicts"] = {v: int((r.verdict == i).sum()) for i, v in enumerate(RACE_VERDICTS)}
    return out


def fixed_outcome(x: np.ndarray, mu: np.ndarray, delta: float, n: int) -> dict:
    """n seeds each, decided once by the same rules with fixed-n Bonferroni two-sample t intervals."""
    y = x[..., :n]
    k = y.shape[-2]
    first, second = np.triu_indices(k, 1)
    m, v = y.mean(axis=-1), y.var(axis=-1, ddof=1)
    diff = m[..., first] - m[..., second]
    half = stats.t.ppf(1 - ALPHA / first.size / 2, 2 * n - 2) * np.sqrt((v[..., first] + v[..., second]) / n)
    lower = np.full((*y.shape[:-2], k, k), -np.inf)
    lower[..., first, second] = diff - half
    lower[..., second, first] = -diff - half
    alive = ~(lower.max(axis=-2) > delta)
    pairs = alive[..., :, None] & alive[..., None, :] & ~np.eye(k, dtype=bool)
    equivalent = (delta > 0) & ((lower > -delta) | ~pairs).all(axis=(-2, -1))
    decided = (alive.sum(axis=-1) == 1) | equivalent
    return outcome(mu, delta, alive, m, decided, np.full(y.shape[0], k * n))


def matching_fixed(x: np.ndarray, mu: np.ndarray, delta: float, target: dict, resolution: bool) -> dict:
    """The smallest fixed n that keeps the best and picks within δ at least as often as the race; with
    ``resolution`` also decides at least as often and leaves no more survivors on average."""
    keys = ("p_best_kept", "p_pick_within_delta") + (("p_decided",) if resolution else ())
    for n in range(2, x.shape[-1] + 1):
        fixed = fixed_outcome(x, mu, delta, n)
        if all(fixed[k] >= target[k] for k in keys) and (not resolution or fixed["survivors"] <= target["survivors"]):
            return {"n": n, **fixed}
    return {"n": None, "beyond": x.shape[-1], **fixed_outcome(x, mu, delta, x.shape[-1])}


def scenario(rng: np.random.Generator, mu: np.ndarray, sigma: float, delta: float, sims: int, wave: int,
             max_seeds: int, fixed_max: int, compare: bool, phi: float = DEFAULT_PHI) -> dict:
    start = time.time()
    x = mu[None, :, None] + sigma * rng.standard_normal((sims, mu.size, fixed_max if compare else max_seeds))
    out = {"k": int(mu.size), "sigma": sigma, "delta": delta, "sims": sims, "wave": wave, "max_seeds": max_seeds,
           "phi": phi, "race": race_outcome(x, mu, delta, wave, max_seeds, phi)}
    if compare:
        for key, resolution in (("fixed", True), ("fixed_pick", False)):
            fixed = matching_fixed(x, mu, delta, out["race"], resolution)
            out[key] = fixed
            out[f"ratio_{key}"] = out["race"]["trainings"] / fixed["trainings"] if fixed["n"] else None
    out["seconds"] = round(time.time() - start, 1)
    print(json.dumps(out), flush=True)
    return out


def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(args.seed)
    t6 = np.array(args.means) if args.means else table6_means(args.paper_values)
    common = dict(sims=args.sims, wave=args.wave, max_seeds=args.max_seeds, fixed_max=args.fixed_max)
    fwer = []
    for k in args.ks:
        for name, mu in (("all-equal", np.full(k, 79.0)), ("table6", shape(t6, k))):
            for delta in (0.0, args.delta):
                fwer.append({"grid": name, **scenario(rng, mu, args.sigma, delta, compare=False, **common)})
    saved = []
    for sigma in args.sigmas:
        saved.append({"grid": "table6", **scenario(rng, t6, sigma, args.delta, compare=True, **common)})
    for delta in (args.delta, args.equal_delta):
        saved.append({"grid": "all-equal", **scenario(rng, np.full(t6.size, 79.0), args.sigma, delta, compare=True,
                                                      **common)})
    for phi in args.phis:
        saved.append({"grid": "table6", **scenario(rng, t6, args.sigma, args.delta, compare=True, phi=phi, **common)})
    return {"alpha": ALPHA, "seed": args.seed, "table6_means": t6.tolist(), "fwer": fwer, "trainings": saved,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}


def markdown(result: dict) -> str:
    lines = [f"# race_sim: family-wise error and trainings (α = {result['alpha']}, seed {result['seed']})", "",
             "## Family-wise error: P(a configuration within δ of the best is dropped)", "",
             "| grid | K | σ | δ | sims | FWER | trainings (mean) | verdicts |", "|---|---|---|---|---|---|---|---|"]
    for r in result["fwer"]:
        race_ = r["race"]
        lines.append(f"| {r['grid']} | {r['k']} | {r['sigma']} | {r['delta']} | {r['sims']} | {race_['fwer']:.4f} | "
                     f"{race_['trainings']:.1f} | {race_['verdicts']} |")
    lines += ["", "## Trainings: the race against the fixed design that matches it", "",
              "Fixed (resolution): the smallest n per configuration whose fixed design keeps the best, picks within "
              "δ and decides at least as often as the race and leaves no more survivors; fixed (pick): the first two "
              "only. Ratio: race trainings / fixed trainings.", "",
              "| grid | K | σ | δ | φ | race trainings | race FWER | race P(best kept) | race P(pick within δ) | "
              "race P(decided) | race survivors | fixed n (resolution) | trainings | FWER | survivors | ratio | "
              "fixed n (pick) | trainings | ratio |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["trainings"]:
        a, f, p = r["race"], r["fixed"], r["fixed_pick"]
        lines.append(f"| {r['grid']} | {r['k']} | {r['sigma']} | {r['delta']} | {r['phi']} | {a['trainings']:.1f} | "
                     f"{a['fwer']:.4f} | {a['p_best_kept']:.4f} | {a['p_pick_within_delta']:.4f} | "
                     f"{a['p_decided']:.4f} | {a['survivors']:.2f} | {_n(f)} | {f['trainings']:.0f} | "
                     f"{f['fwer']:.4f} | {f['survivors']:.2f} | {_ratio(r, 'fixed')} | {_n(p)} | "
                     f"{p['trainings']:.0f} | {_ratio(r, 'fixed_pick')} |")
    return "\n".join(lines) + "\n"


def _n(fixed: dict) -> str:
    return str(fixed["n"]) if fixed["n"] else f"> {fixed['beyond']}"


def _ratio(row: dict, key: str) -> str:
    ratio = row[f"ratio_{key}"]
    return f"{ratio:.3f}" if ratio else f"< {row['race']['trainings'] / row[key]['trainings']:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ks", type=int, nargs="+", default=[4, 8, 22])
    ap.add_argument("--sigma", type=float, default=0.15, help="seed std of the FWER table and the all-equal grid")
    ap.add_argument("--sigmas", type=float, nargs="+", default=[0.1, 0.15, 0.2], help="seed stds, Table-6 shape")
    ap.add_argument("--delta", type=float, default=0.1)
    ap.add_argument("--equal-delta", type=float, default=0.3, help="a second δ for the all-equal grid")
    ap.add_argument("--phis", type=float, nargs="*", default=[0.5, 2.0], help="other prior precisions φ, Table-6 shape")
    ap.add_argument("--wave", type=int, default=2)
    ap.add_argument("--max-seeds", type=int, default=30)
    ap.add_argument("--fixed-max", type=int, default=80, help="largest fixed n tried")
    ap.add_argument("--paper-values", type=Path, default=PAPER, help="the paper's values (its table6 rows)")
    ap.add_argument("--means", type=lambda t: [float(v) for v in t.split(",")], default=None,
                    help="comma-separated means instead of Table 6's (the smoke test: no paper file needed)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "race_sim")
    args = ap.parse_args()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
