"""Final-checkpoint sizes, whole (``--final-checkpoint full``) against weights alone (issue 18).

For each model: the trainer's own parts (:func:`trainer.run.build_parts`: the recipe's model and
optimizer, LAMB for A2), one optimizer step on random images so that LAMB holds its state
tensors, then the trainer's own checkpoint (:func:`trainer.run.save_state`) and its weights-only
form (:func:`trainer.checkpoint.keep_weights_only`). Reported: the two files' sizes, and the bytes
computed from the tensors (parameters + buffers; the optimizer's state tensors). The state's
tensor shapes do not depend on how many steps were taken, so one step gives a trained run's size.

    python benchmarks/checkpoint_sizes.py [--models digits,resnet50] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from trainer.checkpoint import find_checkpoint, keep_weights_only
from trainer.config import resolve_config
from trainer.distributed import Dist
from trainer.run import Progress, build_parts, save_state

#: (config, classes, image side): the digits preset's A2 (ResNet-10-T x0.25, 10 classes) and the
#: paper's A2 (ResNet-50, ImageNet-1k; any --data folder gives the recipe unchanged).
MODELS = {"digits": (lambda: resolve_config("a2"), 10, 24),
          "resnet50": (lambda: resolve_config("a2", data="imagenet"), 1000, 64)}


def tensor_bytes(values) -> int:
    """Bytes of every tensor in ``values`` (a state dict's values, or an optimizer's per-parameter states)."""
    total = 0
    for v in values:
        if isinstance(v, dict):
            total += tensor_bytes(v.values())
        elif torch.is_tensor(v):
            total += v.numel() * v.element_size()
    return total


def measure(name: str, work: Path) -> dict:
    make_config, classes, side = MODELS[name]
    config = make_config()
    ctx = Dist(1, 0, 0, torch.device("cpu"))
    parts = build_parts(config, ctx, classes)
    images = torch.randn(2, 3, side, side).to(memory_format=torch.channels_last)
    parts.model(images).logsumexp(dim=1).mean().backward()
    parts.optimizer.step()
    folder = save_state(work / name, config, ctx, parts, Progress(epoch=1), 0.0)
    full = (folder / "state.pt").stat().st_size
    keep_weights_only(folder)
    weights = (find_checkpoint(work / name) / "state.pt").stat().st_size
    model_bytes = tensor_bytes(parts.model.state_dict().values())
    state_bytes = tensor_bytes(parts.optimizer.state.values())
    return {
        "model": config.model, "width_mult": config.width_mult, "optimizer": config.opt, "classes": classes,
        "parameters": sum(p.numel() for p in parts.model.parameters()),
        "model_tensor_mb": model_bytes / 1e6, "optimizer_state_tensor_mb": state_bytes / 1e6,
        "optimizer_state_tensors": sorted({k for s in parts.optimizer.state.values() for k in s}),
        "full_file_mb": full / 1e6, "weights_file_mb": weights / 1e6, "weights_over_full": weights / full,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="digits,resnet50")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "checkpoint_sizes.json"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: measure(name, Path(tmp)) for name in args.models.split(",")}
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
