"""Images/s of the trainer's training epoch against a bare hand-written PyTorch loop.

Same timm model, batch size, optimizer (timm LAMB) and loss, the same in-memory batches;
the two are timed alternately in one process so that machine noise hits both alike. The
ratio (trainer / bare) is the number to watch: goal >= 0.95.

    python benchmarks/trainer_throughput.py [--model resnet18 --width 0.25 --res 32 --batch 64]
    python benchmarks/trainer_throughput.py --gpu   # ResNet-50, 224 px, AMP, batch 256

Writes benchmarks/results/trainer_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from trainer import resolve_config
from trainer.distributed import setup
from trainer.loop import autocast, train_one_epoch
from trainer.model import create_model
from trainer.optim import create_loss, create_optimizer
from trainer.rng import RngStream


def bare_epoch(model, batches, optimizer, loss_fn, device, amp, channels_last, scaler):
    """The loop anyone would write by hand."""
    model.train()
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, amp):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--res", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="steps per timed epoch")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (trainer, bare)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadier on a shared machine)")
    p.add_argument("--gpu", action="store_true", help="ResNet-50 at 224, AMP, channels-last, batch 256, synthetic data")
    p.add_argument("--out", default="benchmarks/results/trainer_throughput.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.gpu:
        args.model, args.width, args.res, args.batch = "resnet50", 1.0, 224, 256
    config = resolve_config("a2", model=args.model, width_mult=args.width, train_res=args.res, batch_size=args.batch,
                            device="cuda" if args.gpu else "cpu", mixup=0.0, cutmix=0.0)
    ctx = setup(config.device)
    channels_last = True
    amp = "float16" if ctx.device.type == "cuda" else None
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(args.batch, 3, args.res, args.res, generator=g), torch.randint(0, 10, (args.batch,), generator=g))
               for _ in range(args.steps)]
    batches = [(x.to(ctx.device), y.to(ctx.device)) for x, y in batches]

    def parts():
        torch.manual_seed(0)
        model = create_model(config, 10).to(ctx.device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        scaler = torch.amp.GradScaler("cuda") if amp == "float16" else None
        return model, create_optimizer(config, model), create_loss(config, mixup_active=False).to(ctx.device), scaler

    t_model, t_opt, t_loss, t_scaler = parts()
    b_model, b_opt, b_loss, b_scaler = parts()
    aug = RngStream(0)
    if ctx.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def run_trainer():
        train_one_epoch(model=t_model, loader=batches, optimizer=t_opt, loss_fn=t_loss, mixup=None, scaler=t_scaler,
                        aug_rng=aug, ctx=ctx, epoch=0, amp=amp, channels_last=channels_last, max_steps=None)

    def run_bare():
        bare_epoch(b_model, batches, b_opt, b_loss, ctx.device, amp, channels_last, b_scaler)

    run_trainer(), run_bare()  # warm-up
    trainer_ips, bare_ips = [], []
    images = args.batch * args.steps
    for _ in range(args.rounds):
        for fn, sink in ((run_trainer, trainer_ips), (run_bare, bare_ips)):
            start = time.perf_counter()
            fn()
            sink.append(images / (time.perf_counter() - start))
    ratios = [t / b for t, b in zip(trainer_ips, bare_ips)]
    result = {
        "model": args.model, "width_mult": args.width, "res": args.res, "batch": args.batch, "steps": args.steps,
        "device": str(ctx.device) if ctx.device.type == "cpu" else torch.cuda.get_device_name(),
        "amp": amp, "channels_last": channels_last, "threads": torch.get_num_threads(),
        "trainer_images_per_s": statistics.median(trainer_ips), "bare_images_per_s": statistics.median(bare_ips),
        "ratio_median": statistics.median(ratios), "ratios": ratios, "host": platform.node(),
        "peak_mem_gb": torch.cuda.max_memory_allocated() / 2**30 if ctx.device.type == "cuda" else None,
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
