"""Accuracy and cost of candidate digits presets: the table behind trainer/presets.py.

Each candidate is the digits preset plus ``key=value`` overrides; each (candidate, seed) is
one real single-thread training run. One JSON line per run is appended to
benchmarks/results/preset_calibration.jsonl (run seconds include the trainer's own start-up:
data set, model, optimizer), and a summary per candidate is printed.

    python benchmarks/preset_calibration.py --seeds 0 1 2 --candidate "model=resnet10t train_res=24 epochs=24"
    python benchmarks/preset_calibration.py --summary   # the table of every candidate tried so far
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

OUT = Path("benchmarks/results/preset_calibration.jsonl")


def run(candidate: str, recipe: str, seed: int) -> dict:
    from trainer import resolve_config, train
    from trainer.config import parse_value

    overrides = {}
    for item in candidate.split():
        key, _, text = item.partition("=")
        overrides[key] = parse_value(key, text)
    config = resolve_config(recipe, seed=seed, **overrides)
    start = time.perf_counter()
    result = train(config, log=lambda _: None)
    seconds = time.perf_counter() - start
    return {"candidate": candidate, "recipe": recipe, "seed": seed, "top1": result.metrics["top1"],
            "run_seconds": seconds, "epochs": config.epochs, "model": config.model, "train_res": config.train_res,
            "test_res": config.test_res, "lr": config.lr, "channels_last": config.channels_last,
            "amp": config.amp, "epoch_seconds_median": statistics.median(r["epoch_seconds"] for r in result.history)}


def summary(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    table = {}
    for r in rows:  # the preset changes over time: an empty candidate is named by what it ran
        key = r["candidate"] or f"(preset: epochs={r['epochs']} train_res={r['train_res']} test_res={r['test_res']})"
        table.setdefault((r["recipe"], key), []).append(r)
    out = []
    for (recipe, cand), rs in table.items():
        top1 = [r["top1"] for r in rs]
        out.append({"recipe": recipe, "candidate": cand, "n": len(rs),
                    "top1_mean": round(statistics.mean(top1), 2),
                    "top1_std": round(statistics.stdev(top1), 2) if len(top1) > 1 else None,
                    "distinct_top1": len(set(top1)),
                    "run_seconds_median": round(statistics.median(r["run_seconds"] for r in rs), 1)})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidate", action="append", default=[], help="space-separated key=value overrides")
    p.add_argument("--recipe", default="a2")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--summary", action="store_true")
    args = p.parse_args()
    if not args.summary:
        torch.set_num_threads(args.threads)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        for candidate in args.candidate or [""]:
            for seed in args.seeds:
                row = run(candidate, args.recipe, seed)
                print(json.dumps(row), flush=True)
                with OUT.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
    for row in summary(OUT):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
