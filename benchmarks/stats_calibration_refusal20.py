"""The refusal raised to 20 seeds in the smaller arm (issue 16): the BM rule's type-I at 10 v 40 with
the small arm wider, and its power at equal spreads, 20,000 / 10,000 pairs (written to
benchmarks/results/stats_calibration_refusal20.json). The full table is stats_calibration.py --part spread."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.stats import calibration_spread as KS  # noqa: E402

out, t0 = [], time.time()
for shape in KS.SHAPES:
    for ratio in (2.0, 3.0):
        r = KS.null_rates(10, 40, ratio, shape, 20_000, 199, seed=21, which=("bm_rule",))
        out.append({"n_small": 10, "n_large": 40, "shape": shape, "ratio": ratio, **r})
        print(out[-1], f"{time.time() - t0:.0f}s", flush=True)
r = KS.equal_spread_power(10, 40, 1.0, 10_000, 199, seed=22, which=("bm_rule",))
out.append({"power_10v40_shift1": r["bm_rule"]})
print(out[-1], flush=True)
(ROOT / "benchmarks/results/stats_calibration_refusal20.json").write_text(json.dumps(out, indent=1))
