"""Analysis speed benchmark (not a test).

Goals (issue 4): ``summarize`` + ``compare_all`` over 10 000 trials in under 2 s, and
``make_report`` in under 60 s. The 10 000 trials are 100 configurations × 100 seeds (the cost
is roughly trials × bootstrap resamples, whatever the split). Prints the timings and writes them
to benchmarks/results/analysis_speed.json.

    python benchmarks/analysis_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import analysis as A  # noqa: E402
from analysis.synthetic import synthetic_history, synthetic_results  # noqa: E402


def _best(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "analysis_speed.json")
    args = ap.parse_args()

    configs = [dict(lr=round(1e-3 * (1 + i / 10), 6), shift=0.002 * i) for i in range(100)]
    big = synthetic_results(100, configs, n_error=1, seed=0)
    A.summarize(big.head(200), by="lr")  # warm imports and caches

    t_sum, all_sum = _best(lambda: A.summarize(big, by="lr"), args.repeats)
    t_cmp, all_cmp = _best(lambda: A.compare_all(big, baseline=configs[0]["lr"], by="lr"),
                           args.repeats)

    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "crop_study"
        exp.mkdir()
        study = synthetic_results(
            100, [dict(crop_pct=0.875), dict(crop_pct=0.95, shift=0.05),
                  dict(crop_pct=1.0, shift=-0.3)], n_error=2, n_running=1, seed=1)
        study.to_parquet(exp / "results.parquet")
        synthetic_history(study, n_epochs=40).to_parquet(exp / "history.parquet")
        t = time.perf_counter()
        A.make_report(exp, baseline="crop_pct=0.875")
        t_report = time.perf_counter() - t

    result = {
        "summarize_10k_s": round(t_sum, 3),
        "compare_all_10k_s": round(t_cmp, 3),
        "summarize_plus_compare_all_10k_s": round(t_sum + t_cmp, 3),
        "goal_summarize_plus_compare_all_s": 2.0,
        "make_report_300_trials_s": round(t_report, 2),
        "goal_make_report_s": 60.0,
        "repeats": args.repeats,
        "summarize_runs_s": [round(x, 3) for x in all_sum],
        "compare_all_runs_s": [round(x, 3) for x in all_cmp],
        "trials": len(big),
        "configurations": len(configs),
        "bootstrap_resamples": A.N_RESAMPLES,
        "report_table": "3 configurations x 100 seeds (+ ERROR/RUNNING rows), 40-epoch history",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "note": "best of --repeats runs; the machine may be shared, so timings are noisy",
    }
    for k in ("summarize_10k_s", "compare_all_10k_s", "summarize_plus_compare_all_10k_s",
              "make_report_300_trials_s"):
        print(f"{k:36s} {result[k]:8.3f}")
    ok = t_sum + t_cmp < 2.0 and t_report < 60.0
    print("goals met" if ok else "goal missed")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
