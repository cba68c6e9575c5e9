"""Sweeps written as YAML: parse, validate every key and value, and say where a mistake is.

Format (every section optional except what the sweep needs)::

    name: fig2_seeds_a2            # experiment name (default: the file's stem)
    description: ...
    recipe: a2                     # base recipe
    data: /path/to/imagenet        # ImageFolder; omit for the embedded digits
    overrides: {epochs: 100}       # fixed trainer fields
    grid:                          # Cartesian product of these values
      lr: [2e-3, 5e-3]
      recipe: [a1, a2, a3]
    seeds: {n: 10, start: 0, vary: [init, data, aug]}   # or seeds: 10
    evaluate:                      # evaluation only: each trained model evaluated at each value
      crop_pct: [0.875, 0.9, 0.95, 1.0]        # (crop_pct / test_res under grid: moved here)
      test_res: [192, 224, 288]
      eval_sets: {v2: /path/to/imagenetv2}
    # crossed seed sources instead: seeds: {cross: {init: 10, data: 10}}
    execution: {workers_per_trial: 1, cpus_per_trial: 1, gpus_per_worker: 0,
                max_concurrent: null, max_failures: 3, pack: null}
    units: paper                   # values are the paper's (ImageNet) numbers: on the digits
                                   # preset lr, epochs, train_res, test_res are mapped as the
                                   # preset maps the recipe's own (default: literal)
    digits_models:                 # digits only: a model's stand-in (rsb_sweep.spec.standins)
      resnet18: {paper: ResNet-18, model: resnet18, width_mult: 0.125}

Errors name the file, the line and the key (``sweeps/x.yaml:7: overrides.lrr: unknown …``).
Relative paths in the file (``data``, ``eval_sets``, ``real_labels``) are relative to the
file's folder, wherever the command is run from.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import yaml

from analysis.contract import EVAL_ONLY_CONFIG_FIELDS, EVAL_ONLY_FIELDS, EVAL_SETS_FIELD
from rsb_sweep.errors import SweepError
from rsb_sweep.spec.execution import Execution
from rsb_sweep.spec.expand import expand, move_eval_only
from rsb_sweep.spec.fields import GRIDDABLE, OVERRIDABLE, canonical, coerce
from rsb_sweep.spec.model import SEED_SOURCES, EvalPlan, SeedAxis, SweepSpec
from rsb_sweep.spec.paths import absolute_fields, absolute_path
from rsb_sweep.spec.standins import check_stand_ins_used, parse_digits_models
from trainer.errors import ConfigError
from trainer.recipes import get_recipe

TOP_KEYS = ("name", "description", "recipe", "data", "overrides", "grid", "seeds", "evaluate", "execution", "units",
            "digits_models")
UNITS = ("literal", "paper")
SEED_KEYS = ("n", "start", "vary", "cross")
EXECUTION_KEYS = tuple(Execution.__dataclass_fields__)


class SpecError(SweepError):
    """A sweep file that cannot run; the message names file, line and key."""


class _Mapping(dict):
    """A dict that remembers the line (1-based) of each key and of itself."""

    line: int = 0
    lines: dict

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings record their keys' line numbers."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    out = _Mapping()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise SpecError(f"{key_node.start_mark.line + 1}: {key}: key appears twice")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_spec_file(path: Path, data: Optional[str] = None) -> tuple[SweepSpec, Execution]:
    """Parse and validate ``path``; ``data`` (from ``--data``) replaces the file's data folder.

    Every trial is expanded once here, so that an invalid combination is reported before
    anything starts.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{where}: cannot read the sweep file ({exc.strerror})") from None
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except SpecError as exc:
        raise SpecError(f"{where}:{exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, _Mapping):
        raise SpecError(f"{where}: expected a mapping of {', '.join(TOP_KEYS)}")
    return parse_spec(doc, where, default_name=path.stem, data=data, base=path.resolve().parent)


def parse_spec(doc: _Mapping, where: str, default_name: str, data: Optional[str] = None,
               base: Optional[Path] = None) -> tuple[SweepSpec, Execution]:
    """Validate a loaded YAML document into a spec and its execution settings.

    Paths in the document are made absolute against ``base`` (the file's folder); ``data``
    (from the command line) is used as given.
    """

    def fail(key_path: str, line: int, message: str) -> SpecError:
        return SpecError(f"{where}:{line}: {key_path}: {message}")

    if "transfer" in doc:  # a Table 5 file (rsb_sweep.spec.transferfile) is not a grid to run
        raise fail("transfer", doc.line_of("transfer"), "this is a transfer sweep file: run it with "
                   "`rsb-sweep transfer FILE` (it fine-tunes the trials of its source experiment)")
    _only(doc, TOP_KEYS, "", fail)
    name, recipe, data_path = _identity(doc, fail, default_name, data, base)
    fixed = _overrides(doc, fail, base)
    grid = _grid(doc, fail, base)
    seeds = _seed_axis(doc, fail)
    evaluate = _evaluate(doc, fail, base)
    execution = _execution(doc, fail)
    source, mapped = where, None
    units = doc.get("units", "literal")
    if units not in UNITS:
        raise fail("units", doc.line_of("units"), f"{units!r}: expected one of {', '.join(UNITS)}")
    if units == "paper" and data_path is None:
        recipes = [str(r) for r in grid.get("recipe", [fixed.get("recipe", recipe)])]
        _check_recipe_specific(fixed, grid, recipes, doc, fail)
        fixed, grid, evaluate, line, mapped = _paper_units(fixed, grid, evaluate, recipes[0])
        source = f"{where}; {line}"
    stand_ins = parse_digits_models(_section(doc, "digits_models", fail), fail, build=data_path is None)
    check_stand_ins_used(stand_ins, fixed, grid, _section(doc, "digits_models", fail), fail)
    spec = SweepSpec(name=name, recipe=recipe, data=data_path, overrides=fixed, grid=grid, seeds=seeds,
                     description=str(doc.get("description", "")), source=source, digits_models=stand_ins,
                     paper_units=mapped)
    spec, moved = move_eval_only(replace(spec, evaluate=evaluate))
    if moved:
        spec = replace(spec, source=f"{spec.source}; {moved}")
    _check_values(spec, doc, fail)
    _check_evaluate(spec, doc, fail)
    return spec, execution


def _identity(doc: _Mapping, fail, default_name: str, data: Optional[str],
              base: Optional[Path]) -> tuple[str, str, Optional[str]]:
    """The sweep's name, recipe and data folder (``data`` from the command line wins, used as given)."""
    name = str(doc.get("name", default_name))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*", name):
        raise fail("name", doc.line_of("name"), f"{name!r} must be a file-system-safe name (letters, digits, -_.)")
    recipe = doc.get("recipe", "a2")
    try:
        recipe = coerce("recipe", recipe)
        get_recipe(recipe)
    except ConfigError as exc:
        raise fail("recipe", doc.line_of("recipe"), str(exc)) from None
    data_path = data if data is not None else doc.get("data")
    if data_path is not None and not isinstance(data_path, str):
        raise fail("data", doc.line_of("data"), "expected a folder path")
    if data is None and data_path is not None:
        data_path = absolute_path(data_path, base)
    return name, recipe, data_path


def _overrides(doc: _Mapping, fail, base: Optional[Path]) -> dict[str, Any]:
    """The ``overrides:`` section: fixed trainer fields, typed, paths absolute."""
    overrides = _section(doc, "overrides", fail)
    fixed: dict[str, Any] = {}
    for key, value in overrides.items():
        field = canonical(str(key))
        if field not in OVERRIDABLE:
            raise fail(f"overrides.{key}", overrides.line_of(key), _unknown(field, OVERRIDABLE))
        fixed[field] = _coerce_at(field, value, f"overrides.{key}", overrides.line_of(key), fail)
    return absolute_fields(fixed, base)


def _grid(doc: _Mapping, fail, base: Optional[Path]) -> dict[str, list[Any]]:
    """The ``grid:`` section: each axis's values, typed, paths absolute."""
    grid_doc = _section(doc, "grid", fail)
    grid: dict[str, list[Any]] = {}
    for key, values in grid_doc.items():
        field = canonical(str(key))
        line = grid_doc.line_of(key)
        if field not in GRIDDABLE:
            raise fail(f"grid.{key}", line, _unknown(field, GRIDDABLE))
        if not isinstance(values, list) or not values:
            raise fail(f"grid.{key}", line, "expected a non-empty list of values")
        grid[field] = absolute_fields({field: [_coerce_at(field, v, f"grid.{key}", line, fail) for v in values]}, base)[field]
    return grid


def _evaluate(doc: _Mapping, fail, base: Optional[Path]) -> EvalPlan:
    """The ``evaluate:`` section: values each trained model is evaluated at."""
    section = _section(doc, "evaluate", fail)
    _only(section, EVAL_ONLY_CONFIG_FIELDS, "evaluate.", fail)
    values: dict[str, Any] = {}
    for key in EVAL_ONLY_CONFIG_FIELDS:
        if key not in section:
            continue
        raw, line = section[key], section.line_of(key)
        if key == EVAL_SETS_FIELD:
            sets = _coerce_at(key, raw, f"evaluate.{key}", line, fail)
            values[key] = absolute_fields({key: sets}, base)[key]
            continue
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise fail(f"evaluate.{key}", line, "expected a non-empty list of values")
        values[key] = tuple(dict.fromkeys(_coerce_at(key, v, f"evaluate.{key}", line, fail) for v in items))
    return EvalPlan(**values)


def _check_evaluate(spec: SweepSpec, doc: _Mapping, fail) -> None:
    """Every value to evaluate at must be one the trainer accepts (``crop_pct=1.2`` named here, not after training)."""
    from trainer.config import validate

    config = expand(replace(spec, grid={}, seeds=SeedAxis(n=1, start=spec.seeds.start)))[0].config
    for key in EVAL_ONLY_FIELDS:
        for value in getattr(spec.evaluate, key):
            try:
                validate(replace(config, **{key: value}))
            except ConfigError as exc:
                in_section = isinstance(doc.get("evaluate"), _Mapping) and key in doc["evaluate"]
                line = _line(doc, "evaluate" if in_section else "grid", key)
                raise fail(f"evaluate.{key}", line, str(exc)) from None


def _check_recipe_specific(fixed: dict[str, Any], grid: dict[str, list[Any]], recipes: list[str],
                           doc: _Mapping, fail) -> None:
    """A paper value that the preset maps differently for the sweep's recipes (A3's epochs and train
    resolution) cannot be shared between them: refused at its line."""
    from trainer.presets import DIGITS, is_recipe_specific, paper_to_preset

    for section, values in (("overrides", fixed), ("grid", grid)):
        for field in values:
            if field != "recipe" and is_recipe_specific(field, recipes):
                example = values[field][0] if section == "grid" else values[field]
                maps = ", ".join(f"{paper_to_preset(DIGITS, field, example, r)} for {r}" for r in recipes)
                raise fail(f"{section}.{field}", _line(doc, section, field),
                           f"in paper units {field} {example} maps differently per recipe on digits ({maps}); "
                           "give each recipe its own sweep file, or digits values with 'units: literal'")


def _paper_units(fixed: dict[str, Any], grid: dict[str, list[Any]], evaluate: EvalPlan,
                 recipe: str) -> tuple[dict, dict, EvalPlan, str, dict]:
    """Overrides, grid and evaluation plan mapped from the paper's units to the digits preset for
    ``recipe`` (the same mapping for every recipe of the sweep: :func:`_check_recipe_specific`), the
    line saying how, and the pairs mapped (``{field: [(paper, digits), …]}``, the manifest's ``paper_units``)."""
    from trainer.presets import DIGITS, describe_paper_units, paper_to_preset

    mapped: dict[str, list[tuple[Any, Any]]] = {}

    def convert(field: str, value: Any) -> Any:
        new = paper_to_preset(DIGITS, field, value, recipe)
        if new != value:
            mapped.setdefault(field, []).append((value, new))
        return new

    fixed = {k: convert(k, v) for k, v in fixed.items()}
    grid = {k: [convert(k, v) for v in vs] for k, vs in grid.items()}
    evaluate = replace(evaluate, test_res=tuple(dict.fromkeys(convert("test_res", v) for v in evaluate.test_res)))
    return fixed, grid, evaluate, describe_paper_units(mapped), mapped


def _check_values(spec: SweepSpec, doc: _Mapping, fail) -> None:
    """Resolve each swept value alone (to point at its line), then every trial."""
    for key, values in spec.grid.items():
        for value in values:
            single = replace(spec, grid={key: [value]}, seeds=SeedAxis(n=1, start=spec.seeds.start))
            try:
                expand(single)
            except ConfigError as exc:
                raise fail(f"grid.{key}", _line(doc, "grid", key), str(exc)) from None
    try:
        expand(replace(spec, grid={}, seeds=SeedAxis(n=1, start=spec.seeds.start)))
    except ConfigError as exc:
        key = _field_in(str(exc))
        section = "overrides" if key in spec.overrides else ""
        line = _line(doc, "overrides", key) if section else doc.line
        raise fail(f"{section}.{key}" if section else "sweep", line, str(exc)) from None
    try:
        expand(spec)
    except ConfigError as exc:
        key = _field_in(str(exc))
        section = "grid" if key in spec.grid else "overrides" if key in spec.overrides else ""
        line = _line(doc, section, key) if section else doc.line
        raise fail(f"{section}.{key}" if section else "sweep", line, f"a combination is invalid: {exc}") from None


def _section(doc: _Mapping, key: str, fail) -> _Mapping:
    value = doc.get(key)
    if value is None:
        empty = _Mapping()
        empty.line, empty.lines = doc.line_of(key), {}
        return empty
    if not isinstance(value, _Mapping):
        raise fail(key, doc.line_of(key), "expected a mapping (key: value lines)")
    return value


def _seed_axis(doc: _Mapping, fail) -> SeedAxis:
    value = doc.get("seeds", 1)
    line = doc.line_of("seeds")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise fail("seeds", line, f"{value} must be >= 1")
        return SeedAxis(n=value)
    if not isinstance(value, _Mapping):
        raise fail("seeds", line, "expected a count or a mapping with n, start, vary, cross")
    _only(value, SEED_KEYS, "seeds.", fail)
    ints = {}
    for key in ("n", "start"):
        if key in value:
            v = value[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < (1 if key == "n" else 0):
                raise fail(f"seeds.{key}", value.line_of(key), f"expected an integer >= {1 if key == 'n' else 0}, got {v!r}")
            ints[key] = v
    vary = value.get("vary", list(SEED_SOURCES))
    if isinstance(vary, str):
        vary = [s.strip() for s in vary.split(",") if s.strip()]
    if not isinstance(vary, list) or any(v not in SEED_SOURCES for v in vary):
        raise fail("seeds.vary", value.line_of("vary"), f"expected a list from {', '.join(SEED_SOURCES)}, got {vary!r}")
    cross = value.get("cross") or {}
    if not isinstance(cross, dict) or any(k not in SEED_SOURCES or not isinstance(c, int) or c < 1 for k, c in cross.items()):
        raise fail("seeds.cross", value.line_of("cross"), f"expected {{source: count}} with sources from {', '.join(SEED_SOURCES)}")
    if cross and ("n" in value or "vary" in value):
        raise fail("seeds.cross", value.line_of("cross"), "cross replaces n and vary; give one or the other")
    return SeedAxis(n=ints.get("n", 1), start=ints.get("start", 0), vary=tuple(vary), cross=tuple(cross.items()))


def _execution(doc: _Mapping, fail) -> Execution:
    section = _section(doc, "execution", fail)
    _only(section, EXECUTION_KEYS, "execution.", fail)
    values = {}
    for key, v in section.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise fail(f"execution.{key}", section.line_of(key), f"expected a number, got {v!r}")
        values[key] = v
    try:
        return Execution(**values)
    except SweepError as exc:
        key = _field_in(str(exc))
        raise fail(f"execution.{key}", section.line_of(key), str(exc)) from None


def _coerce_at(field: str, value: Any, key_path: str, line: int, fail) -> Any:
    try:
        return coerce(field, value)
    except ConfigError as exc:
        raise fail(key_path, line, str(exc)) from None


def _only(mapping: _Mapping, allowed: tuple[str, ...], prefix: str, fail) -> None:
    for key in mapping:
        if key not in allowed:
            raise fail(f"{prefix}{key}", mapping.line_of(key), f"unknown key; allowed: {', '.join(allowed)}")


def _unknown(field: str, known: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(field, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown trainer field{hint}; known fields: {', '.join(known)}"


def _field_in(message: str) -> str:
    """The field a trainer/execution error message starts with (``lr=-1 is out of range``)."""
    m = re.match(r"\s*([a-z_]+)\s*[=:]", message)
    return m.group(1) if m else ""


def _line(doc: _Mapping, section: str, key: str) -> int:
    sub = doc.get(section)
    if isinstance(sub, _Mapping):
        for k in sub:
            if canonical(str(k)) == key:
                return sub.line_of(k)
        return sub.line
    return doc.line_of(section)

