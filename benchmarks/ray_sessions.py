"""One Ray session per command, measured side by side (issue #15).

``rsb-sweep seeds --n 4 --crop-pct 0.875,1.0`` (the digits preset's default epochs) trains four
models, then evaluates each at the crop ratios of its plan. The code before issue #15 started
Ray twice for that (once to train, once to evaluate); the driver now owns one session per command.
This script runs the command with the old tree and the new one alternately (old, new, old, new …)
on the same machine, each run a fresh process with ``PYTHONPATH=<tree>``, its own experiment
folder and its own Ray temp folder (``RAY_TMPDIR``), where the Ray sessions it started are counted.
It checks that both trees computed the same evaluations, and writes
``benchmarks/results/ray_sessions.md`` and ``.json``.

    git worktree add /tmp/before de687e1     # the code before issue #15
    python benchmarks/ray_sessions.py --old /tmp/before [--new .] [--runs 3] [--n 4]

No timing is asserted anywhere: the numbers are what this machine measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def one_run(tree: Path, n: int, work: Path, label: str) -> dict:
    """One ``rsb-sweep seeds`` run with ``tree``'s code; wall time, Ray sessions, the two phases' times."""
    out = work / f"exp-{label}"
    ray_tmp = Path(tempfile.mkdtemp(prefix="rsbb", dir="/tmp"))  # short: Ray's socket paths have a length limit
    env = {**os.environ, "PYTHONPATH": str(tree), "RAY_TMPDIR": str(ray_tmp), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "rsb_sweep", "seeds", "--n", str(n), "--crop-pct", "0.875,1.0",
           "--out", str(out), "--no-live"]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)  # cwd: not a tree (sys.path[0])
    wall = time.perf_counter() - start
    sessions = sorted(p.name for p in (ray_tmp / "ray").glob("session_*") if p.name != "session_latest")
    shutil.rmtree(ray_tmp, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"{label}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    train = re.search(r"^results: .*; ([\d.]+) s\)", proc.stdout, re.M)
    evaluate = re.search(r"^evaluations: .*computed now, ([\d.]+) s\)", proc.stdout, re.M)
    ev = pd.read_parquet(out / "evaluations.parquet")
    return {"label": label, "tree": str(tree), "wall_s": round(wall, 2), "ray_sessions": len(sessions),
            "train_s": float(train.group(1)) if train else None, "evaluate_s": float(evaluate.group(1)) if evaluate else None,
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "evaluations": ev.sort_values(["trial_id", "eval_set", "crop_pct", "test_res"])[
                ["trial_id", "eval_set", "crop_pct", "test_res", "top1"]].to_dict("records")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True,
                        help="a checkout of the code before issue #15 (commit de687e1), e.g. from git worktree add")
    parser.add_argument("--new", type=Path, default=HERE.parent, help="the tree with one Ray session per command")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tree, alternated")
    parser.add_argument("--n", type=int, default=4, help="seeds")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ray_sessions.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-sessions-"))
    runs = []
    try:
        for k in range(args.runs):
            for label, tree in (("old", args.old.resolve()), ("new", args.new.resolve())):
                run = one_run(tree, args.n, work, f"{label}{k + 1}")
                print(f"{run['label']}: {run['wall_s']:.1f} s wall, {run['ray_sessions']} Ray session(s), "
                      f"train {run['train_s']} s, evaluate {run['evaluate_s']} s, load {run['load_before']}", flush=True)
                runs.append(run)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(runs, args)


def write(runs: list[dict], args: argparse.Namespace) -> None:
    """The table, the means and their difference; every run's evaluations must agree."""
    old = [r for r in runs if r["label"].startswith("old")]
    new = [r for r in runs if r["label"].startswith("new")]
    same = all(r["evaluations"] == runs[0]["evaluations"] for r in runs)
    mean = {k: statistics.fmean(r["wall_s"] for r in rs) for k, rs in (("old", old), ("new", new))}
    saved = mean["old"] - mean["new"]
    pairs = [o["wall_s"] - n["wall_s"] for o, n in zip(old, new)]
    lines = [
        "# One Ray session per command",
        "",
        f"`rsb-sweep seeds --n {args.n} --crop-pct 0.875,1.0` (embedded digits, A2 preset, default epochs), "
        f"run alternately with the code before issue #15 (`{args.old}`) and after (`{args.new}`), "
        f"{os.cpu_count()} CPUs, by `python benchmarks/ray_sessions.py`. Wall time of the whole command "
        "(process start to exit); `train` and `evaluate` are the times the command printed for each step.",
        "",
        "| run | code | wall (s) | Ray sessions | train (s) | evaluate (s) | load avg before |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(f"| {r['label']} | {'before' if r['label'].startswith('old') else 'after'} | {r['wall_s']:.1f} | "
                     f"{r['ray_sessions']} | {r['train_s']} | {r['evaluate_s']} | {r['load_before']} |")
    lines += [
        "",
        f"Mean wall time: before {mean['old']:.1f} s, after {mean['new']:.1f} s; "
        f"saved {saved:.1f} s per command ({100 * saved / mean['old']:.0f} %); per pair (old k − new k): "
        + ", ".join(f"{d:.1f}" for d in pairs) + " s.",
        "The step times are not comparable across the two codes: before, `train` includes shutting down the "
        "first Ray session and `evaluate` starting and stopping the second; after, the one session stops "
        "when the command ends.",
        f"Every run computed the same evaluations (top-1 per trial, set, crop_pct, test_res): {'yes' if same else 'NO'}.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(
        {"runs": [{k: v for k, v in r.items() if k != "evaluations"} for r in runs], "mean_wall_s": mean,
         "saved_s": saved, "saved_per_pair_s": pairs, "same_evaluations": same}, indent=2) + "\n")
    print("\n".join(lines[-4:]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
