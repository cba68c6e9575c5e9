"""Trainer runs for ``benchmarks/gpu_check.py``: timed ``python -m trainer`` processes (both ends),
the synthetic ImageFolder, and how close two finished runs are.

As a script it is the child end: ``python benchmarks/gpu_check_runs.py OUT.json [--group gloo] --
TRAINER ARGS`` runs ``trainer.cli.main`` (what ``python -m trainer`` runs) with timers around the
trainer's own stages, as benchmarks/digits_profile.py times them, and rank 0 writes OUT.json: per
epoch the seconds waiting for batches, in the training loop, evaluating, checkpointing, the epoch's
wall; when the imports were done; peak memory. ``--group`` first makes a process group, as a
launcher such as Ray Train does, which the trainer then joins (``trainer.distributed.setup``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from multiprocessing import Pool
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

#: history / metrics fields that are timings, not results.
TIMING = ("epoch_seconds", "images_per_second", "train_hours", "peak_mem_gb")


class StageTimers:
    """Timers wrapped around ``trainer.run``'s stages (the real functions run inside them)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    @contextmanager
    def add(self, key: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.epochs[-1][key] += time.perf_counter() - start

    def timed_loader(self, loader):
        it = iter(loader)
        while True:
            with self.add("data"):
                batch = next(it, None)
            if batch is None:
                return
            yield batch

    def install(self, run_mod) -> None:
        run_epoch, train_epoch = run_mod.run_epoch, run_mod.train_one_epoch
        evaluate, save = run_mod.evaluate, run_mod.save_state

        def timed_run_epoch(*args, **kwargs):
            self.epochs.append(dict(start=time.time(), data=0.0, train=0.0, evaluation=0.0, checkpoint=0.0))
            return run_epoch(*args, **kwargs)

        def timed_train(**kwargs):
            with self.add("train"):
                return train_epoch(**{**kwargs, "loader": self.timed_loader(kwargs["loader"])})

        def timed_evaluate(**kwargs):
            with self.add("evaluation"):
                return evaluate(**kwargs)

        def timed_save(*args, **kwargs):
            with self.add("checkpoint"):
                out = save(*args, **kwargs)
            self.epochs[-1]["wall"] = time.time() - self.epochs[-1]["start"]
            return out

        run_mod.run_epoch, run_mod.train_one_epoch = timed_run_epoch, timed_train
        run_mod.evaluate, run_mod.save_state = timed_evaluate, timed_save


def child(json_path: str, group: Optional[str], argv: list[str]) -> int:
    """``python -m trainer ARGV`` in this process with :class:`StageTimers`; rank 0 writes ``json_path``."""
    import torch.distributed as dist

    import trainer.cli
    import trainer.run as run_mod

    if group:
        dist.init_process_group(group)
    timers = StageTimers()
    timers.install(run_mod)
    imported = time.time()
    rc = trainer.cli.main(argv)
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    if int(os.environ.get("RANK", "0")) == 0:
        Path(json_path).write_text(json.dumps({
            "rc": rc, "imported": imported, "end": time.time(), "epochs": timers.epochs,
            "peak_gb": torch.cuda.max_memory_allocated() / 2**30 if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "peak_kind": "cuda max_memory_allocated" if cuda else "process peak RSS",
            "peak_reserved_gb": torch.cuda.max_memory_reserved() / 2**30 if cuda else None}))
    return rc


def child_cmd(json_path: Path, args: list, nproc: int = 0, group: Optional[str] = None) -> list[str]:
    """The command line of a timed trainer process (under torchrun with ``nproc`` ranks)."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
                if nproc else [sys.executable])
    return [*launcher, str(Path(__file__).resolve()), str(json_path), *(["--group", group] if group else []), "--",
            *map(str, args)]


def launch(cmds: list[list[str]], timeout: float, work: Path, threads: Optional[int] = None) -> list[dict]:
    """Start every command at once and wait for all, each killed after ``timeout`` s: rc, launch time, wall, log."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    procs = []
    for i, cmd in enumerate(cmds):
        log = open(work / f"proc-{time.time_ns()}-{i}.log", "w+")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work), log, time.time()))
    out = []
    for proc, log, launched in procs:
        try:
            rc = proc.wait(timeout=max(1.0, launched + timeout - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.seek(0)
        out.append({"rc": rc, "launched": launched, "wall_s": time.time() - launched, "log_tail": log.read()[-1500:]})
        log.close()
    return out


def check_rc(*procs: dict) -> None:
    """An error carrying the log's end for the first of ``procs`` (results of :func:`launch`) that failed."""
    for proc in procs:
        if proc["rc"] != 0:
            raise RuntimeError(f"exited {proc['rc']}:\n{proc['log_tail']}")


def attempt(measure, **key) -> dict:
    """``key`` joined with ``measure()``'s row, or with the error: one failed measurement keeps the others."""
    try:
        return {**key, **measure()}
    except Exception as exc:
        return {**key, "error": f"{type(exc).__name__}: {exc}"[-2500:]}


def run_timed(cmds: list[list[str]], jsons: list[Path], timeout: float, work: Path,
              threads: Optional[int] = None) -> list[dict]:
    """:func:`launch`, each result joined with its child's timers; an error naming the log if any failed."""
    results = launch(cmds, timeout, work, threads)
    check_rc(*results)
    for result, path in zip(results, jsons):
        result.update(json.loads(path.read_text()))
    return results


def fresh(run_dir: Path) -> Path:
    """``run_dir``, emptied: a run folder left by an earlier call in a kept ``--work`` is not resumed."""
    shutil.rmtree(run_dir, ignore_errors=True)
    return run_dir


def net_args(s: dict) -> list:
    """The trainer flags of the settings' network (``s["net"]``: model, width, resolutions)."""
    return [a for k, v in s["net"].items() for a in (f"--{k.replace('_', '-')}", v)]


def max_step_args(s: dict) -> list:
    """``--max-steps N`` when the settings cap the steps of an epoch."""
    return ["--max-steps", s["max_steps"]] if s["max_steps"] else []


def _write_class(job: tuple) -> None:
    from PIL import Image

    folder, count, seed, (w, h) = job
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        small = rng.integers(0, 256, (h // 16 + 2, w // 16 + 2, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC), dtype=np.int16)
        grain = rng.integers(-12, 13, (h, w, 3))
        Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(folder / f"{i:05d}.jpg", quality=90)


def synthetic_folder(root: Path, images: tuple[int, int], size: tuple[int, int], classes: int = 10) -> Path:
    """An ImageFolder (``train/``, ``val/``: ``images`` in each) of JPEGs at ``size`` (w, h): smooth
    colour noise with grain, written once, one process per class folder."""
    if (root / "val").is_dir():
        return root
    jobs = [(root / split / f"c{c}", n // classes, 100 * k + c, size)
            for k, (split, n) in enumerate(zip(("train", "val"), images)) for c in range(classes)]
    with Pool(min(len(jobs), os.cpu_count() or 1)) as pool:
        pool.map(_write_class, jobs)
    return root


def read_run(run_dir: Path) -> tuple[list[dict], dict]:
    """A run folder's history rows and metrics."""
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return history, json.loads((run_dir / "metrics.json").read_text())


def compare_runs(a: Path, b: Path) -> dict:
    """How close finished run ``b`` ended to run ``a``: final weights, metrics, history, predictions."""
    import pyarrow.parquet as pq

    from trainer.checkpoint import find_checkpoint, load_checkpoint

    wa, wb = (load_checkpoint(find_checkpoint(r))["model"] for r in (a, b))
    diffs = [(wa[k].double() - wb[k].double()).abs().max().item() for k in wa if wa[k].is_floating_point()]
    (ha, ma), (hb, mb) = read_run(a), read_run(b)
    pa, pb = (pq.read_table(r / "predictions.parquet").column("pred").to_numpy() for r in (a, b))
    strip = [[{k: v for k, v in row.items() if k not in TIMING} for row in h] for h in (ha, hb)]
    return {"identical": all(torch.equal(wa[k], wb[k]) for k in wa), "max_abs_weight_diff": max(diffs),
            "tensors_differing": sum(not torch.equal(wa[k], wb[k]) for k in wa), "top1": [ma["top1"], mb["top1"]],
            "train_loss_diff": abs(ma["train_loss"] - mb["train_loss"]),
            "eval_loss_diff": abs(ma["eval_loss"] - mb["eval_loss"]), "history_equal": strip[0] == strip[1],
            "predictions_differing": int((pa != pb).sum()), "n_val": int(len(pa))}


def steady_mean(epochs: list[dict], key: str) -> float:
    """Mean of ``key`` over the epochs after the first (which pays cuDNN's and the workers' start)."""
    return statistics.mean(e[key] for e in (epochs[1:] or epochs))


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description="python -m trainer ARGS with timers around its stages",
                                usage="%(prog)s JSON [--group BACKEND] -- TRAINER ARGS")
    p.add_argument("json_path", help="where rank 0 writes the timers")
    p.add_argument("--group", default=None, help="make a process group with this backend first (gloo, nccl)")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)  # after --: the trainer's own arguments
    args = p.parse_args(argv[:split])
    return child(args.json_path, args.group, argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main())
