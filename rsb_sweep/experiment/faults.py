"""Writes the machine refused: a full disk, a quota, a read-only file system. They are operational
faults, not bugs: nothing finished is lost and ``rsb-sweep resume DIR`` continues once there is space
(exit status 3, :mod:`rsb_sweep.cli.exitstatus`); a trial stopped by one is left to resume, not failed."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Optional

REFUSED = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded",
           errno.EROFS: "Read-only file system"}


def is_refused_write(exc: BaseException) -> bool:
    """Whether ``exc`` says the file system refused a write: its errno, or the text that pyarrow's errors
    and Ray's errors from a worker (an ``OSError`` raised there) carry."""
    return getattr(exc, "errno", None) in REFUSED or any(text in str(exc) for text in REFUSED.values())


def as_os_error(exc: BaseException) -> OSError:
    """A refused write reported by a worker (its text), as the ``OSError`` it was there: errno, file name."""
    if isinstance(exc, OSError) and exc.errno in REFUSED:
        return exc
    text = str(exc)
    code = next((n for n, t in REFUSED.items() if t in text), errno.ENOSPC)
    name = re.search(rf"{re.escape(REFUSED[code])}: '([^']+)'", text)
    return OSError(code, REFUSED[code], name.group(1) if name else None)


def refused_write(exc: BaseException, resume: str = "rsb-sweep resume DIR") -> Optional[str]:
    """One line naming the folder that is full (its file system's mount point) or refuses writes, the
    file being written, and that ``resume`` continues; None when ``exc`` is something else."""
    if not is_refused_write(exc):
        return None
    reason = REFUSED.get(exc.errno) or next(text for text in REFUSED.values() if text in str(exc))
    name = getattr(exc, "filename", None)
    full = reason != REFUSED[errno.EROFS]
    what = f"{full_folder(Path(name))} {'is full' if full else 'refuses writes'} ({reason}, writing {name})" if name \
        else f"the store refused a write ({reason}: {str(exc).strip().splitlines()[0]})"
    once = "once there is space" if full else "once it accepts writes"
    return f"{what}; nothing finished is lost, `{resume}` continues {once}"


def full_folder(path: Path) -> Path:
    """The mount point holding ``path``: the folder that is full."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path
