"""What the sweep driver costs on top of the training it schedules.

N one-step trainings (1 epoch, 1 optimizer step, full evaluation) run
  1. as N trainer calls in a plain loop in this process (the floor), and
  2. through the driver (Ray Tune), once as configured by default (one sweep trial per Tune
     trial at this size) and once with five sweep trials per Tune trial (--pack 5),
all in one run on the same machine. For each driver run it reports

  start-up           = per trial process, from the driver's start to its first trial
                       (Tune setup; a new process importing torch, timm and the trainer)
  per-trial overhead = (wall × slots − Σ start-up − Σ trial time) / N
                       (slot-seconds between trials: Tune, the pack runner, result tables)
  sweep efficiency   = Σ trial time / (wall × slots), and the same after start-up

where a trial runs from its start record (runs.jsonl) to its metrics.json, and wall is the
driver's time from Tune setup to the written result tables (Ray itself is started before
and timed separately: a plain loop needs no cluster). Goals: ≤ 0.2 s per trial, ≥ 95 %.
The start-up is paid once per process, so it vanishes for trials of minutes (the main job).

``--main-job N`` also times ``rsb-sweep seeds --n N --recipe a2`` end to end (CLI process,
Ray start included); with N < 100 the 100-seed time is extrapolated from the measured
per-trial throughput and both are recorded.

Writes benchmarks/results/sweep_overhead.json. Usage:
  python benchmarks/sweep_overhead.py [--n 60] [--slots 2] [--main-job 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ONE_STEP = {"epochs": 1, "max_steps": 1, "warmup_epochs": 0}


def plain_loop(n: int) -> dict:
    """The same trainings, one after another, in this process."""
    import torch

    from trainer import resolve_config, train

    torch.set_num_threads(1)
    times = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(n):
            config = resolve_config("a2", seed=seed, **ONE_STEP)
            t = time.perf_counter()
            train(config, out_dir=Path(tmp) / str(seed), log=lambda line: None)
            times.append(time.perf_counter() - t)
    return {"wall_s": time.perf_counter() - start, "sum_trial_s": sum(times), "trial_s_median": statistics.median(times)}


def driver_run(n: int, slots: int, pack, label: str) -> dict:
    """The trainings through the driver, on the Ray instance already started by the caller.

    Timeline from the trial folders: a trial runs from its ``runs.jsonl`` start record to its
    ``metrics.json``; each trial process (pid) first pays a start-up (Tune setup, a new
    worker process importing torch/timm/trainer), then runs its trials back to back.
    """
    from rich.console import Console

    from rsb_sweep.driver.options import LaunchOptions
    from rsb_sweep.driver.sweep import run_experiment
    from rsb_sweep.spec.execution import Execution
    from rsb_sweep.experiment.folder import Experiment
    from rsb_sweep.spec.expand import expand
    from rsb_sweep.spec.model import SeedAxis, SweepSpec

    with tempfile.TemporaryDirectory() as tmp:
        spec = SweepSpec(name=f"overhead-{label}", overrides=dict(ONE_STEP), seeds=SeedAxis(n=n))
        exp = Experiment.create(Path(tmp) / "exp", spec, Execution(max_concurrent=slots, pack=pack), expand(spec))
        t0 = time.time()
        outcome = run_experiment(exp, LaunchOptions(quiet=True), console=Console(quiet=True))
        wall = time.time() - t0
        assert (outcome.results["status"] == "TERMINATED").all(), outcome.results[["trial_id", "status", "error"]]
        spans = []
        for tid in exp.trial_ids:
            folder = exp.store.local_dir(tid)
            run = json.loads((folder / "runs.jsonl").read_text().splitlines()[0])
            spans.append((run["pid"], run["time"], (folder / "metrics.json").stat().st_mtime))
    first_start: dict[int, float] = {}
    for pid, begin, _ in spans:
        first_start[pid] = min(first_start.get(pid, begin), begin)
    busy = sum(end - begin for _, begin, end in spans)
    startup = sum(begin - t0 for begin in first_start.values())
    return {
        "pack": pack or "default", "wall_s": wall, "processes": len(first_start), "sum_trial_s": busy,
        "trial_s_median": statistics.median(end - begin for _, begin, end in spans),
        "startup_s_per_process": startup / len(first_start),
        "per_trial_overhead_s": (wall * slots - startup - busy) / n,
        "efficiency": busy / (wall * slots),
        "efficiency_after_startup": busy / (wall * slots - startup),
    }


def main_job(n: int, slots: int) -> dict:
    """``rsb-sweep seeds --n N --recipe a2`` as a user runs it (its own process and Ray)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "rsb_sweep", "seeds", "--n", str(n), "--recipe", "a2", "--num-cpus", str(slots),
               "--out", str(Path(tmp) / "main"), "--no-live", "--quiet"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - start
        assert proc.returncode == 0, proc.stderr[-3000:]
        import pandas as pd

        df = pd.read_parquet(Path(tmp) / "main" / "results.parquet")
    busy = float((df["train_hours"] * 3600).sum())
    out = {"n": n, "wall_s": wall, "sum_trial_s": busy, "trial_s_median": float((df["train_hours"] * 3600).median()),
           "efficiency": busy / (wall * slots), "top1_mean": float(df["top1"].mean()), "top1_std": float(df["top1"].std())}
    if n < 100:  # fixed part (start-up, tail) once, training time per slot scaled to 100 seeds
        fixed = wall - busy / slots
        out["extrapolated_100_s"] = fixed + (busy / slots) * 100 / n
        out["note"] = (f"measured {n} seeds; 100 seeds ≈ fixed {fixed:.0f} s + 100/{n} × the measured "
                       f"training time per slot")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60, help="one-step trials per measurement")
    parser.add_argument("--slots", type=int, default=2, help="concurrent trials (CPUs of the local Ray)")
    parser.add_argument("--main-job", type=int, default=0, metavar="N", help="also time `rsb-sweep seeds --n N`")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sweep_overhead.json"))
    args = parser.parse_args()

    import ray

    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_start": os.getloadavg()},
                    "n": args.n, "slots": args.slots, "trial": ONE_STEP}
    loop = plain_loop(args.n)
    report["plain_loop"] = loop
    print(f"plain loop: {args.n} trainings in {loop['wall_s']:.1f} s ({loop['trial_s_median']:.2f} s each)", flush=True)

    t = time.perf_counter()
    ray.init(address="local", num_cpus=args.slots, include_dashboard=False, log_to_driver=False)
    report["ray_start_s"] = time.perf_counter() - t
    try:
        for pack, label in ((None, "default"), (5, "pack5")):
            r = driver_run(args.n, args.slots, pack, label)
            report[f"driver_{label}"] = r
            print(f"driver (pack {r['pack']}): wall {r['wall_s']:.1f} s = start-up {r['startup_s_per_process']:.1f} s "
                  f"+ trials; per-trial overhead {r['per_trial_overhead_s']:.3f} s; efficiency {100 * r['efficiency']:.1f} % "
                  f"({100 * r['efficiency_after_startup']:.1f} % after start-up); trial median {r['trial_s_median']:.2f} s",
                  flush=True)
    finally:
        ray.shutdown()
    if args.main_job:
        r = main_job(args.main_job, args.slots)
        report["main_job"] = r
        print(f"main job (seeds --n {r['n']} --recipe a2): {r['wall_s']:.0f} s, efficiency {100 * r['efficiency']:.1f} %"
              + (f", 100 seeds ≈ {r['extrapolated_100_s']:.0f} s" if "extrapolated_100_s" in r else ""), flush=True)
    report["machine"]["load_avg_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(args.out).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
