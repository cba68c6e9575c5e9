"""The GPU path measured on one GPU (issue 22); every part also runs on CPU at ``--tiny`` sizes.

  step    the trainer's step (``trainer.loop.train_one_epoch`` with ``trainer.run.build_parts``'s parts:
          timm ResNet-50, LAMB, BCE, channels-last, AMP) on pre-staged GPU batches against a bare loop
          (same forward/backward/step, a second set of the same parts, the same batches), fp16 and bf16
  e2e     ``python -m trainer`` with stage timers on a synthetic 224-px JPEG ImageFolder, timm's loader
          with workers, batch 256 and 512: images/s, data wait / step / evaluation / checkpoint, peak memory
  share   N = 1, 2, 4, 8 concurrent digits ``python -m trainer`` processes on the one GPU: trials per hour
  resume  stopped after the first checkpoint and resumed vs uninterrupted vs a repeat, deterministic on/off
  ddp     ``torchrun --nproc_per_node 1`` vs a plain run; 2 ranks (gloo) through the N-GPU path on one GPU

How each is measured: benchmarks/README.md. Writes OUT/gpu_check.json after each part (a cut-off
run keeps what it measured) and OUT/gpu_check.md (a table per part).

    PYTHONPATH=. python benchmarks/gpu_check.py [--only step,e2e] [--out DIR]   # a GPU, about 5 min
    PYTHONPATH=. python benchmarks/gpu_check.py --tiny --out /tmp/gc              # CPU: every code path
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

import pyarrow.parquet as pq
import timm
import torch

# gpu_check_runs first: it puts this checkout first on sys.path, so that `trainer` is this tree's
from gpu_check_runs import (ROOT, attempt, check_rc, child_cmd, compare_runs, fresh, launch, max_step_args, net_args,
                            read_run, run_timed, steady_mean, synthetic_folder)
from trainer_throughput import bare_epoch

from trainer import resolve_config, train
from trainer.config import resolve_runtime
from trainer.digits import digits_root
from trainer.distributed import setup
from trainer.evaluate import evaluate_run
from trainer.loop import train_one_epoch
from trainer.run import build_parts

PART_NAMES = ("step", "e2e", "share", "resume", "ddp")
PAPER_PEAK_GB_512 = 22.095  # RSB Table 1, A2: 22095 MB per V100, 4 GPUs x 512 (shared/paper/rsb_paper_values.csv)

#: Sizes on an H200 (estimate in benchmarks/README.md) and the CPU check's.
GPU = dict(net=dict(model="resnet50", width_mult=1.0, train_res=224, test_res=224), classes=1000, step_batch=256,
           warmup=20, steps=100, rounds=3, distinct=8, bench_steps=50, images=(5120, 500), image_size=(320, 256),
           e2e_batches=(256, 512), e2e_epochs=3, workers=12, share_n=(1, 2, 4, 8), share_epochs=4,
           resume=dict(batch_size=64, max_steps=4, epochs=2), ddp_epochs=3, max_steps=None, timeout=180,
           budget=330, child_threads=None)
TINY = dict(net=dict(model="resnet10t", width_mult=0.25, train_res=24, test_res=24), classes=10, step_batch=8,
            warmup=2, steps=3, rounds=3, distinct=2, bench_steps=2, images=(256, 30), image_size=(32, 28),
            e2e_batches=(8, 16), e2e_epochs=2, workers=1, share_n=(1, 2), share_epochs=2,
            resume=dict(batch_size=8, max_steps=2, epochs=2), ddp_epochs=2, max_steps=2, timeout=300,
            budget=None, child_threads=1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer_steps(parts, loader: list, ctx) -> None:
    """The trainer's own step loop over ``loader`` (what every epoch of a run calls)."""
    train_one_epoch(model=parts.train_model, loader=loader, optimizer=parts.optimizer, loss_fn=parts.loss_fn,
                    mixup=parts.mixup, scaler=parts.scaler, aug_rng=parts.aug_rng, ctx=ctx, epoch=0, amp=parts.amp,
                    channels_last=parts.channels_last, max_steps=None)


def bare_steps(parts, loader: list, ctx) -> None:
    """The loop anyone would write (trainer_throughput's): forward under autocast, loss, backward, step."""
    bare_epoch(parts.model, loader, parts.optimizer, parts.loss_fn, ctx.device, parts.amp, parts.channels_last,
               parts.scaler)


def images_per_s(fn: Callable[[list], None], loader: list, ctx) -> float:
    """Images per second of ``fn(loader)``, timed from an idle device to an idle device."""
    _sync(ctx.device)
    start = time.perf_counter()
    fn(loader)
    _sync(ctx.device)
    return len(loader) * loader[0][0].shape[0] / (time.perf_counter() - start)


def alternate(fns: dict[str, Callable[[list], None]], loader: list, rounds: int, ctx) -> dict[str, list[float]]:
    """Images/s of each function per round, run one after the other, the order reversed every round."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(rounds):
        for name in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
            out[name].append(images_per_s(fns[name], loader, ctx))
    return out


def step_config(s: dict, device: str, dtype: str):
    """The A2 recipe's ResNet-50 step at ``dtype`` as the trainer resolves it on this device."""
    config = resolve_config("a2", **s["net"], batch_size=s["step_batch"], mixup=0.0, cutmix=0.0, amp=True,
                            amp_dtype=dtype, device=device)
    return resolve_runtime(config, torch.device(device).type)


def step_row(s: dict, device: str, dtype: str, loader: list, ctx) -> dict:
    """Trainer against bare loop at ``dtype``: warm-up, then alternated rounds on the same batches."""
    config, notices = step_config(s, device, dtype)
    ours, bare = build_parts(config, ctx, s["classes"]), build_parts(config, ctx, s["classes"])
    fns = {"trainer": lambda b: trainer_steps(ours, b, ctx), "bare": lambda b: bare_steps(bare, b, ctx)}
    if ctx.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(ctx.device)
    for fn in fns.values():
        fn(loader[:s["warmup"]])
    ips = alternate(fns, loader, s["rounds"], ctx)
    ratios = [t / b for t, b in zip(ips["trainer"], ips["bare"])]
    row = {"amp_asked": dtype, "amp_as_run": ours.amp or "float32",
           "trainer_img_s": statistics.median(ips["trainer"]), "bare_img_s": statistics.median(ips["bare"]),
           "ratio": statistics.median(ratios), "ratios": ratios, "trainer_rounds": ips["trainer"],
           "bare_rounds": ips["bare"], "notices": notices,
           "peak_alloc_gb": torch.cuda.max_memory_allocated() / 2**30 if ctx.device.type == "cuda" else None}
    if dtype == "float16":
        row["bare_cudnn_benchmark_img_s"] = cudnn_benchmark_bare(bare, loader, s, ctx)
        row["cudnn_benchmark_speedup"] = row["bare_cudnn_benchmark_img_s"] / row["bare_img_s"]
    return row


def part_step(s: dict, device: str, work: Path) -> dict:
    ctx = setup(device)
    gen = torch.Generator(device=ctx.device).manual_seed(0)
    res = s["net"]["train_res"]
    staged = [(torch.randn(s["step_batch"], 3, res, res, device=ctx.device, generator=gen)
               .contiguous(memory_format=torch.channels_last),
               torch.randint(0, s["classes"], (s["step_batch"],), device=ctx.device, generator=gen))
              for _ in range(s["distinct"])]
    loader = [staged[i % len(staged)] for i in range(s["steps"])]
    table = []
    for dtype in ("float16", "bfloat16"):
        table.append(attempt(lambda: step_row(s, device, dtype, loader, ctx), amp_asked=dtype))
        if ctx.device.type == "cuda":
            torch.cuda.empty_cache()  # the parts of that precision are gone with step_row's frame
    return {"batch": s["step_batch"], "model": s["net"]["model"], "timed_steps": s["steps"], "rounds": s["rounds"],
            "warmup_steps": s["warmup"], "goal": "ratio >= 0.95", "table": table}


def cudnn_benchmark_bare(parts, loader: list, s: dict, ctx) -> float:
    """Images/s of the bare loop with cuDNN autotuning on (after its own warm-up), then off again."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        bare_steps(parts, loader[:s["warmup"]], ctx)
        return images_per_s(lambda b: bare_steps(parts, b, ctx), loader[:s["bench_steps"]], ctx)
    finally:
        torch.backends.cudnn.benchmark = before


def e2e_row(batch: int, proc: dict, run_dir: Path) -> dict:
    """Per steady epoch (the first one pays the cuDNN and worker start-up): the split and images/s."""
    history, metrics = read_run(run_dir)
    for row, timers in zip(history, proc["epochs"]):
        timers["images"] = round(row["images_per_second"] * row["epoch_seconds"])  # a count: no float residue
    mean = lambda key: steady_mean(proc["epochs"], key)  # noqa: E731
    split = {"data_wait": mean("data"), "step": mean("train") - mean("data"), "evaluation": mean("evaluation"),
             "checkpoint": mean("checkpoint")}
    wall, per_epoch, images = mean("wall"), mean("images"), sum(e["images"] for e in proc["epochs"])
    return {"batch": batch, "img_s_train_loop": per_epoch / (split["data_wait"] + split["step"]),
            "img_s_epoch": per_epoch / wall, "img_s_run": images / proc["wall_s"], "epoch_s": wall,
            **{f"{k}_s": v for k, v in split.items()}, **{f"{k}_share": v / wall for k, v in split.items()},
            "startup_s": proc["epochs"][0]["start"] - proc["launched"], "run_s": proc["wall_s"],
            "peak_gb": proc["peak_gb"], "peak_reserved_gb": proc["peak_reserved_gb"], "peak_kind": proc["peak_kind"],
            "metrics_peak_mem_gb": metrics["peak_mem_gb"], "images_per_epoch": per_epoch}


def part_e2e(s: dict, device: str, work: Path) -> dict:
    folder = synthetic_folder(work / "synthetic", s["images"], s["image_size"])
    table = []
    for batch in s["e2e_batches"]:
        run_dir, path = fresh(work / f"e2e-{batch}"), work / f"e2e-{batch}.json"
        args = ["--recipe", "a2", "--data", folder, *net_args(s), "--batch-size", batch, "--epochs", s["e2e_epochs"],
                "--warmup-epochs", 1, "--workers", s["workers"], "--device", device, "--keep-checkpoints", 1,
                "--out", run_dir, *max_step_args(s)]
        table.append(attempt(lambda: e2e_row(batch, run_timed([child_cmd(path, args)], [path], s["timeout"], work,
                                                               s["child_threads"])[0], run_dir), batch=batch))
    return {"images": s["images"], "image_size": s["image_size"], "workers": s["workers"], "epochs": s["e2e_epochs"],
            "paper_peak_gb_at_512": PAPER_PEAK_GB_512, "cpu_count": os.cpu_count(), "table": table}


def share_row(n: int, procs: list[dict], epochs: int, full: int) -> dict:
    """Trials/hour with N at once: measured (``epochs`` each) and projected to the preset's ``full``
    epochs (wall + the missing epochs at the measured steady epoch time), with a new process per
    trial and, as with Ray's reused actors, without its imports."""
    epoch = statistics.mean(steady_mean(p["epochs"], "wall") for p in procs)
    projected = [p["wall_s"] + (full - epochs) * epoch for p in procs]
    imports = statistics.mean(p["imported"] - p["launched"] for p in procs)
    return {"n": n, "trial_wall_s": statistics.mean(p["wall_s"] for p in procs), "epoch_s": epoch, "imports_s": imports,
            "startup_s": statistics.mean(p["epochs"][0]["start"] - p["launched"] for p in procs),
            "trials_per_hour_measured": n * 3600 / max(p["wall_s"] for p in procs),
            "projected_trial_s": statistics.mean(projected),
            "trials_per_hour": n * 3600 / statistics.mean(projected),
            "trials_per_hour_reused_process": n * 3600 / (statistics.mean(projected) - imports)}


def part_share(s: dict, device: str, work: Path) -> dict:
    digits_root()  # written once here, not raced for by N processes
    full, epochs, table = resolve_config("a2").epochs, s["share_epochs"], []
    for n in s["share_n"]:
        jsons = [work / f"share{n}-{i}.json" for i in range(n)]
        cmds = [child_cmd(jsons[i], ["--recipe", "a2", "--seed", i, "--epochs", epochs, "--device", device,
                                     "--out", fresh(work / f"share{n}-{i}"), *max_step_args(s)]) for i in range(n)]
        table.append(attempt(lambda: share_row(n, run_timed(cmds, jsons, s["timeout"], work, threads=1), epochs, full),
                             n=n))
    return {"preset": "digits a2", "epochs_measured": epochs, "epochs_projected": full, "threads_per_process": 1,
            "table": table}


def part_resume(s: dict, device: str, work: Path) -> dict:
    folder, table, warned = synthetic_folder(work / "synthetic", s["images"], s["image_size"]), [], {}
    for det in (True, False):  # True first: CUBLAS_WORKSPACE_CONFIG is read at cuBLAS's first use
        config = resolve_config("a2", data=str(folder), **s["net"], **s["resume"], warmup_epochs=1,
                                workers=s["workers"], device=device, deterministic=det, keep_checkpoints=9)
        runs = {name: fresh(work / f"resume-{det}-{name}") for name in ("full", "repeat", "part")}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for name in ("full", "repeat", "part"):
                train(config, out_dir=runs[name], log=lambda _: None, stop_after=1 if name == "part" else None)
            train(config, out_dir=runs["part"], resume_from=runs["part"], log=lambda _: None)
        warned[str(det)] = sorted({str(w.message).split(" does not have")[0] for w in caught
                                   if "deterministic implementation" in str(w.message)})
        recorded = json.loads((runs["full"] / "config.json").read_text())["deterministic"]
        for label, other in (("resumed vs uninterrupted", "part"), ("repeat vs uninterrupted", "repeat")):
            table.append({"deterministic": det, "recorded": recorded, "compared": label,
                          **compare_runs(runs["full"], runs[other])})
    return {"model": s["net"]["model"], **s["resume"], "warned_nondeterministic_ops": warned, "table": table,
            "note": "in one process; a resumed run elsewhere starts a new one"}


def part_ddp(s: dict, device: str, work: Path) -> dict:
    digits_root()
    args = ["--recipe", "a2", "--seed", 1, "--epochs", s["ddp_epochs"], "--device", device, "--deterministic", "true",
            *max_step_args(s)]
    dirs = {name: fresh(work / f"ddp-{name}") for name in ("plain", "torchrun_1", "gloo_2_ranks")}
    jsons = {name: work / f"ddp-{name}.json" for name in dirs}
    cmds = [child_cmd(jsons["plain"], [*args, "--out", dirs["plain"]]),
            child_cmd(jsons["torchrun_1"], [*args, "--out", dirs["torchrun_1"]], nproc=1),
            child_cmd(jsons["gloo_2_ranks"], [*args, "--out", dirs["gloo_2_ranks"]], nproc=2, group="gloo")]
    procs = dict(zip(dirs, launch(cmds, s["timeout"], work, threads=1)))

    def torchrun_1() -> dict:
        check_rc(procs["plain"], procs["torchrun_1"])
        return compare_runs(dirs["plain"], dirs["torchrun_1"])

    def rank0_alone() -> dict:
        check_rc(procs["gloo_2_ranks"])
        _, metrics = read_run(dirs["gloo_2_ranks"])
        alone = evaluate_run(dirs["gloo_2_ranks"], device=device)[0]
        reported = pq.read_table(dirs["gloo_2_ranks"] / "predictions.parquet").column("pred").to_numpy()
        return {"n_workers": metrics["n_workers"], "top1": [metrics["top1"], alone.top1],
                "top1_equal": alone.top1 == metrics["top1"],
                "eval_loss_diff": abs(alone.eval_loss - metrics["eval_loss"]),
                "predictions_differing": int((alone.preds != reported).sum()), "n_val": int(len(reported))}

    table = [attempt(torchrun_1, compared="torchrun --nproc_per_node 1 vs plain"),
             attempt(rank0_alone, compared="2 ranks (gloo): rank 0's checkpoint alone vs reported")]
    return {"table": table, "run_s": {name: p["wall_s"] for name, p in procs.items()},
            "note": "at world size 1 the trainer makes no process group and no DDP wrapper "
                    "(trainer.distributed.setup); NCCL refuses two ranks on one GPU, so the N-GPU path "
                    "runs over gloo on the one GPU"}


PARTS: dict[str, Callable[[dict, str, Path], dict]] = {"step": part_step, "e2e": part_e2e, "share": part_share,
                                                       "resume": part_resume, "ddp": part_ddp}


def header(s: dict, device: str, tiny: bool) -> dict:
    name = torch.cuda.get_device_name() if device == "cuda" else (platform.processor() or platform.machine())
    return {"mode": "tiny (CPU check: not GPU numbers)" if tiny else "full", "device": device, "device_name": name,
            "torch": torch.__version__, "timm": timm.__version__, "cuda": torch.version.cuda,
            "python": platform.python_version(), "cpu_count": os.cpu_count(), "settings": json.loads(json.dumps(s)),
            "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v)
    return "" if v is None else str(v)


def markdown(results: dict) -> str:
    """One table per part (its ``table`` rows), with its other scalar fields above it."""
    lines = [f"# gpu_check: {results['device_name']} ({results['mode']})", "",
             f"torch {results['torch']}, timm {results['timm']}, CUDA {results['cuda']}, {results['cpu_count']} CPUs, "
             f"{results['date']}"]
    for name in sorted(results["parts"], key=PART_NAMES.index):
        part = results["parts"][name]
        lines += ["", f"## {name}", ""]
        lines += [f"- {k}: {_cell(v)}" for k, v in part.items() if k not in ("table", "traceback")]
        rows = [{k: v for k, v in r.items() if k not in ("log_tail", "notices")} for r in part.get("table", [])]
        cols = list(dict.fromkeys(k for r in rows for k in r))
        if rows:
            lines += ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "gpu_check.md").write_text(markdown(results))


def run_part(name: str, s: dict, device: str, work: Path) -> dict:
    start = time.perf_counter()
    try:
        result = PARTS[name](s, device, work)
    except Exception as exc:  # a failed part is recorded; the next part still runs
        result = {"error": f"{type(exc).__name__}: {exc}"[:3000], "traceback": traceback.format_exc()[-3000:]}
    result.update(seconds=time.perf_counter() - start, finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    return result


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None, help=f"parts to (re)run, the others kept: {','.join(PART_NAMES)}")
    p.add_argument("--tiny", action="store_true", help="tiny sizes: the CPU check of every code path")
    p.add_argument("--out", default=None, help="folder of gpu_check.json / .md (default benchmarks/results; "
                                              "--tiny: gpu_check-tiny in the temporary folder)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    p.add_argument("--work", default=None, help="scratch folder, kept (default: a temporary one, removed)")
    p.add_argument("--budget-s", type=float, default=None,
                   help="skip the parts not started after this many seconds (default 330; --tiny: none)")
    return p.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    s = TINY if args.tiny else GPU
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    asked = args.only.split(",") if args.only else list(PART_NAMES)
    names = [n for n in PART_NAMES if n in asked]  # in their order
    unknown = sorted(set(asked) - set(PART_NAMES))
    if unknown:
        print(f"error: unknown part {unknown}; the parts are {','.join(PART_NAMES)}", file=sys.stderr)
        return 2
    if device != "cuda" and not args.tiny:
        print("error: no CUDA device here; --tiny runs the CPU check of every code path", file=sys.stderr)
        return 2
    if args.tiny:
        torch.set_num_threads(1)  # a shared CPU machine
    default_out = Path(tempfile.gettempdir()) / "gpu_check-tiny" if args.tiny else ROOT / "benchmarks" / "results"
    out = Path(args.out) if args.out else default_out
    budget = args.budget_s if args.budget_s is not None else s["budget"]
    old = out / "gpu_check.json"
    results = json.loads(old.read_text()) if args.only and old.is_file() else {"parts": {}}
    results.update(header(s, device, args.tiny))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gpu_check-"))
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for name in names:
        if budget is not None and time.perf_counter() - start > budget:
            results["parts"][name] = {"skipped": f"time budget of {budget:.0f} s spent; rerun with --only {name}"}
        else:
            results["parts"][name] = run_part(name, s, device, work)
        write(results, out)
        part = results["parts"][name]
        state = part.get("error") or part.get("skipped") or "done"
        print(f"{name}: {state} ({part.get('seconds', 0):.1f} s)", flush=True)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {out / 'gpu_check.json'} and gpu_check.md", flush=True)
    failed = [n for n in names if "error" in results["parts"][n]
              or any("error" in row for row in results["parts"][n].get("table", []))]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
