"""Errors the command line reports as one line (``error: …``) rather than a traceback."""


class SweepError(ValueError):
    """A sweep that cannot be built, started, resumed or read; the message says what to do."""


def one_line(error: BaseException, limit: int = 500) -> str:
    """The last non-empty line of an error's text (Ray's errors end with the cause), at most ``limit`` characters."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return (lines[-1].strip() if lines else type(error).__name__)[:limit]


class Unfinished(Exception):
    """An operational fault that stops a command with trials left unfinished (exit status 3): a full
    disk, a cluster that cannot place a trial. The message says what happened and how to continue."""
