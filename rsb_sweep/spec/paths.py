"""Paths a user gives, made absolute where they were given, before anything is dispatched.

A trial runs in another process, often on another machine, in another working folder: a
relative path must be resolved where the user typed it. Paths on the command line
(``--data``, ``--out``, ``--storage``, ``--eval-set NAME=PATH``, ``--real-labels``) are
relative to the current folder; paths in a sweep file are relative to the file's folder.
``scheme://`` locations (``s3://``, ``gs://`` …) are left as they are. Symbolic links are
kept (the path is made absolute and normalised, not resolved).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional

from analysis.contract import EVAL_SETS_FIELD

#: Trainer fields that hold one path each; ``eval_sets`` holds (name, path) pairs.
PATH_FIELDS = ("data", "real_labels")


def is_uri(location: str) -> bool:
    """True for ``scheme://…`` locations (handled by pyarrow or the trial), False for plain paths."""
    return "://" in str(location)


def absolute_path(path: str | os.PathLike, base: Optional[Path] = None) -> str:
    """``path`` made absolute against ``base`` (default: the current folder); ``~`` expanded; URIs unchanged."""
    text = os.fspath(path)
    if is_uri(text):
        return text
    expanded = os.path.expanduser(text)
    if not os.path.isabs(expanded):
        expanded = os.path.join(os.fspath(base) if base is not None else os.getcwd(), expanded)
    return os.path.normpath(expanded)


def absolute_fields(values: Mapping[str, Any], base: Optional[Path] = None) -> dict[str, Any]:
    """Trainer field values with every path made absolute; a list is a grid axis (each value is converted)."""

    def one(name: str, value: Any) -> Any:
        if value is None:
            return None
        if name == EVAL_SETS_FIELD:
            return tuple((set_name, absolute_path(p, base)) for set_name, p in value)
        return absolute_path(value, base)

    out = dict(values)
    for name in (*PATH_FIELDS, EVAL_SETS_FIELD):
        if name in out:
            value = out[name]
            out[name] = [one(name, v) for v in value] if isinstance(value, list) else one(name, value)
    return out
