"""benchmarks/gpu_check.py on CPU at its tiny sizes: every part's code path runs and writes sane
fields, so that the GPU run (one device call, issue 22) cannot fail on a rotted script.

Fast: one part, ``--only`` keeping the others, and the refusals. Slow: all five parts; on CPU the
resume and torchrun comparisons must be bit-exact, which also checks that they compare anything.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def gpu_check(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def check_step(part: dict) -> None:
    rows = part["table"]
    assert [r["amp_asked"] for r in rows] == ["float16", "bfloat16"]
    assert [r["amp_as_run"] for r in rows] == ["float32", "bfloat16"]  # CPU: the trainer's rule (fp16 -> fp32)
    for r in rows:
        assert positive(r["ratio"]) and positive(r["trainer_img_s"]) and positive(r["bare_img_s"])
        assert len(r["ratios"]) == part["rounds"] == 3 and all(positive(x) for x in r["ratios"])
    assert positive(rows[0]["cudnn_benchmark_speedup"])


def test_one_part_keeps_the_others_and_writes_json_and_markdown(tmp_path):
    earlier = {"parts": {"e2e": {"table": [{"batch": 256, "img_s_run": 1.0}], "seconds": 9.0}}}
    (tmp_path / "gpu_check.json").write_text(json.dumps(earlier))
    proc = gpu_check("--tiny", "--only", "step", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert results["parts"]["e2e"] == earlier["parts"]["e2e"]
    assert results["mode"].startswith("tiny") and results["settings"]["step_batch"] == 8
    check_step(results["parts"]["step"])
    md = (tmp_path / "gpu_check.md").read_text()
    assert "## step" in md and "## e2e" in md and "| amp_asked | amp_as_run |" in md


def test_refuses_an_unknown_part_and_full_sizes_without_a_gpu(tmp_path, capsys):
    """In-process (the refusals come before any work): two subprocesses cost ~7 s of imports."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_check as script
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert script.main(["--tiny", "--only", "step,nope", "--out", str(tmp_path)]) == 2
    assert "unknown part ['nope']" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert script.main(["--out", str(tmp_path)]) == 2
        assert "--tiny" in capsys.readouterr().err
    assert not (tmp_path / "gpu_check.json").exists()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_part_runs_on_cpu_with_sane_fields(tmp_path):
    proc = gpu_check("--tiny", "--out", str(tmp_path), "--work", str(tmp_path / "work"), timeout=1100)
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr + json.dumps(results, indent=1)[-4000:]
    parts = results["parts"]
    assert list(parts) == ["step", "e2e", "share", "resume", "ddp"]
    assert all("error" not in p and "skipped" not in p and positive(p["seconds"]) for p in parts.values())
    check_step(parts["step"])

    e2e = parts["e2e"]["table"]
    assert [r["batch"] for r in e2e] == [8, 16]
    for r in e2e:
        shares = [r[f"{k}_share"] for k in ("data_wait", "step", "evaluation", "checkpoint")]
        assert all(0 < x < 1 for x in shares) and sum(shares) <= 1.0 + 1e-9
        assert all(positive(r[k]) for k in ("img_s_train_loop", "img_s_epoch", "img_s_run", "startup_s", "peak_gb"))
        assert r["img_s_train_loop"] > r["img_s_epoch"] > r["img_s_run"]
        assert r["images_per_epoch"] == r["batch"] * 2  # --max-steps 2

    share = parts["share"]["table"]
    assert [r["n"] for r in share] == [1, 2]
    for r in share:
        assert all(positive(r[k]) for k in ("trials_per_hour", "trials_per_hour_reused_process", "epoch_s"))
        assert r["projected_trial_s"] > r["trial_wall_s"] > r["startup_s"] > r["imports_s"] > 0

    resume = parts["resume"]["table"]
    assert [(r["deterministic"], r["compared"].split()[0]) for r in resume] == \
           [(True, "resumed"), (True, "repeat"), (False, "resumed"), (False, "repeat")]
    for r in resume:  # CPU: bit-exact, with or without the field
        assert r["recorded"] is r["deterministic"]
        assert r["identical"] and r["max_abs_weight_diff"] == 0 and r["history_equal"]
        assert r["predictions_differing"] == 0 and r["n_val"] == results["settings"]["images"][1]
    assert parts["resume"]["warned_nondeterministic_ops"] == {"True": [], "False": []}

    torchrun_1, two_ranks = parts["ddp"]["table"]
    assert torchrun_1["identical"] and torchrun_1["history_equal"] and torchrun_1["predictions_differing"] == 0
    assert two_ranks["n_workers"] == 2 and two_ranks["top1_equal"] and two_ranks["n_val"] == 360
    assert two_ranks["predictions_differing"] == 0 and two_ranks["eval_loss_diff"] < 1e-6

    md = (tmp_path / "gpu_check.md").read_text()
    assert all(f"## {name}" in md for name in parts)
    assert sum(line.startswith("|---|") for line in md.splitlines()) == 5  # a table per part
