"""Errors the command line reports as one line (``error: …``) rather than a traceback."""


class SweepError(ValueError):
    """A sweep that cannot be built, started, resumed or read; the message says what to do."""
