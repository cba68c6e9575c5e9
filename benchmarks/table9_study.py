"""The Table 9 study through the real command line, before and after "train once, evaluate many".

Side by side in one run, on the embedded digits and this machine's CPUs, with the shipped
``sweeps/table9_crop_ratio.yaml`` (A1/A2/A3 × 4 crop ratios) at ``--seeds`` seeds:

* **before**: the old design, crop_pct a training axis: one trial per (recipe, crop, seed),
  written as an experiment folder and run with ``rsb-sweep resume`` (the sweep file itself
  can no longer express it: crop_pct moves to ``evaluate``);
* **after**: ``rsb-sweep run sweeps/table9_crop_ratio.yaml --seeds N``: one trial per (recipe,
  seed), each final checkpoint evaluated at the four crop ratios.

It prints and writes the models trained, the evaluations computed and the wall time of each,
checks that every (recipe, seed, crop) top-1 is the same both ways (crop_pct changes evaluation
only, and evaluation is exact), and, from the after data, the seeds needed to detect each crop
effect paired (per-seed differences) against unpaired (two groups of seeds), per recipe.

    python benchmarks/table9_study.py --seeds 3 [--work /tmp/table9_study] [--num-cpus 2]

Writes benchmarks/results/table9_study.{json,md}. Runs are kept in ``--work``; delete it to re-time.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from rsb_sweep.spec.execution import Execution
from rsb_sweep.experiment.folder import Experiment
from rsb_sweep.spec.expand import expand, trial_label
from rsb_sweep.spec.model import EvalPlan, TrialSpec
from rsb_sweep.spec.sweepfile import load_spec_file
from table9_paired import seeds_needed

SWEEP = Path(__file__).resolve().parents[1] / "sweeps" / "table9_crop_ratio.yaml"


def cli(*args: str) -> float:
    """Run ``rsb-sweep ARGS``; its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rsb_sweep", *args, "--quiet"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"rsb-sweep {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def before_experiment(root: Path, seeds: int) -> Experiment:
    """The old Table 9 design: crop_pct as a training axis, one trial per (recipe, crop, seed)."""
    spec, _ = load_spec_file(SWEEP)
    spec = replace(spec, name="table9_before", seeds=replace(spec.seeds, n=seeds), evaluate=EvalPlan())
    trials = []
    for crop in load_spec_file(SWEEP)[0].evaluate.crop_pct:
        for t in expand(replace(spec, overrides={**spec.overrides, "crop_pct": crop})):
            params = {**t.params, "crop_pct": crop}
            trials.append(TrialSpec(trial_id=trial_label(len(trials), params), index=len(trials), params=params,
                                    config=t.config))
    return Experiment.create(root, spec, Execution(), trials)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--num-cpus", type=int, default=2)
    p.add_argument("--work", default="/tmp/table9_study")
    p.add_argument("--out", default="benchmarks/results/table9_study")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    timing_file = work / "timing.json"
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else {}
    if "after" not in timing:
        timing["after"] = cli("run", str(SWEEP), "--seeds", str(args.seeds), "--out", str(work / "after"),
                              "--num-cpus", str(args.num_cpus), "--no-live")
        timing_file.write_text(json.dumps(timing))
        print(f"after: {timing['after']:.0f} s", flush=True)
    if "before" not in timing:
        if not (work / "before" / "sweep.json").is_file():
            before_experiment(work / "before", args.seeds)
        timing["before"] = cli("resume", str(work / "before"), "--num-cpus", str(args.num_cpus), "--no-live")
        timing_file.write_text(json.dumps(timing))
        print(f"before: {timing['before']:.0f} s", flush=True)

    before = pd.read_parquet(work / "before" / "results.parquet")
    after = pd.read_parquet(work / "after" / "results.parquet")
    evaluations = pd.read_parquet(work / "after" / "evaluations.parquet")
    assert set(before["status"]) == set(after["status"]) == set(evaluations["status"]) == {"TERMINATED"}
    key = ["recipe", "seed", "crop_pct"]
    joined = before.set_index(key)["top1"].to_frame("before").join(
        evaluations[evaluations["eval_set"] == "val"].set_index(key)["top1"].rename("after"), how="outer")
    max_diff = float((joined["before"] - joined["after"]).abs().max())
    needed = {recipe: seeds_needed(g, int(g["test_res"].iloc[0])) for recipe, g in evaluations.groupby("recipe")}

    n_eval = int((evaluations["source"] == "evaluation").sum())
    summary = {
        "command": f"python benchmarks/table9_study.py --seeds {args.seeds} --num-cpus {args.num_cpus}",
        "note": "wall times of the real command line on this machine, measured one after the other in one run",
        "seeds": args.seeds,
        "before": {"models_trained": len(before), "evaluations": 0, "wall_seconds": timing["before"]},
        "after": {"models_trained": len(after), "evaluations_computed": n_eval, "rows": len(evaluations),
                  "wall_seconds": timing["after"]},
        "speedup": timing["before"] / timing["after"],
        "max_abs_top1_difference_before_vs_after": max_diff,
        "pairs_compared": int(joined.notna().all(axis=1).sum()),
        "seeds_needed_80pct_power": needed,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=float))
    md = [f"# Table 9 study through the command line, before and after (digits, {args.seeds} seeds)", "",
          f"`{summary['command']}`", "",
          "| design | models trained | evaluations | wall time |", "|---|---|---|---|",
          f"| before: crop_pct a training axis | {len(before)} | 0 | {timing['before']:.0f} s |",
          f"| after: train once, evaluate many | {len(after)} | {n_eval} (+{len(evaluations) - n_eval} from training) "
          f"| {timing['after']:.0f} s |", "",
          f"After/before wall time: {timing['after'] / timing['before']:.2f} ({summary['speedup']:.2f}× faster). "
          f"Every (recipe, seed, crop) top-1 is the same both ways: max |difference| = {max_diff:g} over "
          f"{summary['pairs_compared']} pairs.", "",
          "Seeds for 80 % power (α = 0.05) to detect each crop ratio's effect against 0.95, from these seeds' "
          "numbers (t-power; 'decidable' adds the floor the exact tests need after Holm over 3 levels):", "",
          "| recipe | crop | mean Δ | sd paired Δ | between-seed sd | seeds paired | seeds per arm unpaired | "
          "models paired | models unpaired |", "|---|---|---|---|---|---|---|---|---|"]
    for recipe, rows in needed.items():
        for r in rows:
            md.append(f"| {recipe} | {r['crop_pct']:g} | {r['mean_diff']:+.2f} | {r['sd_diff_paired']:.2f} | "
                      f"{r['sd_between_seeds']:.2f} | {r['seeds_paired']:g} | {r['seeds_unpaired']:g} | "
                      f"{r['models_paired']:g} | {r['models_unpaired']:g} |")
    finite = [r for rows in needed.values() for r in rows
              if math.isfinite(r["models_paired"]) and math.isfinite(r["models_unpaired"])]
    paired_total, unpaired_total = sum(r["models_paired"] for r in finite), sum(r["models_unpaired"] for r in finite)
    summary["models_to_train_paired_vs_unpaired"] = {"rows": len(finite), "paired": paired_total,
                                                     "unpaired": unpaired_total}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=float))
    md += ["", f"Over the {len(finite)} rows where both are finite: {paired_total:g} models to train paired "
               f"(one model per seed serves both crop ratios) against {unpaired_total:g} unpaired (two arms of "
               "separately trained seeds); per row, pairing needs fewer seeds where the sd of the paired Δ is "
               "below √2 × the between-seed sd."]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
