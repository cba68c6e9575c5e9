"""Cost of one embedded-digits run with the default preset, on one CPU thread.

The cost of one run bounds how fast the 100-seed main job can ever be:
main job ≈ n_seeds × run seconds / cores. Writes benchmarks/results/digits_run.json.

    python benchmarks/digits_run.py [--recipe a2] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from trainer import resolve_config, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="a2")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/digits_run.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    runs = []
    for seed in args.seeds:
        config = resolve_config(args.recipe, seed=seed)
        start = time.perf_counter()
        result = train(config, log=lambda _: None)
        seconds = time.perf_counter() - start
        epoch_s = [r["epoch_seconds"] for r in result.history]
        runs.append({"seed": seed, "top1": result.metrics["top1"], "run_seconds": seconds,
                     "train_epoch_seconds_median": statistics.median(epoch_s), "epochs": config.epochs})
        print(json.dumps(runs[-1]), flush=True)
    summary = {
        "recipe": args.recipe, "threads": args.threads, "runs": runs,
        "run_seconds_median": statistics.median(r["run_seconds"] for r in runs),
        "epoch_seconds_median": statistics.median(r["run_seconds"] / r["epochs"] for r in runs),
        "top1_mean": statistics.mean(r["top1"] for r in runs),
    }
    summary["main_job_estimate_seconds_2_cores_100_seeds"] = 100 * summary["run_seconds_median"] / 2
    print(json.dumps(summary, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
