"""A sweep file's ``digits_models:`` block: the small stand-in that runs a paper model on digits.

::

    digits_models:
      resnet18: {paper: ResNet-18, model: resnet18, width_mult: 0.125}
      vit_tiny_patch16_224: {paper: ViT-Ti, model: vit_tiny_patch16_224,
                             img_size: 24, patch_size: 4, embed_dim: 48, depth: 4, num_heads: 3}

Each key is a model name the sweep's grid (or overrides) uses, the paper's architecture as timm
names it; on a data folder it runs as named. On the embedded digits the entry replaces it: its
``model`` (a timm name), ``width_mult`` (timm ResNets only) and every other key as a
``timm.create_model`` argument (the trial's ``model_args``); ``paper`` is a label for the
start-up line. Each entry is built once when the file is read, so that an unknown model or an
argument timm refuses is named with its line before anything starts.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

from trainer.errors import ConfigError
from trainer.model_args import format_model_args, parse_model_args, takes_width

#: Keys of an entry that are not timm arguments.
ENTRY_KEYS = ("model", "width_mult", "paper", "model_args")


def parse_digits_models(section: Mapping[str, Any], fail: Callable[[str, int, str], Exception],
                        build: bool) -> dict[str, dict[str, Any]]:
    """The ``digits_models`` section (``section`` has ``line_of``) as name -> trial fields, each
    entry checked (and, with ``build``, built once on CPU); ``fail(key_path, line, message)`` makes
    the error to raise."""
    out: dict[str, dict[str, Any]] = {}
    for name, entry in section.items():
        where, line = f"digits_models.{name}", section.line_of(name)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("model"), str):
            raise fail(where, line, "expected a mapping with model: <timm name> (and width_mult or timm arguments), "
                                    "e.g. {model: resnet18, width_mult: 0.125}")
        out[str(name)] = _entry(entry, lambda message: fail(where, line, message))
        if build:
            try:
                _build(out[str(name)]["model"], out[str(name)].get("width_mult", 1.0), out[str(name)].get("model_args", ""))
            except ConfigError as exc:
                raise fail(where, line, str(exc)) from None
    return out


def check_stand_ins_used(stand_ins: Mapping[str, Any], fixed: Mapping[str, Any], grid: Mapping[str, Any],
                         section: Mapping[str, Any], fail: Callable[[str, int, str], Exception]) -> None:
    """A key that no model of the sweep (``grid.model``, ``overrides.model``) uses is a mistake, a
    misspelt name most likely: raise ``fail(...)`` at its line (``section.line_of``)."""
    models = {str(m) for m in grid.get("model", [])} | ({str(fixed["model"])} if "model" in fixed else set())
    known = ", ".join(sorted(models)) or "none but the preset's"
    for name in stand_ins:
        if name not in models:
            raise fail(f"digits_models.{name}", section.line_of(name),
                       f"no trial's model is {name!r} (the sweep's models: {known}); "
                       "each key names a model of grid.model or overrides.model")


def _entry(entry: Mapping[str, Any], fail: Callable[[str], Exception]) -> dict[str, Any]:
    """One entry as the trial fields it sets: model, width_mult (ResNets), model_args, paper."""
    model = entry["model"]
    fields: dict[str, Any] = {"model": model}
    if "paper" in entry:
        fields["paper"] = str(entry["paper"])
    if "width_mult" in entry:
        width = entry["width_mult"]
        if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
            raise fail(f"width_mult: expected a number > 0, got {width!r}")
        if not takes_width(model) and width != 1:
            raise fail(f"width_mult={width} only applies to timm ResNets, not {model!r}: "
                       "size it with timm arguments instead (e.g. embed_dim, depth for a ViT; w0, wa, depth for a RegNet)")
        fields["width_mult"] = float(width)
    args = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
    try:
        given = format_model_args(entry.get("model_args"))
        merged = format_model_args({**parse_model_args(given), **args})
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if merged:
        fields["model_args"] = merged
    return fields


@functools.lru_cache(maxsize=256)
def _build(model: str, width_mult: float, model_args: str) -> int:
    """Build the stand-in once (10 classes, on CPU); its parameter count. ConfigError if timm refuses."""
    from trainer.model import build_model

    net = build_model(model, 10, width_mult=width_mult, model_args=model_args)
    return sum(p.numel() for p in net.parameters())
