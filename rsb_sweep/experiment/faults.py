"""Writes the machine refused: a full disk, a quota, a read-only file system. They are operational
faults, not bugs: nothing finished is lost and ``rsb-sweep resume DIR`` continues once there is space
(exit status 3, :mod:`rsb_sweep.cli.exitstatus`); a trial stopped by one is left to resume, not failed."""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Optional

#: The pack event (:mod:`rsb_sweep.worker.pack`) of a trial stopped by a refused write, before its process fails.
REFUSED_EVENT = "refused"
REFUSED = {errno.ENOSPC: "No space left on device", errno.EDQUOT: "Disk quota exceeded",
           errno.EROFS: "Read-only file system"}


def is_refused_write(exc: BaseException) -> bool:
    """Whether ``exc`` says the file system refused a write: its errno, or the text that pyarrow's errors
    and Ray's errors from a worker (an ``OSError`` raised there) carry."""
    return getattr(exc, "errno", None) in REFUSED or any(text in str(exc) for text in REFUSED.values())


#: Free bytes below which a folder counts as full after a failed write (torch.save's own error on a full
#: disk, ``RuntimeError: … iostream error``, does not say so).
FULL_BELOW_BYTES = 1 << 20


def refused_error(exc: BaseException, folder: Path) -> Optional[OSError]:
    """The refused write behind a trial's failure, as an ``OSError``: ``exc`` says so, or ``folder`` (where
    the trial writes) has less than :data:`FULL_BELOW_BYTES` free; None for any other failure."""
    if is_refused_write(exc):
        return as_os_error(exc)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    return OSError(errno.ENOSPC, REFUSED[errno.ENOSPC], str(folder)) if free < FULL_BELOW_BYTES else None


def as_os_error(exc: BaseException) -> OSError:
    """A refused write reported by a worker (its text), as the ``OSError`` it was there: errno, file name."""
    if isinstance(exc, OSError) and exc.errno in REFUSED:
        return exc
    text = str(exc)
    code = next((n for n, t in REFUSED.items() if t in text), errno.ENOSPC)
    name = re.search(rf"{re.escape(REFUSED[code])}: '([^']+)'", text)
    return OSError(code, REFUSED[code], name.group(1) if name else None)


def from_event(result: dict) -> OSError:
    """The refused write a :data:`REFUSED_EVENT` result describes."""
    code = result.get("errno") if result.get("errno") in REFUSED else as_os_error(OSError(str(result.get("error")))).errno
    return OSError(code, REFUSED[code], result.get("path"))


def chain(exc: Optional[BaseException]) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, newest first."""
    out: list[BaseException] = []
    while exc is not None and all(exc is not seen for seen in out):
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def refused_in(exc: BaseException) -> Optional[OSError]:
    """The refused write anywhere in ``exc``'s chain (an ``OSError`` with its file name first), or None."""
    found = [e for e in chain(exc) if is_refused_write(e)]
    named = [e for e in found if isinstance(e, OSError) and e.errno in REFUSED and e.filename]
    return named[0] if named else (as_os_error(found[0]) if found else None)


def refused_write(exc: BaseException, resume: str = "rsb-sweep resume DIR",
                  folder: Optional[Path] = None) -> Optional[str]:
    """One line naming the folder that is full (its file system's mount point) or refuses writes, the
    file being written (else ``folder``'s), and that ``resume`` continues; None when ``exc``'s chain
    holds no refused write."""
    refused = refused_in(exc)
    if refused is None:
        return None
    reason, name = REFUSED[refused.errno], refused.filename or folder
    full = reason != REFUSED[errno.EROFS]
    if name is None:
        what = f"the store refused a write ({reason})"
    else:
        writing = f", writing {refused.filename}" if refused.filename else ""
        what = f"{full_folder(Path(name))} {'is full' if full else 'refuses writes'} ({reason}{writing})"
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
