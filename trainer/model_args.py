"""Extra ``timm.create_model`` arguments of a run (``model_args``): written, read, checked.

A stand-in for a paper architecture on the embedded digits (a ViT at 24 px with 4-px patches, a
narrower RegNet) needs keyword arguments beyond the model name. The config keeps them as one
canonical text, ``key=value`` pairs sorted by key (``embed_dim=48,img_size=24,patch_size=4``), so
that config.json, the command line (``--model-args``) and a sweep file all write them alike and
two equal configs compare equal. Values are Python literals (numbers, booleans, strings, tuples).

Some arguments are the trainer's own (``num_classes``, ``drop_path_rate``, ``drop_rate``): those
are refused here, with the field that sets them (a ResNet's ``channels`` / ``stem_width`` are
refused where ``width_mult`` sets them, in :func:`trainer.model.build_model`).
"""

from __future__ import annotations

import ast
from typing import Any, Mapping, Union

from trainer.errors import ConfigError

#: timm model-name prefixes whose stage widths ``width_mult`` scales (timm's ResNet class).
WIDTH_PREFIXES = ("resnet", "resnext", "seresnet", "seresnext", "ecaresnet")

#: Arguments the trainer sets itself, and the field that sets each.
RESERVED = {"num_classes": "the data set's classes", "drop_path_rate": "drop_path", "drop_rate": "drop",
            "pretrained": "(always False: every run trains from scratch)", "in_chans": "(always 3)"}

_SCALARS = (bool, int, float, str, type(None))


def takes_width(model: str) -> bool:
    """Whether ``width_mult`` applies to timm model ``model`` (a timm ResNet, ResNeXt, SE-/ECA-ResNet)."""
    return model.lower().startswith(WIDTH_PREFIXES) and not model.lower().startswith(("resnetv2", "resnest"))


def parse_model_args(value: Union[str, Mapping[str, Any], None]) -> dict[str, Any]:
    """``"a=1,b=x"``, ``"{'a': 1}"`` or a mapping -> a checked dict; :class:`ConfigError` naming the fix."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        items = dict(value)
    elif isinstance(value, str) and value.strip().startswith("{"):
        try:
            items = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ConfigError(f"model_args={value!r}: cannot read it; write key=value pairs, e.g. img_size=24,patch_size=4") from None
    elif isinstance(value, str):
        items = {}
        for part in _split(value):
            key, sep, text = part.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"model_args={value!r}: {part!r} is not key=value; write e.g. img_size=24,patch_size=4")
            items[key.strip()] = _literal(text.strip())
    else:
        raise ConfigError(f"model_args: expected key=value pairs or a mapping, got {value!r}")
    return _checked(items, value)


def format_model_args(value: Union[str, Mapping[str, Any], None]) -> str:
    """The canonical text of ``value``: ``key=value`` pairs sorted by key ('' for none)."""
    items = parse_model_args(value)
    return ",".join(f"{k}={_text(v)}" for k, v in sorted(items.items()))


def _checked(items: Any, original: Any) -> dict[str, Any]:
    if not isinstance(items, dict):
        raise ConfigError(f"model_args={original!r}: expected key=value pairs")
    for key, value in items.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(f"model_args: {key!r} is not a keyword argument name")
        if key in RESERVED:
            raise ConfigError(f"model_args: {key} is set by the trainer ({RESERVED[key]}); remove it from model_args")
        flat = value if isinstance(value, (tuple, list)) else (value,)
        if not all(isinstance(v, _SCALARS) for v in flat):
            raise ConfigError(f"model_args: {key}={value!r}: expected a number, boolean, string or a tuple of them")
        if isinstance(value, list):
            items[key] = tuple(value)
    return items


def _split(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def _literal(text: str) -> Any:
    """A Python literal, or the text itself (``act_layer=gelu``)."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ",".join(_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return value if value.isidentifier() and value.lower() not in ("true", "false", "none", "null") else repr(value)
    return repr(value)
