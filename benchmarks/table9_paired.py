"""Table 9 on digits, train once and evaluate many: cost before/after and paired vs unpaired seeds.

1. Trains ``--seeds`` A2 models on the embedded digits (``--epochs`` shortens the preset's 42
   so that it runs in minutes on a shared 2-core machine), one thread each, and evaluates each
   final checkpoint at every crop ratio × test resolution with :func:`trainer.evaluate.evaluate_run`
   (no retraining). The evaluations table is written next to the runs.
2. Times one training epoch of each recipe at its full preset (A1 84, A2 42, A3 14 epochs:
   two epochs each, ``stop_after=2``) and one evaluation, side by side in this process, and
   prices the paper's Table 9 (3 recipes × 4 crop ratios × 10 seeds) both ways: 120 trainings
   before, 30 trainings + 90 evaluations after.
3. From the measured top-1s: the paired analysis (:func:`analysis.groups.paired.compare_paired`),
   the Table 9 layout, Figure 4, and the seeds needed for 80 % power to detect each crop
   effect, paired (one-sample t on the per-seed differences, statsmodels ``TTestPower``)
   against unpaired (two-sample t with the between-seed std, ``TTestIndPower``).

Writes benchmarks/results/table9_paired.{json,md} and the figure next to them. Runs, the
evaluations table and the timings are kept in ``--work``: a second call only re-analyses.

    python benchmarks/table9_paired.py --seeds 5 --epochs 12 [--work /tmp/table9]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from trainer import resolve_config, train
from trainer.evaluate import evaluate_run

CROPS = (0.875, 0.9, 0.95, 1.0)
CONFIG_COLUMNS = ("recipe", "model", "dataset", "seed", "seed_init", "seed_data", "seed_aug", "lr",
                  "weight_decay", "loss", "aug_repeats", "smoothing", "drop_path", "mixup", "cutmix",
                  "epochs", "batch_size", "train_res")


def train_and_evaluate(work: Path, recipe: str, seeds: int, epochs: int, test_res: list[int]) -> pd.DataFrame:
    """Train (or reuse) one run per seed; evaluate each at every crop × resolution."""
    rows, timings = [], []
    for seed in range(seeds):
        config = resolve_config(recipe, seed=seed, epochs=epochs)
        out = work / f"{recipe}-seed{seed}"
        if not (out / "metrics.json").is_file():
            start = time.perf_counter()
            train(config, out_dir=out, log=lambda _: None)
            print(f"trained {out.name} in {time.perf_counter() - start:.0f} s", flush=True)
        start = time.perf_counter()
        evaluations = evaluate_run(out, crop_pct=CROPS, test_res=test_res, device="cpu")
        wall = time.perf_counter() - start
        timings.append(wall / len(evaluations))
        for e in evaluations:
            rows.append({"experiment": work.name, "trial_id": out.name, **e.row(), "status": "TERMINATED",
                         "error": None, **{c: getattr(config, c) for c in CONFIG_COLUMNS}})
        print(f"evaluated {out.name}: {len(evaluations)} evaluations, {wall:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    table.attrs["seconds_per_evaluation_incl_load"] = statistics.median(timings)
    return table


def time_recipes(work: Path) -> dict[str, dict[str, float]]:
    """Seconds per epoch (training + its evaluation) of each recipe at its full digits preset."""
    out = {}
    for recipe in ("a1", "a2", "a3"):
        config = resolve_config(recipe, seed=0)
        start = time.perf_counter()
        result = train(config, out_dir=work / f"timing-{recipe}", stop_after=2, log=lambda _: None)
        per_epoch = (time.perf_counter() - start) / len(result.history)
        out[recipe] = {"epochs": config.epochs, "seconds_per_epoch": per_epoch,
                       "run_seconds": per_epoch * config.epochs, "train_res": config.train_res}
        print(f"{recipe}: {per_epoch:.1f} s/epoch -> {per_epoch * config.epochs:.0f} s per run", flush=True)
    return out


def one_evaluation_seconds(run_dir: Path) -> float:
    """Wall time of one evaluation call at the run's own setting (checkpoint load included)."""
    start = time.perf_counter()
    evaluate_run(run_dir, device="cpu")
    return time.perf_counter() - start


def seeds_needed(evaluations: pd.DataFrame, own_res: int, baseline: float = 0.95) -> list[dict]:
    """Seeds for 80 % power (α = 0.05, two-sided t) to detect each crop's effect, paired vs unpaired."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    from analysis.stats.paired import seeds_to_resolve

    at = evaluations[evaluations.test_res == own_res].pivot(index="trial_id", columns="crop_pct", values="top1")
    out = []
    for level in [c for c in at.columns if not math.isclose(c, baseline)]:
        d = at[level] - at[baseline]
        between = math.sqrt((at[level].var(ddof=1) + at[baseline].var(ddof=1)) / 2)
        row = {"crop_pct": level, "baseline": baseline, "n_seeds": int(d.size), "mean_diff": float(d.mean()),
               "sd_diff_paired": float(d.std(ddof=1)), "sd_between_seeds": between}
        for kind, sd, power in (("paired", row["sd_diff_paired"], TTestPower()),
                                ("unpaired", between, TTestIndPower())):
            tiny = 1e-9 * max(1.0, abs(row["mean_diff"]))  # every seed moved by the same amount: no spread
            effect = abs(row["mean_diff"]) / sd if sd > tiny else math.inf
            if effect < 1e-9:
                n = math.inf
            elif effect > 10:  # beyond what the solver brackets: the test's own minimum
                n = 2.0
            else:
                n = power.solve_power(effect_size=effect, alpha=0.05, power=0.8, alternative="two-sided")
            row[f"seeds_{kind}"] = float(math.ceil(n)) if math.isfinite(n) else math.inf
        # the decision tests' floors: exact signed-rank (paired) and the permutation test (unpaired, 2/C(2n, n)) must be
        # able to reach α after Holm over the m levels at all, whatever the t-power says
        m = len(at.columns) - 1
        row["seeds_paired_decidable"] = max(row["seeds_paired"], seeds_to_resolve(m, 0.05))
        floor_unpaired = next(n for n in range(2, 100) if m * 2 / math.comb(2 * n, n) < 0.05)
        row["seeds_unpaired_decidable"] = max(row["seeds_unpaired"], floor_unpaired)
        # unpaired: n seeds per arm, two arms of separately trained models
        row["models_unpaired"] = 2 * row["seeds_unpaired_decidable"]
        row["models_paired"] = row["seeds_paired_decidable"]
        out.append(row)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="a2")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--work", default="/tmp/table9_paired")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/table9_paired")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    own = resolve_config(args.recipe)
    test_res = sorted({own.test_res - 8, own.test_res, own.test_res + 8})

    cache, timing = work / "evaluations.parquet", work / "timing.json"
    if cache.is_file():
        evaluations = pd.read_parquet(cache)
    else:
        evaluations = train_and_evaluate(work, args.recipe, args.seeds, args.epochs, test_res)
        evaluations.to_parquet(cache)
        timing.unlink(missing_ok=True)
    if not timing.is_file():  # measured side by side, after the study's trainings
        recipes = time_recipes(work)
        single_eval = one_evaluation_seconds(work / f"{args.recipe}-seed0")
        timing.write_text(json.dumps({"recipes": recipes, "one_evaluation_seconds": single_eval,
                                      "per_eval": evaluations.attrs.get("seconds_per_evaluation_incl_load")}))
    times = json.loads(timing.read_text())
    recipes, single_eval, per_eval = times["recipes"], times["one_evaluation_seconds"], times["per_eval"]

    from analysis.groups.paired import compare_paired
    from analysis.present.figures import save_figure
    from analysis.present.figures_paired import plot_test_res
    from analysis.present.tables_paired import format_table9_paired

    crop_only = evaluations[evaluations.test_res == own.test_res]
    comparisons = compare_paired(crop_only, factor="crop_pct", baseline=0.95, within=["recipe"])
    table = format_table9_paired(crop_only, comparisons, factor="crop_pct", baseline=0.95)
    fig = plot_test_res(evaluations[np.isclose(evaluations.crop_pct, own.crop_pct)])
    save_figure(fig, Path(f"{args.out}_fig4"))

    train_total_before = 10 * 4 * sum(r["run_seconds"] for r in recipes.values())
    train_total_after = 10 * sum(r["run_seconds"] for r in recipes.values())
    eval_total_after = 90 * single_eval
    summary = {
        "command": f"python benchmarks/table9_paired.py --seeds {args.seeds} --epochs {args.epochs}",
        "recipe": args.recipe, "seeds": args.seeds, "epochs": args.epochs, "threads": args.threads,
        "note": "timings on a shared 2-core machine (load average ~15): compare ratios, not absolute seconds",
        "recipe_timing": recipes,
        "one_evaluation_seconds": single_eval,
        "seconds_per_evaluation_incl_load": per_eval,
        "evaluation_vs_a2_training": single_eval / recipes["a2"]["run_seconds"],
        "table9_before": {"models_trained": 120, "evaluations": 0, "cpu_seconds": train_total_before},
        "table9_after": {"models_trained": 30, "evaluations": 90,
                         "cpu_seconds": train_total_after + eval_total_after},
        "table9_speedup": train_total_before / (train_total_after + eval_total_after),
        "seeds_needed_80pct_power": seeds_needed(evaluations, own.test_res),
        "paired_comparisons": json.loads(comparisons.drop(columns=["sentence"]).to_json(orient="records")),
    }
    results_json = Path(args.out).with_suffix(".json")
    results_json.parent.mkdir(parents=True, exist_ok=True)
    results_json.write_text(json.dumps(summary, indent=2))
    md = [f"# Table 9 on digits ({args.recipe.upper()}, {args.seeds} seeds, {args.epochs} epochs)", "",
          f"`{summary['command']}`", "", table.markdown, "",
          *[f"- {s}" for s in comparisons["sentence"]], "",
          "Seeds for 80 % power at α = 0.05 (t-test power from the measured sds; then at least the seeds the",
          "exact decision test needs to reach α after Holm over the 3 levels: 7 pairs signed-rank, 5 per arm",
          "Mann-Whitney):", "",
          "| crop | mean Δ | sd of paired Δ | between-seed sd | t-power paired | t-power unpaired (per arm) "
          "| models trained, paired | models trained, unpaired |",
          "|---|---|---|---|---|---|---|---|"]
    for r in summary["seeds_needed_80pct_power"]:
        md.append(f"| {r['crop_pct']} | {r['mean_diff']:+.2f} | {r['sd_diff_paired']:.2f} | "
                  f"{r['sd_between_seeds']:.2f} | {r['seeds_paired']:g} | {r['seeds_unpaired']:g} | "
                  f"{r['models_paired']:g} | {r['models_unpaired']:g} |")
    md += ["", f"One evaluation: {single_eval:.1f} s; one A2 training: {recipes['a2']['run_seconds']:.0f} s "
               f"(ratio {summary['evaluation_vs_a2_training']:.4f}).",
           f"Table 9 (3 recipes × 4 crops × 10 seeds): before 120 trainings ≈ {train_total_before / 3600:.1f} CPU-h; "
           f"after 30 trainings + 90 evaluations ≈ {(train_total_after + eval_total_after) / 3600:.1f} CPU-h "
           f"({summary['table9_speedup']:.2f}× less)."]
    Path(args.out).with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
