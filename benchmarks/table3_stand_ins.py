"""The digits stand-ins of Table 3's architectures (sweeps/table3_architectures.yaml, digits_models):
parameters, and one real single-thread digits run each (top-1, seconds).

Each stand-in runs the digits preset of one recipe at one seed, as a sweep trial runs it (one
thread); results go to benchmarks/results/table3_stand_ins.json.

    python benchmarks/table3_stand_ins.py --recipe a2 --seed 0
    python benchmarks/table3_stand_ins.py --only regnety_040,regnety_080   # again for these; other rows kept
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

OUT = Path("benchmarks/results/table3_stand_ins.json")


def measure(recipe: str, seed: int, only: frozenset = frozenset(), **overrides: int) -> list[dict]:
    """One run per stand-in of the Table 3 sweep file; a row per stand-in."""
    from rsb_sweep.spec.sweepfile import load_spec_file
    from trainer import resolve_config, train
    from trainer.model import create_model

    import rsb_sweep

    spec, _ = load_spec_file(Path(rsb_sweep.__file__).resolve().parents[1] / "sweeps" / "table3_architectures.yaml")
    rows = []
    for name, entry in spec.digits_models.items():
        if only and name not in only:
            continue
        fields = {k: v for k, v in entry.items() if k != "paper"}
        config = resolve_config(recipe, seed=seed, threads=1, **fields, **overrides)
        params = sum(p.numel() for p in create_model(config, num_classes=10).parameters())
        start = time.perf_counter()
        result = train(config, log=lambda _: None)
        rows.append({"paper": entry.get("paper"), "paper_model": name, "model": config.model,
                     "width_mult": config.width_mult, "model_args": config.model_args, "params": params,
                     "recipe": recipe, "seed": seed, "epochs": config.epochs, "train_res": config.train_res,
                     "test_res": config.test_res, "top1": result.metrics["top1"],
                     "run_seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="a2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated grid model names (default: every stand-in)")
    parser.add_argument("--epochs", type=int, default=None, help="fewer epochs (a smoke run; default: the preset's)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    only = frozenset(n for n in args.only.split(",") if n)
    short = {"epochs": args.epochs, "warmup_epochs": 0} if args.epochs else {}
    rows = measure(args.recipe, args.seed, only, **short)
    out = args.out
    if only and out.exists():  # the other stand-ins' rows stay, in the file's order
        old = json.loads(out.read_text())
        fresh = {r["paper_model"]: r for r in rows}
        rows = [fresh.pop(r["paper_model"], r) for r in old["rows"]] + list(fresh.values())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"recipe": args.recipe, "seed": args.seed, "threads": 1, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
