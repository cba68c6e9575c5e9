"""Writing files so that a reader, or a crash mid-write, sees the old content or the new, never a torn file.

The one atomic writer of the project: the trainer (config, metrics, history) and the sweep
driver (manifest, heartbeat, result tables, trial status files) all write through it. It
lives in ``trainer`` because ``trainer`` may import nothing of the other packages, while
both of them may import ``trainer``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path``: a temporary file in the same folder, fsync, then rename over ``path``.

    The temporary file is ``.<name>.<pid>.tmp`` (hidden, one per writing process).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path | str, text: str) -> None:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path | str, value: Any, indent: int | None = 2) -> None:
    """:func:`atomic_write_bytes` for a JSON document (values JSON cannot hold are written as text)."""
    atomic_write_bytes(path, json.dumps(value, indent=indent, default=str).encode())
