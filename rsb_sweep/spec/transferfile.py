"""Transfer sweeps written as YAML (``rsb-sweep transfer FILE``, e.g. ``sweeps/table5_transfer.yaml``)::

    name: table5_transfer            # the experiment's name (default: the file's stem)
    description: ...
    recipe: ft                       # the fine-tuning recipe (default ft)
    transfer:
      source: ../experiments/recipes_a1_a2_a3   # the source experiment (relative: to this file)
      targets: [lfw_faces, textures] # embedded targets, or {name: /an/imagefolder} (null: embedded)
      seeds: 3                       # fine-tuning seeds per source trial and target
      seed_start: 0
    overrides: {epochs: 10}          # fixed trainer fields of every fine-tuning
    execution: {max_concurrent: 2}   # as in any sweep file

Errors name the file and the key. A plain sweep file (no ``transfer:``) runs with ``rsb-sweep run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from rsb_sweep.errors import SweepError
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.fields import OVERRIDABLE, canonical, coerce
from rsb_sweep.spec.paths import absolute_fields, absolute_path
from rsb_sweep.spec.transfer import FT_RECIPE, TransferSettings, parse_target
from trainer.errors import ConfigError

TOP_KEYS = ("name", "description", "recipe", "transfer", "overrides", "execution")
TRANSFER_KEYS = ("source", "targets", "seeds", "seed_start")


class TransferFileError(SweepError):
    """A transfer sweep file that cannot run; the message names the file and the key."""


def load_transfer_file(path: Path) -> tuple[TransferSettings, Execution, str]:
    """The settings, execution and name a transfer sweep file gives (paths absolute against its folder)."""
    path = Path(path)
    where, base = str(path), path.resolve().parent
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise TransferFileError(f"{where}: cannot read the sweep file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise TransferFileError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("transfer"), dict):
        raise TransferFileError(f"{where}: no transfer: section (source, targets, seeds); a sweep file without "
                                "one runs with `rsb-sweep run`")
    _only(doc, TOP_KEYS, "", where)
    section = doc["transfer"]
    _only(section, TRANSFER_KEYS, "transfer.", where)
    try:
        settings = _settings(doc, section, base)
        execution = Execution(**_section(doc, "execution"))
    except (SweepError, ConfigError, TypeError) as exc:
        raise TransferFileError(f"{where}: {exc}") from None
    return settings, execution, str(doc.get("name", path.stem))


def _settings(doc: Mapping[str, Any], section: Mapping[str, Any], base: Path) -> TransferSettings:
    source, targets = section.get("source"), section.get("targets")
    if not isinstance(source, str) or not isinstance(targets, (list, dict, type(None))):
        raise SweepError("transfer: expected source: <experiment folder> and targets: [names] or {name: folder}")
    if isinstance(targets, dict):
        targets = [str(n) if p is None else f"{n}={absolute_path(str(p), base)}" for n, p in targets.items()]
    counts = {k: section[k] for k in ("seeds", "seed_start") if k in section}
    if any(not isinstance(v, int) or isinstance(v, bool) for v in counts.values()):
        raise SweepError(f"transfer.seeds / seed_start: expected integers, got {counts}")
    overrides = {}
    for key, value in _section(doc, "overrides").items():
        name = canonical(str(key))
        if name not in OVERRIDABLE:
            raise SweepError(f"overrides.{key}: unknown trainer field; `rsb-sweep fields` lists them")
        overrides[name] = coerce(name, value)
    more = {"targets": tuple(parse_target(str(t)) for t in targets)} if targets else {}
    return TransferSettings(source=absolute_path(source, base), recipe=coerce("recipe", doc.get("recipe", FT_RECIPE)),
                            overrides=absolute_fields(overrides, base), **counts, **more)


def _section(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise SweepError(f"{key}: expected a mapping (key: value lines)")
    return value


def _only(mapping: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise TransferFileError(f"{where}: {prefix}{key}: unknown key; allowed: {', '.join(allowed)}")
