"""The README's main job, timed as a user runs it: ``rsb-sweep seeds --n N --recipe a2`` on the embedded digits.

Runs the real CLI (Ray, Tune, the trainer, the results store) in a fresh experiment folder
and writes to benchmarks/results/main_job-nN.json: wall time, the split of that wall time
(Ray start-up before the first trial, trials, shut-down after the last), seconds per trial
per slot, the trainer's own seconds per trial, the projected wall time of 100 seeds on this
machine, and mean / std / distinct values of the final top-1.

    python benchmarks/main_job.py [--n 10] [-- extra rsb-sweep options]
    python benchmarks/main_job.py --n 100     # the real thing (needs a quiet machine)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def trial_times(exp: Path) -> tuple[float, float]:
    """Wall-clock time of the first trial start and of the last trial's final file."""
    starts = [json.loads(line)["time"] for f in exp.rglob("runs.jsonl") for line in f.read_text().splitlines() if line]
    ends = [f.stat().st_mtime for f in exp.rglob("metrics.json")]
    return min(starts), max(ends)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10, help="seeds (default 10; the main job is 100)")
    p.add_argument("--slots", type=int, default=os.cpu_count(), help="trials at once (rsb-sweep's default: one per core)")
    p.add_argument("--keep", action="store_true", help="keep the experiment folder")
    p.add_argument("extra", nargs="*", help="extra rsb-sweep options, after --")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rsb-main-job-"))
    exp = root / "exp"
    cli = Path(sys.executable).with_name("rsb-sweep")
    cmd = [str(cli), "seeds", "--n", str(args.n), "--recipe", "a2", "--out", str(exp), "--quiet", *args.extra]
    print(" ".join(cmd), flush=True)
    start = time.time()
    proc = subprocess.run(cmd)
    end = time.time()
    wall = end - start
    if not list(exp.rglob("metrics.json")):
        sys.exit(f"no trial finished (rsb-sweep exited {proc.returncode}); nothing to measure. On a busy machine "
                 "Ray may time out while starting: rerun when the machine is quieter.")
    df = pd.read_parquet(exp / "results.parquet")
    first, last = trial_times(exp)
    top1 = df["top1"].dropna()
    trials_span = last - first
    waves = math.ceil(args.n / args.slots)
    slot_seconds = trials_span / waves  # one trial's share of a slot, driver overhead between trials included
    fixed = (first - start) + (end - last)
    result = {
        "command": " ".join(["rsb-sweep", *cmd[1:]]), "exit_code": proc.returncode, "n": args.n, "slots": args.slots,
        "finished": int((df["status"] == "TERMINATED").sum()),
        "wall_seconds": wall, "before_first_trial_seconds": first - start, "after_last_trial_seconds": end - last,
        "trials_seconds": trials_span, "seconds_per_trial_per_slot": slot_seconds,
        "trainer_seconds_per_trial_median": float((df["train_hours"] * 3600).median()),
        "projected_100_seeds_minutes": (fixed + math.ceil(100 / args.slots) * slot_seconds) / 60,
        "top1_mean": float(top1.mean()), "top1_std": float(top1.std()), "top1_distinct": int(top1.nunique()),
        "top1_min": float(top1.min()), "top1_max": float(top1.max()),
        "epochs": int(df["epochs"].iloc[0]), "model": str(df["model"].iloc[0]), "train_res": int(df["train_res"].iloc[0]),
        "load_average_at_end": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results" / f"main_job-n{args.n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"experiment kept in {exp}")


if __name__ == "__main__":
    main()
