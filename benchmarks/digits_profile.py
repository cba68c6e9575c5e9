"""Where one embedded-digits run spends its time: start-up, data, model step, evaluation, checkpoint.

Runs one real digits trial on one thread (the main job's layout: one thread per trial) with
timers wrapped around the trainer's parts, and writes the split to
benchmarks/results/digits_profile[-LABEL].json. Imports (torch, timm, trainer) are timed in a
fresh interpreter: a sweep pays them once per Ray actor, not per trial.

    python benchmarks/digits_profile.py [--recipe a2] [--seed 0] [--label new] [key=value ...]

Extra ``key=value`` arguments override the preset (e.g. to profile the old one). Run it
against another checkout with ``PYTHONPATH=/path/to/checkout`` to compare versions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import trainer.run; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def profile(recipe: str, seed: int, overrides: dict, out_dir: Path) -> dict:
    import trainer.data as data_mod
    import trainer.run as run_mod
    from trainer import resolve_config
    from trainer.config import parse_value

    spent: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    class TimedLoader:
        """Counts the time spent waiting for batches as data time."""

        def __init__(self, loader):
            self.loader = loader

        def __iter__(self):
            it = iter(self.loader)
            while True:
                start = time.perf_counter()
                batch = next(it, None)
                spent["data"] += time.perf_counter() - start
                if batch is None:
                    return
                yield batch

    epoch_fn, eval_fn = run_mod.train_one_epoch, run_mod.evaluate

    def train_epoch(**kw):
        kw["loader"] = TimedLoader(kw["loader"])
        return timed("train_epoch", epoch_fn)(**kw)

    def evaluate(**kw):
        return timed("evaluation", eval_fn)(**kw)

    run_mod.train_one_epoch, run_mod.evaluate = train_epoch, evaluate
    run_mod.save_state = timed("checkpoint", run_mod.save_state)
    data_mod.build_datasets = timed("startup_data", data_mod.build_datasets)
    run_mod.init_model = timed("startup_model", run_mod.init_model)
    first_epoch = []

    def log(line: str) -> None:
        if not first_epoch:
            first_epoch.append(time.perf_counter())

    config = resolve_config(recipe, seed=seed, **{k: parse_value(k, v) for k, v in overrides.items()})
    start = time.perf_counter()
    result = run_mod.train(config, out_dir=out_dir, log=log, report=lambda m, d: None)
    total = time.perf_counter() - start
    epochs = len(result.history)
    model_step = spent["train_epoch"] - spent["data"]
    split = {
        "startup_data": spent["startup_data"], "startup_model": spent["startup_model"],
        "data": spent["data"], "model_step": model_step, "evaluation": spent["evaluation"],
        "checkpoint": spent["checkpoint"],
    }
    split["other"] = total - sum(split.values())
    return {
        "recipe": recipe, "seed": seed, "overrides": overrides, "epochs": epochs, "model": config.model,
        "train_res": config.train_res, "top1": result.metrics["top1"], "run_seconds": total,
        "seconds": split, "share": {k: v / total for k, v in split.items()},
        "per_epoch_seconds": {k: split[k] / epochs for k in ("data", "model_step", "evaluation", "checkpoint")},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="a2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--label", default="")
    p.add_argument("--scratch", default="/tmp/rsb-digits-profile")
    p.add_argument("overrides", nargs="*", help="key=value preset overrides")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    overrides = dict(item.split("=", 1) for item in args.overrides)
    shutil.rmtree(args.scratch, ignore_errors=True)
    result = {"import_seconds": import_seconds(), **profile(args.recipe, args.seed, overrides, Path(args.scratch))}
    print(json.dumps(result, indent=2))
    name = f"digits_profile-{args.label}.json" if args.label else "digits_profile.json"
    out = Path(__file__).resolve().parent / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
