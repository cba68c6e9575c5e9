"""Side-by-side cost of the main job's levers: model step per layout and precision, and data per epoch.

Each variant trains the trainer's own epoch (``trainer.loop.train_one_epoch``: timm model,
timm LAMB, BCE) on the same in-memory batches; variants are timed in alternating rounds in
one process, so that the noise of a shared machine hits all of them alike. Compare ratios,
not absolute times. The data part times one epoch of the real digits training loader
(RandAugment, crop, flip, ToTensor on cached decoded images) at each resolution.

    python benchmarks/levers.py [--threads 1] [--rounds 5]

Writes benchmarks/results/levers.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from timm.data import create_transform

from trainer import resolve_config
from trainer import data as data_mod
from trainer.distributed import setup
from trainer.loop import train_one_epoch
from trainer.model import create_model
from trainer.optim import create_loss, create_optimizer
from trainer.rng import RngStream

#: (name, model, width, resolution, channels_last, autocast dtype)
VARIANTS = (
    ("resnet18 x0.25 32px NCHW fp32 (old preset)", "resnet18", 0.25, 32, False, None),
    ("resnet18 x0.25 32px channels_last fp32", "resnet18", 0.25, 32, True, None),
    ("resnet18 x0.25 32px channels_last bf16", "resnet18", 0.25, 32, True, "bfloat16"),
    ("resnet18 x0.25 24px channels_last fp32", "resnet18", 0.25, 24, True, None),
    ("resnet10t x0.25 32px channels_last fp32", "resnet10t", 0.25, 32, True, None),
    ("resnet10t x0.25 24px channels_last fp32", "resnet10t", 0.25, 24, True, None),
    ("resnet10t x0.25 24px channels_last bf16", "resnet10t", 0.25, 24, True, "bfloat16"),
)


def step_costs(batch: int, steps: int, rounds: int) -> list[dict]:
    """Median milliseconds per step of each variant, timed in alternating rounds."""
    ctx = setup("cpu")
    g = torch.Generator().manual_seed(0)
    runs = []
    for name, model_name, width, res, cl, amp in VARIANTS:
        config = resolve_config("a2", model=model_name, width_mult=width, train_res=res, batch_size=batch,
                                mixup=0.0, cutmix=0.0, device="cpu")
        torch.manual_seed(0)
        model = create_model(config, 10)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        batches = [(torch.randn(batch, 3, res, res, generator=g), torch.randint(0, 10, (batch,), generator=g))
                   for _ in range(steps)]
        opt = create_optimizer(config, model)
        loss = create_loss(config, mixup_active=False)

        def epoch(model=model, batches=batches, opt=opt, loss=loss, cl=cl, amp=amp):
            train_one_epoch(model=model, loader=batches, optimizer=opt, loss_fn=loss, mixup=None, scaler=None,
                            aug_rng=RngStream(0), ctx=ctx, epoch=0, amp=amp, channels_last=cl, max_steps=None)

        epoch()  # warm-up
        runs.append({"variant": name, "epoch": epoch, "ms": []})
    for _ in range(rounds):
        for run in runs:
            start = time.perf_counter()
            run["epoch"]()
            run["ms"].append(1000 * (time.perf_counter() - start) / steps)
    base = statistics.median(runs[0]["ms"])
    return [{"variant": r["variant"], "ms_per_step": statistics.median(r["ms"]),
             "speedup_vs_old": base / statistics.median(r["ms"])} for r in runs]


def data_costs(res: int, rounds: int) -> list[dict]:
    """Seconds of one digits training epoch's data and of one evaluation pass's data, per path.

    ``per-image`` is timm's default transform (ToTensor + Normalize on every image, the old
    path); ``batched`` is the trainer's (uint8 per image, normalized per batch: bit-identical).
    The evaluation pass is timed uncached (first epoch) and cached (every later epoch).
    """
    config = resolve_config("a2", train_res=res, test_res=res)
    splits = data_mod.build_datasets(config)
    per_image = data_mod.StrictImageDataset(str(splits.root / "train"), True, transform=create_transform(
        input_size=res, is_training=True, auto_augment=config.auto_augment, interpolation=config.interpolation))
    loaders = {}
    for name, dataset in (("train per-image", per_image), ("train batched", splits.train)):
        sampler = data_mod.train_sampler(config, dataset, 1, 0)
        loaders[name] = (sampler, data_mod.train_loader(config, dataset, sampler, 1, torch.Generator().manual_seed(0)))
    times: dict[str, list[float]] = {name: [] for name in loaders}
    for r in range(rounds + 1):
        for name, (sampler, loader) in loaders.items():
            data_mod.set_sampler_epoch(sampler, config, r)
            start = time.perf_counter()
            for _ in loader:
                pass
            if r:
                times[name].append(time.perf_counter() - start)
    out = [{"path": name, "train_res": res, "seconds_per_epoch": statistics.median(t)} for name, t in times.items()]
    val = data_mod.eval_loader(config, splits.val, 1, 0)
    for name in ("eval first pass", "eval cached"):
        start = time.perf_counter()
        for _ in val:
            pass
        out.append({"path": name, "train_res": res, "seconds_per_epoch": time.perf_counter() - start})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default="benchmarks/results/levers.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads, "batch": args.batch, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
              "model_step": step_costs(args.batch, args.steps, args.rounds),
              "data_epoch": data_costs(24, args.rounds)}
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
